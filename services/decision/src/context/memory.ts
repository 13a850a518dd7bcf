/**
 * The embedded store: one process, nothing survives a restart. Same contract as the
 * Redis store (atomic commit with a seq check, idempotency, idle expiry) so the
 * lifecycle cannot tell them apart.
 */
import type { Receipt } from '../receipts/types.js';
import { sessionTag, tagOfId } from './ids.js';
import {
  emptySummary,
  type Commit,
  type CommitResult,
  type PendingRecord,
  type SessionMeta,
  type SessionState,
  type SessionStore,
  type SessionSummary,
  type StoredDecision,
} from './types.js';

interface MemorySession {
  meta: SessionMeta | undefined;
  summary: SessionSummary;
  seq: number;
  head: string | null;
  receipts: Receipt[];
  receiptIndex: Map<string, number>;
  actions: Map<string, StoredDecision>;
  pending: Map<string, PendingRecord>;
  expiresAt: number;
}

export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory' as const;
  /** Keyed by session tag, as the Redis keys are. */
  private readonly sessions = new Map<string, MemorySession>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stored values are copied in and out, as a networked store would. */
  private static clone<T>(value: T): T {
    return structuredClone(value);
  }

  private live(tag: string): MemorySession | undefined {
    const s = this.sessions.get(tag);
    if (s && s.expiresAt <= this.now()) {
      this.sessions.delete(tag);
      return undefined;
    }
    return s;
  }

  async load(sessionId: string, actionId?: string): Promise<SessionState> {
    const s = this.live(sessionTag(sessionId));
    if (!s) return { meta: undefined, summary: emptySummary(), seq: 0, head: null, prior: undefined };
    const prior = actionId === undefined ? undefined : s.actions.get(actionId);
    return MemorySessionStore.clone({ meta: s.meta, summary: s.summary, seq: s.seq, head: s.head, prior });
  }

  async commit(c: Commit): Promise<CommitResult> {
    const tag = sessionTag(c.sessionId);
    let s = this.live(tag);
    if ((s?.seq ?? 0) !== c.expectedSeq) return 'conflict';
    if (c.idempotency && s?.actions.has(c.idempotency.actionId)) return 'duplicate';
    if (!s) {
      s = {
        meta: undefined,
        summary: emptySummary(),
        seq: 0,
        head: null,
        receipts: [],
        receiptIndex: new Map(),
        actions: new Map(),
        pending: new Map(),
        expiresAt: 0,
      };
      this.sessions.set(tag, s);
    }
    s.meta ??= MemorySessionStore.clone(c.meta);
    s.summary = MemorySessionStore.clone(c.summary);
    s.seq = c.receipt.seq;
    s.head = c.receiptHash;
    s.receiptIndex.set(c.receipt.receipt_id, s.receipts.length);
    s.receipts.push(MemorySessionStore.clone(c.receipt));
    if (c.idempotency) s.actions.set(c.idempotency.actionId, MemorySessionStore.clone(c.idempotency.decision));
    if (c.pending) s.pending.set(c.pending.id, MemorySessionStore.clone(c.pending));
    s.expiresAt = this.now() + this.ttlSeconds * 1000;
    return 'committed';
  }

  async getReceipt(receiptId: string): Promise<Receipt | undefined> {
    const tag = tagOfId(receiptId, 'rcpt');
    const s = tag === undefined ? undefined : this.live(tag);
    const index = s?.receiptIndex.get(receiptId);
    return s && index !== undefined ? MemorySessionStore.clone(s.receipts[index]) : undefined;
  }

  async listReceipts(sessionId: string): Promise<Receipt[]> {
    return MemorySessionStore.clone(this.live(sessionTag(sessionId))?.receipts ?? []);
  }

  async getPending(id: string): Promise<PendingRecord | undefined> {
    const tag = tagOfId(id, 'apr') ?? tagOfId(id, 'dfr');
    const record = tag === undefined ? undefined : this.live(tag)?.pending.get(id);
    return record && MemorySessionStore.clone(record);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.sessions.clear();
  }
}
