/**
 * The embedded store: one process, nothing survives a restart. Same contract as the
 * Redis store (atomic commit with a seq check, idempotency, idle expiry) so the
 * lifecycle cannot tell them apart.
 */
import { EventEmitter } from 'node:events';
import { MemoryCapabilityRedemptions } from '../capabilities/redemptions.js';
import type { Outbox, OutboxEntry } from '../receipts/outbox.js';
import type { Receipt } from '../receipts/types.js';
import { tagOfId } from './ids.js';
import {
  emptySummary,
  revocationFields,
  type ActionRecord,
  type Commit,
  type CommitResult,
  type LoadOptions,
  type PendingRecord,
  type Revocation,
  type SessionMeta,
  type SessionState,
  type SessionStore,
  type SessionSummary,
} from './types.js';

interface MemorySession {
  meta: SessionMeta | undefined;
  summary: SessionSummary;
  seq: number;
  head: string | null;
  receipts: Receipt[];
  receiptIndex: Map<string, number>;
  actions: Map<string, ActionRecord>;
  pending: Map<string, PendingRecord>;
  expiresAt: number;
}

/** Stored values are copied in and out, as a networked store would. */
const copy = <T>(value: T): T => structuredClone(value);

/** The in-process outbox: entries in order, each held by at most one consumer at a time. */
class MemoryOutbox implements Outbox {
  private readonly entries = new Map<string, { receipt: Receipt; heldBy?: string; heldAt?: number }>();
  private next = 0;

  constructor(private readonly now: () => number) {}

  append(receipt: Receipt): void {
    this.entries.set(`${++this.next}-0`, { receipt: copy(receipt) });
  }

  async read(consumer: string, max: number, claimIdleMs: number): Promise<OutboxEntry[]> {
    const now = this.now();
    const out: OutboxEntry[] = [];
    for (const [id, e] of this.entries) {
      if (out.length >= max) break;
      const free = e.heldBy === undefined || now - (e.heldAt ?? 0) >= claimIdleMs;
      if (!free) continue;
      e.heldBy = consumer;
      e.heldAt = now;
      out.push({ id, receipt: copy(e.receipt) });
    }
    return out;
  }

  async ack(ids: string[]): Promise<void> {
    for (const id of ids) this.entries.delete(id);
  }

  async depth(): Promise<number> {
    return this.entries.size;
  }
}

export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly outbox: MemoryOutbox | undefined;
  private readonly sessions = new Map<string, MemorySession>();
  private readonly actionIndex = new Map<string, { tag: string; expiresAt: number }>();
  private readonly revocations = new Set<string>();
  /** Pending record id → its tenant and expiry, while it is pending. */
  private readonly pendingIndex = new Map<string, { tenant: string; kind: PendingRecord['kind']; expiresAt: number }>();
  private readonly events = new EventEmitter().setMaxListeners(0);
  private readonly redemptions: MemoryCapabilityRedemptions;

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
    options: { outbox?: boolean } = {},
  ) {
    this.outbox = options.outbox ? new MemoryOutbox(now) : undefined;
    this.redemptions = new MemoryCapabilityRedemptions(now);
  }

  redeemCapability(jti: string, expiresAtMs: number): Promise<'first' | 'again'> {
    return this.redemptions.redeem(jti, expiresAtMs);
  }

  private live(tag: string): MemorySession | undefined {
    const s = this.sessions.get(tag);
    if (s && s.expiresAt <= this.now()) {
      this.sessions.delete(tag);
      return undefined;
    }
    return s;
  }

  private create(tag: string): MemorySession {
    const s: MemorySession = {
      meta: undefined,
      summary: emptySummary(),
      seq: 0,
      head: null,
      receipts: [],
      receiptIndex: new Map(),
      actions: new Map(),
      pending: new Map(),
      expiresAt: this.now() + this.ttlSeconds * 1000,
    };
    this.sessions.set(tag, s);
    return s;
  }

  async load(tag: string, options: LoadOptions = {}): Promise<SessionState> {
    const revoked = options.revocation
      ? revocationFields(options.revocation).some((f) => this.revocations.has(f))
      : false;
    const s = this.live(tag);
    if (!s) {
      return {
        meta: undefined,
        summary: emptySummary(),
        seq: 0,
        head: null,
        action: undefined,
        pending: undefined,
        revoked,
      };
    }
    const action = options.actionId === undefined ? undefined : s.actions.get(options.actionId);
    const pending = options.pendingId === undefined ? undefined : s.pending.get(options.pendingId);
    return copy({ meta: s.meta, summary: s.summary, seq: s.seq, head: s.head, action, pending, revoked });
  }

  async commit(c: Commit): Promise<CommitResult> {
    const s = this.live(c.tag) ?? this.create(c.tag);
    if (s.seq !== c.expectedSeq) return 'conflict';
    if (c.newAction && c.action && s.actions.has(c.action.id)) return 'duplicate';
    s.meta ??= copy(c.meta);
    s.summary = copy(c.summary);
    s.seq = c.receipt.seq;
    s.head = c.receiptHash;
    s.receiptIndex.set(c.receipt.receipt_id, s.receipts.length);
    s.receipts.push(copy(c.receipt));
    this.outbox?.append(c.receipt);
    if (c.action) s.actions.set(c.action.id, copy(c.action));
    for (const p of c.pending) {
      s.pending.set(p.id, copy(p));
      if (p.status === 'pending') {
        this.pendingIndex.set(p.id, { tenant: p.tenant, kind: p.kind, expiresAt: Date.parse(p.expires_at) });
      }
    }
    s.expiresAt = this.now() + this.ttlSeconds * 1000;
    if (c.indexAction && c.action) this.index(c.meta.tenant, c.action.id, c.tag, s.expiresAt);
    return 'committed';
  }

  private index(tenant: string, actionId: string, tag: string, expiresAt: number): void {
    const key = `${tenant}\0${actionId}`;
    const known = this.actionIndex.get(key);
    const ambiguous = known !== undefined && known.expiresAt > this.now() && known.tag !== tag;
    this.actionIndex.set(key, { tag: ambiguous ? '*' : tag, expiresAt });
  }

  async openSession(tag: string, meta: SessionMeta): Promise<'created' | 'exists'> {
    const s = this.live(tag);
    if (s?.meta) return 'exists';
    (s ?? this.create(tag)).meta = copy(meta);
    return 'created';
  }

  async getReceipt(receiptId: string): Promise<Receipt | undefined> {
    const tag = tagOfId(receiptId, 'rcpt');
    const s = tag === undefined ? undefined : this.live(tag);
    const index = s?.receiptIndex.get(receiptId);
    return s && index !== undefined ? copy(s.receipts[index]) : undefined;
  }

  async listReceipts(tag: string): Promise<Receipt[]> {
    return copy(this.live(tag)?.receipts ?? []);
  }

  async getPending(id: string): Promise<PendingRecord | undefined> {
    const tag = tagOfId(id, 'apr', 'dfr');
    const record = tag === undefined ? undefined : this.live(tag)?.pending.get(id);
    return record && copy(record);
  }

  async findActionSession(tenant: string, actionId: string): Promise<string | 'ambiguous' | undefined> {
    const entry = this.actionIndex.get(`${tenant}\0${actionId}`);
    if (!entry || entry.expiresAt <= this.now()) return undefined;
    return entry.tag === '*' ? 'ambiguous' : entry.tag;
  }

  async addRevocation(revocation: Revocation): Promise<void> {
    for (const field of revocationFields(revocation)) this.revocations.add(field);
  }

  async listPending(tenant: string, kind: PendingRecord['kind'], limit: number): Promise<PendingRecord[]> {
    const ids = [...this.pendingIndex.entries()]
      .filter(([, e]) => e.tenant === tenant && e.kind === kind)
      .sort(([, a], [, b]) => a.expiresAt - b.expiresAt)
      .map(([id]) => id);
    const records: PendingRecord[] = [];
    for (const id of ids) {
      const record = await this.getPending(id);
      if (record?.status === 'pending') records.push(record);
      if (records.length >= limit) break;
    }
    return records;
  }

  async duePending(nowMs: number, limit: number): Promise<string[]> {
    return [...this.pendingIndex.entries()]
      .filter(([, e]) => e.expiresAt <= nowMs)
      .slice(0, limit)
      .map(([id]) => id);
  }

  async unindexPending(records: Pick<PendingRecord, 'id' | 'tenant'>[]): Promise<void> {
    for (const r of records) this.pendingIndex.delete(r.id);
  }

  async publish(id: string): Promise<void> {
    this.events.emit('changed', id);
  }

  subscribe(listener: (id: string) => void): () => void {
    this.events.on('changed', listener);
    return () => this.events.off('changed', listener);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.sessions.clear();
  }
}
