/**
 * The Redis store. Every key of a session shares the hash tag `{T}` (ids.ts), so each
 * script touches one slot and runs unchanged on Redis Cluster.
 *
 *   <prefix>{T}:session    hash    meta, summary, seq, head
 *   <prefix>{T}:receipts   hash    receipt_id -> receipt
 *   <prefix>{T}:chain      list    receipt ids in chain order
 *   <prefix>{T}:actions    hash    action id -> ActionRecord
 *   <prefix>{T}:pending    hash    approval/deferral id -> record
 *   <prefix>actidx:<h>     string  tag of the session of a caller-chosen action id ('*': several)
 *   <prefix>revocations    hash    "jti:<jti>" / "sub:<tenant>:<sub>" -> revocation
 *   <prefix>pending:<tenant>:<kind>  zset  pending approval/deferral ids by expiry (listing)
 *   <prefix>pending-due    zset    every pending id by expiry (the expiry sweeper)
 *   <prefix>outbox         stream  every committed receipt, until an exporter acknowledged it
 *   <prefix>events         channel ids of pending records that changed (wakes long-polls on every replica)
 *
 * A session's keys expire together after its idle TTL.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { ArbiterError, errorMessage } from '../errors.js';
import type { Outbox, OutboxEntry } from '../receipts/outbox.js';
import type { Receipt } from '../receipts/types.js';
import { tagOfId } from './ids.js';
import {
  emptySummary,
  revocationFields,
  type Commit,
  type CommitResult,
  type LoadOptions,
  type PendingRecord,
  type Revocation,
  type SessionMeta,
  type SessionState,
  type SessionStore,
} from './types.js';

/**
 * The compare-and-append that orders a session (ARCHITECTURE: "per-session order is
 * atomic"): refused when another commit happened since this one read the session.
 */
const COMMIT_SCRIPT = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if cur ~= tonumber(ARGV[1]) then return 'conflict' end
if ARGV[8] == '1' and redis.call('HEXISTS', KEYS[4], ARGV[9]) == 1 then return 'duplicate' end
redis.call('HSET', KEYS[1], 'seq', ARGV[2], 'head', ARGV[3], 'summary', ARGV[5])
redis.call('HSETNX', KEYS[1], 'meta', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[6], ARGV[7])
redis.call('RPUSH', KEYS[3], ARGV[6])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[4], ARGV[9], ARGV[10]) end
for i = 13, #ARGV, 2 do redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1]) end
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ARGV[11]) end
if ARGV[12] == '1' then redis.call('XADD', KEYS[6], '*', 'r', ARGV[7]) end
return 'committed'
`;

const OPEN_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], 'meta') == 1 then return 'exists' end
redis.call('HSET', KEYS[1], 'meta', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 'created'
`;

/** An action id chosen by two sessions of a tenant is marked ambiguous, never resolved to either. */
const INDEX_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then redis.call('SET', KEYS[1], '*', 'EX', ARGV[2])
else redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1
`;

type ScriptFn = (...args: (string | number)[]) => Promise<string>;

/** How many pending records one listing or sweep reads at most. */
const PENDING_SCAN_LIMIT = 1000;

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  timeoutMs: number;
  ttlSeconds: number;
  /** Append every committed receipt to the export outbox (a stream read by a consumer group). */
  outbox?: boolean;
}

const EXPORT_GROUP = 'exporters';

/**
 * The outbox as a Redis stream with one consumer group: XREADGROUP hands each entry to one
 * replica, XAUTOCLAIM takes over entries a dead replica held, and an acknowledged entry is
 * deleted, so the stream's length is the backlog.
 */
class RedisOutbox implements Outbox {
  private group: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly call: <T>(what: string, op: () => Promise<T>) => Promise<T>,
  ) {}

  private ensureGroup(): Promise<void> {
    this.group ??= this.call('outbox group', async () => {
      try {
        await this.redis.xgroup('CREATE', this.key, EXPORT_GROUP, '0', 'MKSTREAM');
      } catch (err) {
        if (!errorMessage(err).includes('BUSYGROUP')) throw err;
      }
    }).catch((err) => {
      this.group = undefined;
      throw err;
    });
    return this.group;
  }

  private static entries(raw: unknown): OutboxEntry[] {
    return ((raw ?? []) as Array<[string, string[]] | null>)
      .filter((e): e is [string, string[]] => e !== null && Array.isArray(e[1]))
      .map(([id, fields]) => ({ id, receipt: JSON.parse(fields[fields.indexOf('r') + 1] ?? 'null') as Receipt }));
  }

  async read(consumer: string, max: number, claimIdleMs: number): Promise<OutboxEntry[]> {
    await this.ensureGroup();
    const claimed = await this.call('outbox claim', () =>
      this.redis.xautoclaim(this.key, EXPORT_GROUP, consumer, claimIdleMs, '0-0', 'COUNT', max),
    );
    const taken = RedisOutbox.entries((claimed as unknown[])[1]);
    if (taken.length >= max) return taken;
    const fresh = (await this.call('outbox read', () =>
      this.redis.xreadgroup('GROUP', EXPORT_GROUP, consumer, 'COUNT', max - taken.length, 'STREAMS', this.key, '>'),
    )) as Array<[string, unknown]> | null;
    return [...taken, ...RedisOutbox.entries(fresh?.[0]?.[1])];
  }

  async ack(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.call('outbox ack', () => this.redis.multi().xack(this.key, EXPORT_GROUP, ...ids).xdel(this.key, ...ids).exec());
  }

  async depth(): Promise<number> {
    return this.call('outbox depth', () => this.redis.xlen(this.key));
  }
}

export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly outbox: Outbox | undefined;
  private readonly redis: Redis;
  private readonly scripts: { commit: ScriptFn; open: ScriptFn; index: ScriptFn };
  private subscriber: Redis | undefined;
  private readonly listeners = new Set<(id: string) => void>();

  constructor(private readonly options: RedisStoreOptions, onError: (err: Error) => void = () => {}) {
    this.redis = new Redis(options.url, {
      // Fail fast instead of queueing: a decision waiting on a dead Redis must become a
      // 503 DENY within the timeout, not hang (fail closed, bounded waits).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    });
    this.redis.on('error', onError);
    this.redis.defineCommand('arbiterCommit', { numberOfKeys: 6, lua: COMMIT_SCRIPT });
    this.redis.defineCommand('arbiterOpen', { numberOfKeys: 1, lua: OPEN_SCRIPT });
    this.redis.defineCommand('arbiterIndex', { numberOfKeys: 1, lua: INDEX_SCRIPT });
    this.outbox = options.outbox ? new RedisOutbox(this.redis, this.outboxKey, (what, op) => this.call(what, op)) : undefined;
    const r = this.redis as unknown as Record<'arbiterCommit' | 'arbiterOpen' | 'arbiterIndex', ScriptFn>;
    this.scripts = {
      commit: r.arbiterCommit.bind(this.redis),
      open: r.arbiterOpen.bind(this.redis),
      index: r.arbiterIndex.bind(this.redis),
    };
  }

  private keys(tag: string) {
    const base = `${this.options.prefix}{${tag}}`;
    return {
      session: `${base}:session`,
      receipts: `${base}:receipts`,
      chain: `${base}:chain`,
      actions: `${base}:actions`,
      pending: `${base}:pending`,
    };
  }

  private actionIndexKey(tenant: string, actionId: string): string {
    const h = createHash('sha256').update(`${tenant}\0${actionId}`, 'utf8').digest('hex').slice(0, 32);
    return `${this.options.prefix}actidx:${h}`;
  }

  private get revocationsKey(): string {
    return `${this.options.prefix}revocations`;
  }

  private pendingListKey(tenant: string, kind: PendingRecord['kind']): string {
    return `${this.options.prefix}pending:${tenant}:${kind}`;
  }

  private get pendingDueKey(): string {
    return `${this.options.prefix}pending-due`;
  }

  /**
   * The outbox stream. The commit script appends to it, so on Redis Cluster it would have
   * to share the session's slot: cluster support for export is issue 7's.
   */
  private get outboxKey(): string {
    return `${this.options.prefix}outbox`;
  }

  private get eventsChannel(): string {
    return `${this.options.prefix}events`;
  }

  /** Every driver failure leaves here as store_unavailable, which the lifecycle turns into 503 DENY. */
  private async call<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new ArbiterError('store_unavailable', undefined, { cause: new Error(`redis ${what}: ${errorMessage(err)}`) });
    }
  }

  async load(tag: string, options: LoadOptions = {}): Promise<SessionState> {
    const k = this.keys(tag);
    const fields = options.revocation ? revocationFields(options.revocation) : [];
    // Sent together, answered in one round trip; the revocation list lives in its own slot.
    const [replies, revocations] = await this.call('load', () =>
      Promise.all([
        this.redis
          .multi()
          .hmget(k.session, 'meta', 'summary', 'seq', 'head')
          .hget(k.actions, options.actionId ?? '')
          .hget(k.pending, options.pendingId ?? '')
          .exec(),
        fields.length > 0 ? this.redis.hmget(this.revocationsKey, ...fields) : Promise.resolve([]),
      ]),
    );
    const [sessionReply, actionReply, pendingReply] = replies ?? [];
    if (!sessionReply || !actionReply || !pendingReply || sessionReply[0] || actionReply[0] || pendingReply[0]) {
      throw new ArbiterError('store_unavailable', undefined, { cause: sessionReply?.[0] ?? actionReply?.[0] ?? pendingReply?.[0] });
    }
    const [meta, summary, seq, head] = sessionReply[1] as (string | null)[];
    const action = options.actionId === undefined ? null : (actionReply[1] as string | null);
    const pending = options.pendingId === undefined ? null : (pendingReply[1] as string | null);
    return {
      meta: meta ? JSON.parse(meta) : undefined,
      summary: summary ? { ...emptySummary(), ...JSON.parse(summary) } : emptySummary(),
      seq: seq ? Number(seq) : 0,
      head: head ?? null,
      action: action ? JSON.parse(action) : undefined,
      pending: pending ? JSON.parse(pending) : undefined,
      revoked: revocations.some((r) => r !== null),
    };
  }

  async commit(c: Commit): Promise<CommitResult> {
    const k = this.keys(c.tag);
    const ttl = this.options.ttlSeconds;
    const [result] = await this.call('commit', () =>
      Promise.all([
        this.scripts.commit(
          k.session,
          k.receipts,
          k.chain,
          k.actions,
          k.pending,
          this.outboxKey,
          c.expectedSeq,
          c.receipt.seq,
          c.receiptHash,
          JSON.stringify(c.meta),
          JSON.stringify(c.summary),
          c.receipt.receipt_id,
          JSON.stringify(c.receipt),
          c.newAction ? '1' : '0',
          c.action?.id ?? '',
          c.action ? JSON.stringify(c.action) : '',
          ttl,
          this.outbox ? '1' : '0',
          ...c.pending.flatMap((p) => [p.id, JSON.stringify(p)]),
        ),
        // The indexes go in the same round trip. They are hints, harmless when the commit is
        // refused: an action index entry names the same session, and a pending index entry
        // whose record never landed is dropped by the sweeper.
        c.indexAction && c.action
          ? this.scripts.index(this.actionIndexKey(c.meta.tenant, c.action.id), c.tag, ttl)
          : undefined,
        ...c.pending
          .filter((p) => p.status === 'pending')
          .flatMap((p) => [
            this.redis.zadd(this.pendingListKey(p.tenant, p.kind), Date.parse(p.expires_at), p.id),
            this.redis.zadd(this.pendingDueKey, Date.parse(p.expires_at), p.id),
          ]),
      ]),
    );
    if (result === 'committed' || result === 'conflict' || result === 'duplicate') return result;
    throw new ArbiterError('store_unavailable', undefined, { cause: new Error(`unexpected commit reply ${result}`) });
  }

  async openSession(tag: string, meta: SessionMeta): Promise<'created' | 'exists'> {
    const result = await this.call('openSession', () =>
      this.scripts.open(this.keys(tag).session, JSON.stringify(meta), this.options.ttlSeconds),
    );
    return result === 'exists' ? 'exists' : 'created';
  }

  async getReceipt(receiptId: string): Promise<Receipt | undefined> {
    const tag = tagOfId(receiptId, 'rcpt');
    if (tag === undefined) return undefined;
    const raw = await this.call('getReceipt', () => this.redis.hget(this.keys(tag).receipts, receiptId));
    return raw ? JSON.parse(raw) : undefined;
  }

  async listReceipts(tag: string): Promise<Receipt[]> {
    const k = this.keys(tag);
    const ids = await this.call('listReceipts', () => this.redis.lrange(k.chain, 0, -1));
    if (ids.length === 0) return [];
    const raws = await this.call('listReceipts', () => this.redis.hmget(k.receipts, ...ids));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as Receipt);
  }

  async getPending(id: string): Promise<PendingRecord | undefined> {
    const tag = tagOfId(id, 'apr', 'dfr');
    if (tag === undefined) return undefined;
    const raw = await this.call('getPending', () => this.redis.hget(this.keys(tag).pending, id));
    return raw ? JSON.parse(raw) : undefined;
  }

  async findActionSession(tenant: string, actionId: string): Promise<string | 'ambiguous' | undefined> {
    const tag = await this.call('findActionSession', () => this.redis.get(this.actionIndexKey(tenant, actionId)));
    if (tag === null) return undefined;
    return tag === '*' ? 'ambiguous' : tag;
  }

  async addRevocation(revocation: Revocation): Promise<void> {
    const value = JSON.stringify(revocation);
    const fields = revocationFields(revocation).flatMap((f) => [f, value]);
    await this.call('addRevocation', () => this.redis.hset(this.revocationsKey, ...fields));
  }

  async listPending(tenant: string, kind: PendingRecord['kind'], limit: number): Promise<PendingRecord[]> {
    const ids = await this.call('listPending', () =>
      this.redis.zrange(this.pendingListKey(tenant, kind), 0, Math.min(limit, PENDING_SCAN_LIMIT) - 1),
    );
    const records = await Promise.all(ids.map((id) => this.getPending(id)));
    return records.filter((r): r is PendingRecord => r?.status === 'pending');
  }

  async duePending(nowMs: number, limit: number): Promise<string[]> {
    return this.call('duePending', () =>
      this.redis.zrangebyscore(this.pendingDueKey, '-inf', nowMs, 'LIMIT', 0, Math.min(limit, PENDING_SCAN_LIMIT)),
    );
  }

  async unindexPending(records: Pick<PendingRecord, 'id' | 'tenant'>[]): Promise<void> {
    if (records.length === 0) return;
    await this.call('unindexPending', () =>
      Promise.all([
        this.redis.zrem(this.pendingDueKey, ...records.map((r) => r.id)),
        ...records.flatMap((r) => [
          this.redis.zrem(this.pendingListKey(r.tenant, 'approval'), r.id),
          this.redis.zrem(this.pendingListKey(r.tenant, 'deferral'), r.id),
        ]),
      ]),
    );
  }

  async publish(id: string): Promise<void> {
    await this.call('publish', () => this.redis.publish(this.eventsChannel, id));
  }

  subscribe(listener: (id: string) => void): () => void {
    if (!this.subscriber) {
      // A connection in subscriber mode can do nothing else; it re-subscribes by itself after a reconnect.
      this.subscriber = this.redis.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
      this.subscriber.on('error', () => {});
      this.subscriber.on('message', (_channel: string, id: string) => {
        for (const l of this.listeners) l(id);
      });
      void this.subscriber.subscribe(this.eventsChannel).catch(() => {});
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.redis.ping());
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.redis.disconnect();
  }
}
