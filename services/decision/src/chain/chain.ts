/**
 * THE append to a session's chain (issue 11). Decisions, votes, resolutions, expiries and
 * outcomes are steps: given the session as loaded, a step says what to append (or that
 * nothing is to be appended, e.g. a replay). This module owns everything around it:
 *
 *   order     one step of a session at a time in this process (lanes.ts), so a replica
 *             never conflicts with itself
 *   header    kind, seq = loaded seq + 1, prev_hash = loaded head, producer, trace
 *   sign      the receipt signed and hashed from one serialization
 *   commit    one atomic write, refused if the session moved on since the load (another
 *             replica came first): then load and step again after a jittered exponential
 *             backoff, until the deadline; past it `contention` (503 DENY)
 *   metrics   the context, sign and commit stages, every refused commit, and the
 *             requests waiting for (or refused) their session's turn
 *
 * main.ts builds one chain per process from config.chain; every service appends through it,
 * so they share its lanes.
 *
 * A step must not write anything itself: it may run more than once per append, each time
 * on a newer state, and only the run whose commit lands counts.
 *
 *   const record = await chain.append(tag, { actionId }, (state, turn) =>
 *     state.action ? { done: state.action } : { append: entryFor(state, turn.receiptId), answer: (s) => s.receipt });
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '../context/ids.js';
import type {
  ActionRecord,
  LoadOptions,
  PendingRecord,
  SessionMeta,
  SessionState,
  SessionStore,
  SessionSummary,
} from '../context/types.js';
import { ArbiterError } from '../errors.js';
import { receiptHeader, type Producer } from '../receipts/header.js';
import type { SigningKey } from '../receipts/keys.js';
import { signAndHash } from '../receipts/sign.js';
import type { Receipt, ReceiptBody, ReceiptKind } from '../receipts/types.js';
import type { Metrics } from '../telemetry/metrics.js';
import { Lanes } from './lanes.js';
import type { ChainSettings } from './settings.js';

/** A receipt as signed, and its hash (what the next receipt's prev_hash links to). */
export interface Signed {
  receipt: Receipt;
  hash: string;
}

/** The receipt without the fields the chain sets (receipts/header.ts). */
export type ReceiptContent = Omit<ReceiptBody, keyof ReturnType<typeof receiptHeader>>;

/** What one step appends: a receipt, and the session's state after it. */
export interface Entry {
  kind: ReceiptKind;
  /** Names the session in the receipt header; written only when the session has no meta yet. */
  meta: SessionMeta;
  at: string;
  trace?: { traceId: string; spanId: string } | undefined;
  content: ReceiptContent;
  summary: SessionSummary;
  /** The action record written with the receipt; it may hold the answer, which names the receipt's hash. */
  action?: (signed: Signed) => ActionRecord;
  /** A new action id: the commit is refused when the id is taken (the next load replays it). */
  newAction?: boolean;
  /** Index a caller-chosen action id, so an outcome finds its session. */
  indexAction?: boolean;
  /** Approval and deferral records written with the receipt. */
  pending?: PendingRecord[];
}

export type StepResult<T> = { done: T } | { append: Entry; answer: (signed: Signed) => T };

/** One attempt's own values: the id the receipt will have (capabilities and records name it). */
export interface Turn {
  receiptId: string;
}

export type Step<T> = (state: SessionState, turn: Turn) => StepResult<T> | Promise<StepResult<T>>;

export interface ChainDeps {
  store: Pick<SessionStore, 'load' | 'commit'>;
  signingKey: SigningKey;
  metrics: Metrics;
  producer: Producer;
  settings: ChainSettings;
  /** Jitter and waiting, replaceable in tests. */
  random?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

/** Backoff after a refused commit: full jitter over 2 ms doubling to at most 64 ms. */
const BACKOFF_BASE_MS = 2;
const BACKOFF_MAX_MS = 64;

export class SessionChain {
  private readonly lanes: Lanes;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<unknown>;

  constructor(private readonly deps: ChainDeps) {
    this.lanes = new Lanes({ maxQueue: deps.settings.queueMax, maxWaitMs: deps.settings.queueWaitMs }, deps.metrics);
    this.random = deps.random ?? Math.random;
    this.sleep = deps.sleep ?? sleep;
  }

  /**
   * Runs `step` on the session `tag` as loaded with `load`, and appends what it returns.
   * Resolves with the step's answer once its commit landed (or with `done` when nothing was
   * appended); rejects with the step's own error, the store's, or `contention`.
   */
  append<T>(tag: string, load: LoadOptions, step: Step<T>): Promise<T> {
    return this.lanes.run(tag, () => this.appendInTurn(tag, load, step));
  }

  private async appendInTurn<T>(tag: string, load: LoadOptions, step: Step<T>): Promise<T> {
    const { store, metrics, settings } = this.deps;
    const deadline = performance.now() + settings.deadlineMs;
    for (let attempt = 1; ; attempt++) {
      const state = await metrics.stage('context', () => store.load(tag, load));
      const receiptId = newId('rcpt', tag);
      const result = await step(state, { receiptId });
      if ('done' in result) return result.done;
      const entry = result.append;
      const signed = await metrics.stage('sign', () =>
        signAndHash(
          {
            ...receiptHeader({
              receiptId,
              kind: entry.kind,
              session: entry.meta,
              chain: state,
              at: entry.at,
              producer: this.deps.producer,
              trace: entry.trace,
            }),
            ...entry.content,
          },
          this.deps.signingKey,
        ),
      );
      const committed = await metrics.stage('commit', () =>
        store.commit({
          tag,
          expectedSeq: state.seq,
          meta: entry.meta,
          summary: entry.summary,
          receipt: signed.receipt,
          receiptHash: signed.hash,
          ...(entry.action && { action: entry.action(signed) }),
          newAction: entry.newAction ?? false,
          indexAction: entry.indexAction ?? false,
          pending: entry.pending ?? [],
        }),
      );
      if (committed === 'committed') return result.answer(signed);
      // Within this process the lane rules out conflicts: another replica committed first
      // ('conflict'), or answered the same action id ('duplicate', replayed by the next load).
      metrics.commitConflicts.inc();
      const left = deadline - performance.now();
      if (left <= 0 && attempt >= settings.minAttempts) throw new ArbiterError('contention');
      if (committed === 'conflict') {
        const pause = this.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
        // Never sleep past the deadline; the attempts granted beyond it still back off.
        await this.sleep(left > 0 ? Math.min(left, pause) : pause);
      }
    }
  }
}
