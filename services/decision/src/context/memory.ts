/**
 * The embedded store: one process, nothing survives a restart. Same contract as the
 * Redis store (atomic commit with a seq check, idempotency, idle expiry) so the
 * lifecycle cannot tell them apart.
 *
 * Bounded (issue 12): values are kept as their JSON text, as Redis keeps them, so what the
 * store holds is measured by its serialized size. Idle sessions expire after the same TTL
 * as Redis keys and are freed by a bounded sweep on every write (and on the expiry
 * sweeper's regular `duePending`, so an idle process frees them too). A write that would
 * take the total over `maxBytes`, once expired entries are swept, is refused with
 * `store_unavailable` (503 DENY): nothing live is evicted, because a session dropped early
 * loses the context that policy denies on and restarts its receipt chain
 * (docs/operations.md, "Memory store limits").
 */
import { EventEmitter } from 'node:events';
import { MemoryCapabilityRedemptions } from '../capabilities/redemptions.js';
import { ArbiterError } from '../errors.js';
import type { Outbox, OutboxEntry } from '../receipts/outbox.js';
import type { Receipt } from '../receipts/types.js';
import { tagOfId } from './ids.js';
import {
  DEFAULT_REVOCATION_TTL_SECONDS,
  emptySummary,
  revocationEntries,
  revocationKeys,
  type Commit,
  type CommitResult,
  type LoadOptions,
  type PendingRecord,
  type Revocation,
  type SessionMeta,
  type SessionState,
  type SessionStore,
} from './types.js';

/** What the store may hold by default: the serialized size of everything in it. */
const DEFAULT_MEMORY_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Estimated cost of a map entry or record beyond its text (key, hidden class, map slot),
 * so that many tiny entries cannot slip under the budget.
 */
const ENTRY_OVERHEAD = 64;
const SESSION_OVERHEAD = 512;
/** A capability redemption record (capabilities/redemptions.ts): a jti and an expiry. */
const REDEMPTION_BYTES = ENTRY_OVERHEAD + 64;
/** Expired sessions and index entries freed per operation at most; more than one operation adds. */
const SWEEP_BATCH = 64;

export interface MemoryStoreOptions {
  /** Keep an export outbox (receipts until acknowledged by the exporter). */
  outbox?: boolean;
  /** Bytes (serialized size) the store may hold; writes beyond are refused. */
  maxBytes?: number;
  /** Called on each write refused because the store is full (a metric). */
  onRefused?: () => void;
  /** How long a subject revocation (or a jti one without `exp`) is kept; default 90 days. */
  revocationTtlSeconds?: number;
}

/** What the store holds now (for tests and metrics). */
export interface MemoryStoreUsage {
  /** Serialized size of everything held, with per-entry overheads; only revocations take it past maxBytes. */
  bytes: number;
  maxBytes: number;
  sessions: number;
  receipts: number;
  actions: number;
  pending: number;
  actionIndex: number;
  pendingIndex: number;
  outbox: number;
  revocations: number;
  redemptions: number;
  /** Writes refused because the store was full, since it was created. */
  refused: number;
}

interface MemorySession {
  /** The JSON of each part, as a networked store holds it. */
  meta: string | undefined;
  summary: string | undefined;
  seq: number;
  head: string | null;
  /** receipt id → receipt, in chain order. */
  receipts: Map<string, string>;
  actions: Map<string, string>;
  pending: Map<string, string>;
  expiresAt: number;
  /** What this session adds to the store's total. */
  bytes: number;
}

const sizeOf = (text: string | undefined): number => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
const entrySize = (key: string, value: string | undefined): number =>
  value === undefined ? 0 : ENTRY_OVERHEAD + sizeOf(key) + sizeOf(value);
const pendingIndexSize = (p: { id: string; tenant: string }): number => entrySize(p.id, p.tenant);

/** The in-process outbox: entries in order, each held by at most one consumer at a time. */
class MemoryOutbox implements Outbox {
  private readonly entries = new Map<string, { receipt: string; heldBy?: string; heldAt?: number }>();
  private next = 0;

  constructor(
    private readonly now: () => number,
    /** Tells the store how much the outbox grew or shrank. */
    private readonly account: (delta: number) => void,
  ) {}

  /** Bytes an entry for this receipt costs. */
  static entrySize(receipt: string): number {
    return ENTRY_OVERHEAD + 24 + sizeOf(receipt);
  }

  append(receipt: string): void {
    this.entries.set(`${++this.next}-0`, { receipt });
    this.account(MemoryOutbox.entrySize(receipt));
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
      out.push({ id, receipt: JSON.parse(e.receipt) as Receipt });
    }
    return out;
  }

  async ack(ids: string[]): Promise<void> {
    for (const id of ids) {
      const e = this.entries.get(id);
      if (!e) continue;
      this.entries.delete(id);
      this.account(-MemoryOutbox.entrySize(e.receipt));
    }
  }

  async depth(): Promise<number> {
    return this.entries.size;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly outbox: MemoryOutbox | undefined;
  /** In order of last write, which is the order of expiry: the sweep reads from the front. */
  private readonly sessions = new Map<string, MemorySession>();
  /** Also in order of expiry (each write moves its entry to the end). */
  private readonly actionIndex = new Map<string, { tag: string; expiresAt: number }>();
  /** Revocation key (types.ts revocationKeys) → when it may be forgotten. */
  private readonly revocations = new Map<string, number>();
  private readonly revocationTtlSeconds: number;
  /** Pending record id → its tenant and expiry, while it is pending. */
  private readonly pendingIndex = new Map<string, { tenant: string; kind: PendingRecord['kind']; expiresAt: number }>();
  private readonly events = new EventEmitter().setMaxListeners(0);
  private readonly redemptions: MemoryCapabilityRedemptions;
  private readonly maxBytes: number;
  private readonly onRefused: () => void;
  /** Everything held except the redemptions, which keep their own count. */
  private bytes = 0;
  private counts = { receipts: 0, actions: 0, pending: 0, refused: 0 };

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
    options: MemoryStoreOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MEMORY_MAX_BYTES;
    this.onRefused = options.onRefused ?? (() => {});
    this.revocationTtlSeconds = options.revocationTtlSeconds ?? DEFAULT_REVOCATION_TTL_SECONDS;
    this.outbox = options.outbox
      ? new MemoryOutbox(now, (delta) => {
          this.bytes += delta;
        })
      : undefined;
    this.redemptions = new MemoryCapabilityRedemptions(now);
  }

  usage(): MemoryStoreUsage {
    return {
      bytes: this.held(),
      maxBytes: this.maxBytes,
      sessions: this.sessions.size,
      receipts: this.counts.receipts,
      actions: this.counts.actions,
      pending: this.counts.pending,
      actionIndex: this.actionIndex.size,
      pendingIndex: this.pendingIndex.size,
      outbox: this.outbox?.size ?? 0,
      revocations: this.revocations.size,
      redemptions: this.redemptions.size,
      refused: this.counts.refused,
    };
  }

  private held(): number {
    return this.bytes + this.redemptions.size * REDEMPTION_BYTES;
  }

  /**
   * Makes room for `growth` bytes or refuses the write. Expired entries go first; live
   * ones never do (fail closed: the write is refused, the answer is 503 DENY).
   */
  private reserve(growth: number, now: number): void {
    if (growth <= 0 || this.held() + growth <= this.maxBytes) return;
    this.sweep(now, Infinity);
    if (this.held() + growth <= this.maxBytes) return;
    this.counts.refused++;
    this.onRefused();
    throw new ArbiterError('store_unavailable', 'the context store is full', {
      cause: new Error(`memory store: ${this.held()} + ${growth} bytes would exceed the limit of ${this.maxBytes}`),
    });
  }

  /** Frees up to `limit` expired sessions and action index entries, oldest first. */
  private sweep(now: number, limit: number): void {
    let freed = 0;
    for (const [tag, s] of this.sessions) {
      if (freed >= limit || s.expiresAt > now) break;
      this.drop(tag, s);
      freed++;
    }
    freed = 0;
    for (const [key, e] of this.actionIndex) {
      if (freed >= limit || e.expiresAt > now) break;
      this.unindexAction(key);
      freed++;
    }
  }

  private drop(tag: string, s: MemorySession): void {
    this.sessions.delete(tag);
    this.bytes -= s.bytes;
    this.counts.receipts -= s.receipts.size;
    this.counts.actions -= s.actions.size;
    this.counts.pending -= s.pending.size;
    // Its records are gone: the pending index must not keep naming them.
    for (const id of s.pending.keys()) this.unindexPendingId(id);
  }

  private unindexAction(key: string): void {
    this.bytes -= entrySize(key, this.actionIndex.get(key)?.tag);
    this.actionIndex.delete(key);
  }

  private unindexPendingId(id: string): void {
    const e = this.pendingIndex.get(id);
    if (!e) return;
    this.pendingIndex.delete(id);
    this.bytes -= pendingIndexSize({ id, tenant: e.tenant });
  }

  /** Moves a written session to the end of the expiry order with a fresh TTL. */
  private touch(tag: string, s: MemorySession, now: number): void {
    s.expiresAt = now + this.ttlSeconds * 1000;
    this.sessions.delete(tag);
    this.sessions.set(tag, s);
  }

  async redeemCapability(jti: string, expiresAtMs: number): Promise<'first' | 'again'> {
    const now = this.now();
    this.sweep(now, SWEEP_BATCH);
    this.reserve(REDEMPTION_BYTES, now);
    return this.redemptions.redeem(jti, expiresAtMs);
  }

  async capabilityRedeemed(jti: string): Promise<boolean> {
    return this.redemptions.used(jti);
  }

  private live(tag: string, now: number): MemorySession | undefined {
    const s = this.sessions.get(tag);
    if (s && s.expiresAt <= now) {
      this.drop(tag, s);
      return undefined;
    }
    return s;
  }

  private create(tag: string): MemorySession {
    const s: MemorySession = {
      meta: undefined,
      summary: undefined,
      seq: 0,
      head: null,
      receipts: new Map(),
      actions: new Map(),
      pending: new Map(),
      expiresAt: 0,
      bytes: SESSION_OVERHEAD,
    };
    this.sessions.set(tag, s);
    this.bytes += s.bytes;
    return s;
  }

  async load(tag: string, options: LoadOptions = {}): Promise<SessionState> {
    const now = this.now();
    const revoked = options.revocation
      ? revocationKeys(options.revocation).some((k) => (this.revocations.get(k) ?? -Infinity) > now)
      : false;
    const s = this.live(tag, now);
    const action = s && options.actionId !== undefined ? s.actions.get(options.actionId) : undefined;
    const pending = s && options.pendingId !== undefined ? s.pending.get(options.pendingId) : undefined;
    return {
      meta: s?.meta === undefined ? undefined : JSON.parse(s.meta),
      summary: s?.summary === undefined ? emptySummary() : { ...emptySummary(), ...JSON.parse(s.summary) },
      seq: s?.seq ?? 0,
      head: s?.head ?? null,
      action: action === undefined ? undefined : JSON.parse(action),
      pending: pending === undefined ? undefined : JSON.parse(pending),
      revoked,
    };
  }

  async commit(c: Commit): Promise<CommitResult> {
    const now = this.now();
    this.sweep(now, SWEEP_BATCH);
    const existing = this.live(c.tag, now);
    if ((existing?.seq ?? 0) !== c.expectedSeq) return 'conflict';
    if (c.newAction && c.action && existing?.actions.has(c.action.id)) return 'duplicate';

    const meta = existing?.meta ?? JSON.stringify(c.meta);
    const summary = JSON.stringify(c.summary);
    const receipt = JSON.stringify(c.receipt);
    const action = c.action && ([c.action.id, JSON.stringify(c.action)] as const);
    const pending = c.pending.map((p) => [p, JSON.stringify(p)] as const);
    const stillPending = c.pending.filter((p) => p.status === 'pending');
    const indexKey = c.indexAction && c.action ? `${c.meta.tenant}\0${c.action.id}` : undefined;
    const indexTag = indexKey === undefined ? undefined : this.indexedTag(indexKey, c.tag, now);

    // What the session grows by (replaced parts count only their difference), then the rest.
    let sessionGrowth =
      (existing ? 0 : SESSION_OVERHEAD) +
      sizeOf(meta) -
      sizeOf(existing?.meta) +
      sizeOf(summary) -
      sizeOf(existing?.summary) +
      entrySize(c.receipt.receipt_id, receipt);
    if (action)
      sessionGrowth += entrySize(action[0], action[1]) - entrySize(action[0], existing?.actions.get(action[0]));
    for (const [p, json] of pending)
      sessionGrowth += entrySize(p.id, json) - entrySize(p.id, existing?.pending.get(p.id));
    const growth =
      sessionGrowth +
      (this.outbox ? MemoryOutbox.entrySize(receipt) : 0) +
      (indexKey === undefined || indexTag === undefined
        ? 0
        : entrySize(indexKey, indexTag) - entrySize(indexKey, this.actionIndex.get(indexKey)?.tag)) +
      stillPending.reduce((n, p) => n + (this.pendingIndex.has(p.id) ? 0 : pendingIndexSize(p)), 0);
    this.reserve(growth, now);

    // From here on nothing throws: the commit lands whole.
    const s = existing ?? this.create(c.tag);
    s.bytes += sessionGrowth - (existing ? 0 : SESSION_OVERHEAD);
    this.bytes += sessionGrowth - (existing ? 0 : SESSION_OVERHEAD);
    s.meta = meta;
    s.summary = summary;
    s.seq = c.receipt.seq;
    s.head = c.receiptHash;
    s.receipts.set(c.receipt.receipt_id, receipt);
    this.counts.receipts++;
    this.outbox?.append(receipt);
    if (action) {
      if (!s.actions.has(action[0])) this.counts.actions++;
      s.actions.set(action[0], action[1]);
    }
    for (const [p, json] of pending) {
      if (!s.pending.has(p.id)) this.counts.pending++;
      s.pending.set(p.id, json);
    }
    for (const p of stillPending) {
      if (!this.pendingIndex.has(p.id)) this.bytes += pendingIndexSize(p);
      this.pendingIndex.set(p.id, { tenant: p.tenant, kind: p.kind, expiresAt: Date.parse(p.expires_at) });
    }
    this.touch(c.tag, s, now);
    if (indexKey !== undefined && indexTag !== undefined) {
      // Deleted first so the entry moves to the end of the expiry order.
      this.unindexAction(indexKey);
      this.actionIndex.set(indexKey, { tag: indexTag, expiresAt: s.expiresAt });
      this.bytes += entrySize(indexKey, indexTag);
    }
    return 'committed';
  }

  /** An action id chosen by two sessions of a tenant is marked ambiguous ('*'), never resolved to either. */
  private indexedTag(key: string, tag: string, now: number): string {
    const known = this.actionIndex.get(key);
    return known !== undefined && known.expiresAt > now && known.tag !== tag ? '*' : tag;
  }

  async openSession(tag: string, meta: SessionMeta): Promise<'created' | 'exists'> {
    const now = this.now();
    this.sweep(now, SWEEP_BATCH);
    const existing = this.live(tag, now);
    if (existing?.meta) return 'exists';
    const json = JSON.stringify(meta);
    this.reserve((existing ? 0 : SESSION_OVERHEAD) + sizeOf(json), now);
    const s = existing ?? this.create(tag);
    s.meta = json;
    s.bytes += sizeOf(json);
    this.bytes += sizeOf(json);
    this.touch(tag, s, now);
    return 'created';
  }

  async getReceipt(receiptId: string): Promise<Receipt | undefined> {
    const tag = tagOfId(receiptId, 'rcpt');
    const receipt = tag === undefined ? undefined : this.live(tag, this.now())?.receipts.get(receiptId);
    return receipt === undefined ? undefined : JSON.parse(receipt);
  }

  async listReceipts(tag: string): Promise<Receipt[]> {
    return [...(this.live(tag, this.now())?.receipts.values() ?? [])].map((r) => JSON.parse(r) as Receipt);
  }

  async getPending(id: string): Promise<PendingRecord | undefined> {
    const tag = tagOfId(id, 'apr', 'dfr');
    const record = tag === undefined ? undefined : this.live(tag, this.now())?.pending.get(id);
    return record === undefined ? undefined : JSON.parse(record);
  }

  async findActionSession(tenant: string, actionId: string): Promise<string | 'ambiguous' | undefined> {
    const entry = this.actionIndex.get(`${tenant}\0${actionId}`);
    if (!entry || entry.expiresAt <= this.now()) return undefined;
    return entry.tag === '*' ? 'ambiguous' : entry.tag;
  }

  /**
   * Never refused for space: a revocation only ever turns answers into DENY. Expired
   * revocations are forgotten here, so the list is bounded by what is still in force; a
   * second revocation of the same key can lengthen its life, never shorten it.
   */
  async addRevocation(revocation: Revocation): Promise<void> {
    const now = this.now();
    for (const [key, expiresAt] of this.revocations) {
      if (expiresAt > now) continue;
      this.revocations.delete(key);
      this.bytes -= ENTRY_OVERHEAD + sizeOf(key);
    }
    for (const { key, expiresAtMs } of revocationEntries(revocation, this.revocationTtlSeconds, now)) {
      const known = this.revocations.get(key);
      if (known === undefined) this.bytes += ENTRY_OVERHEAD + sizeOf(key);
      this.revocations.set(key, Math.max(known ?? -Infinity, expiresAtMs));
    }
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

  /** Also the store's heartbeat: the expiry sweeper calls it every ARBITER_EXPIRY_SWEEP_MS. */
  async duePending(nowMs: number, limit: number): Promise<string[]> {
    this.sweep(this.now(), SWEEP_BATCH);
    return [...this.pendingIndex.entries()]
      .filter(([, e]) => e.expiresAt <= nowMs)
      .slice(0, limit)
      .map(([id]) => id);
  }

  async unindexPending(records: Pick<PendingRecord, 'id' | 'tenant'>[]): Promise<void> {
    for (const r of records) this.unindexPendingId(r.id);
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
    this.actionIndex.clear();
    this.pendingIndex.clear();
    this.revocations.clear();
    this.outbox?.clear();
    this.counts = { ...this.counts, receipts: 0, actions: 0, pending: 0 };
    this.bytes = 0;
  }
}
