/**
 * The receipt exporter: ships receipts from the outbox to an OpenTelemetry collector as OTLP
 * log records, and acknowledges in the outbox only what the collector accepted
 * ("Receipts are never dropped", AARM R5/R8).
 *
 * One loop per replica:
 *   read up to batchSize entries for this consumer
 *   → none: wait pollMs (woken early by stop() and drain())
 *   → some: one log record per receipt, plus one signed checkpoint record over the batch
 *     (receipts/checkpoint.ts), all in ONE export request
 *       · accepted: ack exactly those entry ids; the checkpoint becomes the producer's head
 *       · failed:   no ack; back off and retry the same batch (same records, same
 *                   checkpoint) from memory until it is accepted or the exporter stops.
 * The batch stays held by this consumer in the outbox while it is retried; if the retrying
 * takes longer than claimIdleMs another replica may take it over and export it too.
 *
 * Delivery is AT-LEAST-ONCE. Exactly-once to the collector is impossible in general: a crash
 * (or a lost answer, or a timeout after the collector already accepted) between acceptance
 * and ack makes the entries come back (to this or another replica, after claimIdleMs) and
 * they are exported again, with a different checkpoint. Consumers of the logs de-duplicate
 * receipts by the `aarm.receipt_id` attribute (also `receipt_id` in the body); checkpoints by
 * `aarm.checkpoint_id`. A re-exported receipt is byte-identical to the first copy, so
 * dropping either keeps the evidence intact (feed `arbiter receipts verify` de-duplicated
 * bodies: it reports a repeated receipt as a duplicate).
 *
 * How the OpenTelemetry SDK is driven: a LoggerProvider (Resource: service.name,
 * service.instance.id = consumer) whose only LogRecordProcessor hands each emitted record
 * straight to this module. No BatchLogRecordProcessor: it queues, drops when full and
 * cannot tell which records the collector accepted. Each batch's records are emitted
 * synchronously, collected, and passed to the OTLP exporter's export(records, callback)
 * directly; ExportResultCode.SUCCESS (an HTTP 2xx) is the only thing that leads to an ack.
 *
 * The OTLP/HTTP exporters of this SDK line (0.223) take `url` (used as is: the full
 * …/v1/logs URL), `headers` (merged over OTEL_EXPORTER_OTLP_[LOGS_]HEADERS from the
 * environment, ours winning) and `timeoutMillis`. They retry internally: 429/502/503/504,
 * connection errors and request timeouts are retried up to 5 times with their own backoff
 * (1 s × 1.5ⁿ, ±20 % jitter, or the collector's Retry-After), but only while the retry
 * still starts within timeoutMillis of the first attempt, and each retry gets only what is
 * left of it. So `timeoutMs` bounds one export() call as a whole, internal retries included
 * (they cannot be turned off; below ~800 ms and without Retry-After there is none), and our
 * own backoff (minBackoffMs…maxBackoffMs) applies between export() calls. Unset options
 * (compression, …) may come from the OTEL_EXPORTER_OTLP_* environment, as the SDK reads it.
 * As a guard against an export() that never calls back, a call not answered within
 * 2 × timeoutMs + 1 s counts as failed (a late answer is then ignored; the retry may
 * duplicate, see above).
 *
 * The loop never throws and never blocks a caller: start() returns at once, failures of the
 * outbox or of the collector are reported through the callbacks and retried with backoff.
 */
import {
  ROOT_CONTEXT,
  TraceFlags,
  context,
  isValidSpanId,
  isValidTraceId,
  trace,
  type Context,
  type HrTime,
} from '@opentelemetry/api';
import { SeverityNumber, type LogAttributes, type Logger } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter as OTLPJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  LoggerProvider,
  type LogRecordExporter,
  type LogRecordProcessor,
  type ReadableLogRecord,
  type SdkLogRecord,
} from '@opentelemetry/sdk-logs';
import { errorMessage } from '../errors.js';
import { canonicalize } from '../receipts/canonical.js';
import { buildCheckpoint, checkpointHash, type Checkpoint } from '../receipts/checkpoint.js';
import type { SigningKey } from '../receipts/keys.js';
import type { Outbox, OutboxEntry } from '../receipts/outbox.js';
import { receiptHash } from '../receipts/sign.js';
import type { Receipt } from '../receipts/types.js';

export interface ReceiptExporterOptions {
  outbox: Outbox;
  /** This replica's consumer name (also the checkpoint producer). */
  consumer: string;
  /** Full OTLP logs URL, e.g. http://collector:4318/v1/logs. */
  endpoint: string;
  protocol: 'http/json' | 'http/protobuf';
  headers?: Record<string, string>;
  serviceName: string;
  /** Signs checkpoints. */
  signingKey: SigningKey;
  /** Entries per export request (e.g. 256); the request also carries one checkpoint record. */
  batchSize: number;
  /** Idle wait between reads when the outbox is empty. */
  pollMs: number;
  /** Passed to outbox.read. */
  claimIdleMs: number;
  /** Per export request, the OTLP exporter's internal retries included. */
  timeoutMs: number;
  /** Retry backoff while the collector (or the outbox) fails: exponential, with jitter. */
  minBackoffMs: number;
  maxBackoffMs: number;
  onExport?: (r: { outcome: 'exported' | 'failed'; receipts: number; error?: string }) => void;
  /** Called after each cycle with outbox.depth(). */
  onDepth?: (depth: number) => void;
  /** Failures that are not export requests: reading or acknowledging the outbox, building records. */
  onError?: (e: { stage: 'read' | 'ack' | 'prepare'; error: string }) => void;
}

export interface ReceiptExporter {
  /** Starts the loop (once; a stopped exporter does not start again). Returns at once. */
  start(): void;
  /**
   * Stops the loop after its current step (a backoff or idle wait ends at once), waiting at
   * most timeoutMs (default 5000) for it and for the OTLP exporter to shut down. Entries read
   * but not accepted stay held in the outbox and are taken over by another consumer after
   * claimIdleMs.
   */
  stop(timeoutMs?: number): Promise<void>;
  /** resolves when the outbox is empty (for tests and graceful shutdown), bounded */
  drain(timeoutMs: number): Promise<boolean>;
}

/** The policy_id of the shipped intent-drift rule (rego/rules/drift): its decisions also raise aarm.drift. */
export const DRIFT_POLICY_ID = 'intent-drift';

/** The OTLP event name of each receipt kind, and of the drift event. */
export const RECEIPT_EVENT_NAMES = {
  decision: 'aarm.decision',
  approval: 'aarm.approval',
  deferral: 'aarm.deferral',
  outcome: 'aarm.outcome',
  drift: 'aarm.drift',
} as const;

export const CHECKPOINT_EVENT_NAME = 'aarm.checkpoint';

const SCOPE_NAME = 'arbiter.receipts';
const DEFAULT_STOP_TIMEOUT_MS = 5000;
const DRAIN_POLL_MS = 20;

interface Batch {
  entries: OutboxEntry[];
  checkpoint: Checkpoint;
  records: ReadableLogRecord[];
}

type Outcome = { ok: true } | { ok: false; error: string };

export function createReceiptExporter(options: ReceiptExporterOptions): ReceiptExporter {
  validate(options);
  const { outbox, consumer } = options;

  // --- The SDK: a provider whose one processor hands every record to us. ------------------
  const captured: SdkLogRecord[] = [];
  const capture: LogRecordProcessor = {
    onEmit: (record) => {
      captured.push(record);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'service.instance.id': consumer }),
    processors: [capture],
  });
  const logger: Logger = provider.getLogger(SCOPE_NAME);
  const Exporter = options.protocol === 'http/json' ? OTLPJsonLogExporter : OTLPProtoLogExporter;
  const otlp: LogRecordExporter = new Exporter({
    url: options.endpoint,
    headers: { ...options.headers },
    timeoutMillis: options.timeoutMs,
  });
  const guardMs = 2 * options.timeoutMs + 1000;

  // --- Loop state. --------------------------------------------------------------------------
  let started = false;
  let stopping = false;
  let loopDone: Promise<void> | null = null;
  let stopDone: Promise<void> | null = null;
  /** A batch read but not yet accepted: retried as is. */
  let held: Batch | null = null;
  /** Ids the collector accepted whose ack failed: acked before anything else. */
  let unacked: string[] = [];
  /** Consecutive failures, for the backoff. */
  let failures = 0;
  /** The producer's last accepted checkpoint (in memory only: a restart begins a new chain). */
  let head: { sequence: number; hash: string } | null = null;
  const idle = new Sleeper();
  const backoff = new Sleeper();

  function emit(record: Parameters<Logger['emit']>[0]): ReadableLogRecord {
    captured.length = 0;
    logger.emit(record);
    const emitted = captured.splice(0);
    if (emitted.length !== 1 || emitted[0] === undefined) {
      throw new Error('the LoggerProvider did not hand over the log record (shut down?)');
    }
    return emitted[0];
  }

  /**
   * AARM's aarm.drift event, for a decision that the intent-drift rule acted on: the
   * distance figures and who and where, never parameters. The receipt itself goes too.
   */
  function driftRecords(receipt: Receipt): ReadableLogRecord[] {
    if (receipt.kind !== 'decision' || !receipt.reasons.some((r) => r.policy_id === DRIFT_POLICY_ID)) return [];
    const drift = (receipt.input as { drift?: Record<string, unknown> } | undefined)?.drift ?? {};
    const attributes: LogAttributes = {
      'event.name': RECEIPT_EVENT_NAMES.drift,
      'aarm.receipt_id': receipt.receipt_id,
      'aarm.decision': receipt.decision,
      'aarm.session_id': receipt.session_id,
      'aarm.tenant': receipt.tenant,
      'aarm.seq': receipt.seq,
      'aarm.tool': receipt.action.tool,
      'aarm.drift.status': String(drift.status ?? 'unknown'),
    };
    for (const key of ['distance', 'cumulative', 'max', 'count'] as const) {
      if (typeof drift[key] === 'number') attributes[`aarm.drift.${key}`] = drift[key];
    }
    if (typeof receipt.identity?.agent === 'string') attributes['aarm.agent'] = receipt.identity.agent;
    return [
      emit({
        eventName: RECEIPT_EVENT_NAMES.drift,
        timestamp: hrTimeOf(receipt.timestamp),
        severityNumber: SeverityNumber.WARN,
        severityText: 'WARN',
        body: `intent drift on ${receipt.action.tool}: ${receipt.decision}`,
        attributes,
        context: traceContextOf(receipt),
      }),
    ];
  }

  function receiptRecord(receipt: Receipt): ReadableLogRecord {
    const eventName = eventNameOf(receipt.kind);
    const attributes: LogAttributes = {
      'event.name': eventName,
      'aarm.receipt_id': receipt.receipt_id,
      'aarm.kind': receipt.kind,
      'aarm.decision': receipt.decision,
      'aarm.session_id': receipt.session_id,
      'aarm.tenant': receipt.tenant,
      'aarm.seq': receipt.seq,
      'aarm.tool': receipt.action.tool,
      'aarm.parameters_hash': receipt.action.parameters_hash,
      'aarm.policy.revision': receipt.policy.revision,
      'aarm.policy.hash': receipt.policy.hash,
      'aarm.receipt_hash': receiptHash(receipt),
    };
    if (typeof receipt.identity?.agent === 'string') attributes['aarm.agent'] = receipt.identity.agent;
    const deny = receipt.decision === 'DENY';
    return emit({
      eventName,
      timestamp: hrTimeOf(receipt.timestamp),
      severityNumber: deny ? SeverityNumber.WARN : SeverityNumber.INFO,
      severityText: deny ? 'WARN' : 'INFO',
      // The signed bytes themselves, so that a SIEM can verify the signature.
      body: canonicalize(receipt),
      attributes,
      context: traceContextOf(receipt),
    });
  }

  function checkpointRecord(checkpoint: Checkpoint): ReadableLogRecord {
    return emit({
      eventName: CHECKPOINT_EVENT_NAME,
      timestamp: hrTimeOf(checkpoint.timestamp),
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: canonicalize(checkpoint),
      attributes: {
        'event.name': CHECKPOINT_EVENT_NAME,
        'aarm.kind': 'checkpoint',
        'aarm.checkpoint_id': checkpoint.checkpoint_id,
        'aarm.producer': checkpoint.producer,
        'aarm.checkpoint.sequence': checkpoint.sequence,
        'aarm.checkpoint.count': checkpoint.count,
        'aarm.merkle_root': checkpoint.merkle_root,
        'aarm.checkpoint_hash': checkpointHash(checkpoint),
      },
      context: ROOT_CONTEXT,
    });
  }

  function prepare(entries: OutboxEntry[]): Batch {
    const receipts = entries.map((e) => e.receipt);
    // Built before the export, so checkpoint and receipts are accepted or refused together.
    const checkpoint = buildCheckpoint(
      {
        receipts,
        producer: consumer,
        sequence: head === null ? 1 : head.sequence + 1,
        prevHash: head === null ? null : head.hash,
        timestamp: new Date().toISOString(),
      },
      options.signingKey,
    );
    const records = receipts.flatMap((r) => [receiptRecord(r), ...driftRecords(r)]);
    records.push(checkpointRecord(checkpoint));
    return { entries, checkpoint, records };
  }

  function exportRecords(records: ReadableLogRecord[]): Promise<Outcome> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(guard);
        resolve(outcome);
      };
      const guard = setTimeout(
        () => finish({ ok: false, error: `the OTLP exporter did not answer within ${guardMs} ms` }),
        guardMs,
      );
      guard.unref();
      try {
        otlp.export(records, (result: ExportResult) => {
          finish(
            result.code === ExportResultCode.SUCCESS
              ? { ok: true }
              : { ok: false, error: result.error ? errorMessage(result.error) : 'export failed' },
          );
        });
      } catch (err) {
        finish({ ok: false, error: errorMessage(err) });
      }
    });
  }

  /** One step of the loop; says what to wait for before the next. */
  async function cycle(): Promise<'next' | 'idle' | 'backoff'> {
    if (unacked.length > 0) {
      try {
        await outbox.ack(unacked);
        unacked = [];
      } catch (err) {
        report('ack', err);
        return 'backoff';
      }
    }
    let batch = held;
    if (batch === null) {
      let entries: OutboxEntry[];
      try {
        entries = await outbox.read(consumer, options.batchSize, options.claimIdleMs);
      } catch (err) {
        report('read', err);
        return 'backoff';
      }
      if (entries.length === 0) return 'idle';
      try {
        batch = prepare(entries);
      } catch (err) {
        // Not retried from memory: the entries stay held and come back after claimIdleMs.
        report('prepare', err);
        return 'backoff';
      }
    }
    const exported = batch;
    const outcome = await exportRecords(exported.records);
    if (!outcome.ok) {
      held = exported;
      callback(() =>
        options.onExport?.({ outcome: 'failed', receipts: exported.entries.length, error: outcome.error }),
      );
      return 'backoff';
    }
    held = null;
    head = { sequence: exported.checkpoint.sequence, hash: checkpointHash(exported.checkpoint) };
    const ids = exported.entries.map((e) => e.id);
    try {
      await outbox.ack(ids);
    } catch (err) {
      unacked = ids;
      report('ack', err);
    }
    callback(() => options.onExport?.({ outcome: 'exported', receipts: exported.entries.length }));
    return 'next';
  }

  async function run(): Promise<void> {
    while (!stopping) {
      let next: 'next' | 'idle' | 'backoff';
      try {
        next = await cycle();
      } catch (err) {
        // cycle() catches what it expects; this is the last line of defence.
        report('prepare', err);
        next = 'backoff';
      }
      await reportDepth();
      if (next === 'backoff') {
        failures += 1;
        // Exponential, "equal jitter": half the ceiling fixed, half random; within [min, max].
        const ceiling = Math.min(options.maxBackoffMs, options.minBackoffMs * 2 ** Math.min(failures - 1, 30));
        await backoff.sleep(Math.max(options.minBackoffMs, ceiling / 2 + (Math.random() * ceiling) / 2));
      } else {
        failures = 0;
        if (next === 'idle') await idle.sleep(options.pollMs);
      }
    }
  }

  function report(stage: 'read' | 'ack' | 'prepare', err: unknown): void {
    callback(() => options.onError?.({ stage, error: errorMessage(err) }));
  }

  async function reportDepth(): Promise<void> {
    if (!options.onDepth) return;
    try {
      const depth = await outbox.depth();
      callback(() => options.onDepth?.(depth));
    } catch {
      // The next cycle reports again; a read failure is reported on its own.
    }
  }

  return {
    start() {
      if (started) return;
      started = true;
      // The loop must not run inside (and attach its records to) the caller's trace.
      loopDone = context.with(ROOT_CONTEXT, () => run());
    },

    stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS) {
      stopDone ??= (async () => {
        stopping = true;
        started = true;
        idle.close();
        backoff.close();
        const deadline = Date.now() + timeoutMs;
        if (loopDone) await within(loopDone, timeoutMs);
        await within(
          Promise.allSettled([otlp.shutdown(), provider.shutdown()]).then(() => {}),
          Math.max(0, deadline - Date.now()),
        );
      })();
      return stopDone;
    },

    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          if ((await outbox.depth()) === 0 && held === null && unacked.length === 0) return true;
        } catch {
          // Unknown: keep trying until the deadline.
        }
        const left = deadline - Date.now();
        if (left <= 0) return false;
        idle.wake();
        await new Sleeper().sleep(Math.min(DRAIN_POLL_MS, left));
      }
    },
  };
}

function eventNameOf(kind: string): string {
  return (RECEIPT_EVENT_NAMES as Record<string, string>)[kind] ?? `aarm.${kind}`;
}

/** RFC 3339 → HrTime (the SDK would take epoch ms for a performance.now() value if it were old). */
function hrTimeOf(timestamp: string): HrTime {
  const parsed = Date.parse(timestamp);
  const ms = Number.isFinite(parsed) ? parsed : Date.now();
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/**
 * The receipt's trace context, if it carries a valid one. Read defensively (the fields are
 * optional and come from the outbox): a malformed id is left out, never an export failure.
 * Receipts do not record the trace flags; an optional numeric `trace_flags` is used if present.
 */
function traceContextOf(receipt: Receipt): Context {
  const fields = receipt as unknown as Record<string, unknown>;
  const traceId = fields.trace_id;
  const spanId = fields.span_id;
  if (typeof traceId !== 'string' || typeof spanId !== 'string') return ROOT_CONTEXT;
  if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) return ROOT_CONTEXT;
  const flags = typeof fields.trace_flags === 'number' ? fields.trace_flags & 0xff : TraceFlags.NONE;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: traceId.toLowerCase(),
    spanId: spanId.toLowerCase(),
    traceFlags: flags,
    isRemote: true,
  });
}

/** Runs a caller's callback; a throwing callback must not stop the loop. */
function callback(fn: () => void): void {
  try {
    fn();
  } catch {
    // ignored on purpose
  }
}

function within(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

function validate(o: ReceiptExporterOptions): void {
  const problems: string[] = [];
  if (typeof o.consumer !== 'string' || o.consumer === '') problems.push('consumer must be a non-empty string');
  if (o.protocol !== 'http/json' && o.protocol !== 'http/protobuf')
    problems.push('protocol must be http/json or http/protobuf');
  try {
    new URL(o.endpoint);
  } catch {
    problems.push(`endpoint is not a URL: ${String(o.endpoint)}`);
  }
  if (!Number.isSafeInteger(o.batchSize) || o.batchSize < 1) problems.push('batchSize must be an integer >= 1');
  for (const name of ['pollMs', 'claimIdleMs'] as const) {
    if (!Number.isFinite(o[name]) || o[name] < 0) problems.push(`${name} must be a number >= 0`);
  }
  for (const name of ['timeoutMs', 'minBackoffMs', 'maxBackoffMs'] as const) {
    if (!Number.isFinite(o[name]) || o[name] <= 0) problems.push(`${name} must be a number > 0`);
  }
  if (o.maxBackoffMs < o.minBackoffMs) problems.push('maxBackoffMs must be >= minBackoffMs');
  if (problems.length > 0) throw new TypeError(`receipt exporter: ${problems.join('; ')}`);
}

/** Unref'd timers that can be cut short: stop() must not wait out a backoff or an idle poll. */
class Sleeper {
  private readonly waiting = new Set<() => void>();
  private closed = false;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.waiting.add(done);
    });
  }

  wake(): void {
    for (const done of [...this.waiting]) done();
  }

  /** Wakes every sleeper, and every later sleep() returns at once. */
  close(): void {
    this.closed = true;
    this.wake();
  }
}
