/**
 * The Redis store. Sessions are spread over ARBITER_REDIS_SHARDS shards by their tag T
 * (ids.ts); every key of a session, and its shard's outbox stream, carry the shard's hash
 * tag `{sN}`, so the commit script touches one slot and runs unchanged on Redis Cluster,
 * while the shards spread the sessions over the cluster's nodes.
 *
 *   <prefix>{sN}:<T>:session    hash    meta, summary, seq, head
 *   <prefix>{sN}:<T>:receipts   hash    receipt_id -> receipt
 *   <prefix>{sN}:<T>:chain      list    receipt ids in chain order
 *   <prefix>{sN}:<T>:actions    hash    action id -> ActionRecord
 *   <prefix>{sN}:<T>:pending    hash    approval/deferral id -> record
 *   <prefix>{sN}:outbox         stream  the shard's committed receipts, until exported
 *   <prefix>actidx:<h>     string  tag of the session of a caller-chosen action id ('*': several)
 *   <prefix>{rev}:t:<tenant>:jti:<jti>   string  revocation, expiring with the token (or the revocation TTL)
 *   <prefix>{rev}:t:<tenant>:sub:<sub>   string  revocation, expiring after the revocation TTL
 *   <prefix>revocations    hash    entries written before per-tenant keys: still read, never written
 *   <prefix>pending:<tenant>:<kind>  zset  pending approval/deferral ids by expiry (listing)
 *   <prefix>pending-due    zset    every pending id by expiry (the expiry sweeper)
 *   <prefix>events         channel ids of pending records that changed (wakes long-polls on every replica)
 *
 * A session's keys expire together after its idle TTL.
 */
import { createHash } from 'node:crypto';
import { connectRedis, type RedisClient } from './redis-connection.js';
import { ArbiterError, errorMessage } from '../errors.js';
import type { Outbox, OutboxEntry } from '../receipts/outbox.js';
import type { Receipt } from '../receipts/types.js';
import { tagOfId } from './ids.js';
import {
  DEFAULT_REVOCATION_TTL_SECONDS,
  emptySummary,
  legacyRevocationFields,
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

/**
 * Stores each revocation entry unless one already outlives it: a second revocation of the
 * same token or subject can lengthen its life, never shorten it.
 */
const REVOKE_SCRIPT = `
for i = 1, #KEYS do
  local ttl = tonumber(ARGV[i + 1])
  local left = redis.call('PTTL', KEYS[i])
  if left ~= -1 and left < ttl then redis.call('SET', KEYS[i], ARGV[1], 'PX', ttl) end
end
return 1
`;

type ScriptFn = (...args: (string | number)[]) => Promise<string>;

/** How many pending records one listing or sweep reads at most. */
const PENDING_SCAN_LIMIT = 1000;

export interface RedisStoreOptions {
  url: string;
  password?: string;
  /** PEM CA bundle for this connection's TLS only (redis-connection.ts). */
  tlsCa?: string;
  prefix: string;
  timeoutMs: number;
  ttlSeconds: number;
  /** How many shards sessions are spread over. Fixed for the life of the data: ids map to shards through it. */
  shards: number;
  /**
   * Replicas that must have a commit before it counts (Redis WAIT). With Sentinel, 1 keeps
   * an answered decision from being lost when the primary fails over before replicating.
   */
  waitReplicas: number;
  /** Append every committed receipt to the export outbox (a stream read by a consumer group). */
  outbox?: boolean;
  /** How long a subject revocation (or a jti one without `exp`) is kept; default 90 days. */
  revocationTtlSeconds?: number;
}

const EXPORT_GROUP = 'exporters';

/**
 * The outbox as a Redis stream with one consumer group: XREADGROUP hands each entry to one
 * replica, XAUTOCLAIM takes over entries a dead replica held, and an acknowledged entry is
 * deleted, so the stream's length is the backlog.
 */
class RedisOutbox implements Outbox {
  private readonly groups = new Map<string, Promise<void>>();
  /** Where the next read starts, so every shard gets its turn. */
  private start = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: string[],
    private readonly call: <T>(what: string, op: () => Promise<T>) => Promise<T>,
  ) {}

  private ensureGroup(key: string): Promise<void> {
    let group = this.groups.get(key);
    if (!group) {
      group = this.call('outbox group', async () => {
        try {
          await this.redis.xgroup('CREATE', key, EXPORT_GROUP, '0', 'MKSTREAM');
        } catch (err) {
          if (!errorMessage(err).includes('BUSYGROUP')) throw err;
        }
      }).catch((err) => {
        this.groups.delete(key);
        throw err;
      });
      this.groups.set(key, group);
    }
    return group;
  }

  /** An entry's id names its shard, so ack() knows which stream it is in. */
  private static entries(shard: number, raw: unknown): OutboxEntry[] {
    return ((raw ?? []) as Array<[string, string[]] | null>)
      .filter((e): e is [string, string[]] => e !== null && Array.isArray(e[1]))
      .map(([id, fields]) => ({
        id: `${shard}/${id}`,
        receipt: JSON.parse(fields[fields.indexOf('r') + 1] ?? 'null') as Receipt,
      }));
  }

  private async readShard(shard: number, consumer: string, max: number, claimIdleMs: number): Promise<OutboxEntry[]> {
    const key = this.keys[shard]!;
    await this.ensureGroup(key);
    const claimed = await this.call('outbox claim', () =>
      this.redis.xautoclaim(key, EXPORT_GROUP, consumer, claimIdleMs, '0-0', 'COUNT', max),
    );
    const taken = RedisOutbox.entries(shard, (claimed as unknown[])[1]);
    if (taken.length >= max) return taken;
    const fresh = (await this.call('outbox read', () =>
      this.redis.xreadgroup('GROUP', EXPORT_GROUP, consumer, 'COUNT', max - taken.length, 'STREAMS', key, '>'),
    )) as Array<[string, unknown]> | null;
    return [...taken, ...RedisOutbox.entries(shard, fresh?.[0]?.[1])];
  }

  async read(consumer: string, max: number, claimIdleMs: number): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    const first = this.start;
    this.start = (this.start + 1) % this.keys.length;
    for (let i = 0; i < this.keys.length && out.length < max; i++) {
      out.push(...(await this.readShard((first + i) % this.keys.length, consumer, max - out.length, claimIdleMs)));
    }
    return out;
  }

  async ack(ids: string[]): Promise<void> {
    const byShard = new Map<number, string[]>();
    for (const id of ids) {
      const [shard, streamId] = id.split('/');
      if (shard === undefined || streamId === undefined) continue;
      byShard.set(Number(shard), [...(byShard.get(Number(shard)) ?? []), streamId]);
    }
    await Promise.all(
      [...byShard].map(([shard, streamIds]) => {
        const key = this.keys[shard]!;
        return this.call('outbox ack', () =>
          this.redis
            .multi()
            .xack(key, EXPORT_GROUP, ...streamIds)
            .xdel(key, ...streamIds)
            .exec(),
        );
      }),
    );
  }

  async depth(): Promise<number> {
    const lengths = await Promise.all(this.keys.map((key) => this.call('outbox depth', () => this.redis.xlen(key))));
    return lengths.reduce((a, b) => a + b, 0);
  }
}

export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly outbox: Outbox | undefined;
  private readonly redis: RedisClient;
  private readonly scripts: { commit: ScriptFn; open: ScriptFn; index: ScriptFn; revoke: ScriptFn };
  private subscriber: RedisClient | undefined;
  private readonly listeners = new Set<(id: string) => void>();

  constructor(
    private readonly options: RedisStoreOptions,
    onError: (err: Error) => void = () => {},
  ) {
    this.redis = connectRedis({
      url: options.url,
      timeoutMs: options.timeoutMs,
      ...(options.password !== undefined && { password: options.password }),
      ...(options.tlsCa !== undefined && { tlsCa: options.tlsCa }),
    });
    this.redis.on('error', onError);
    this.redis.defineCommand('arbiterCommit', { numberOfKeys: 6, lua: COMMIT_SCRIPT });
    this.redis.defineCommand('arbiterOpen', { numberOfKeys: 1, lua: OPEN_SCRIPT });
    this.redis.defineCommand('arbiterIndex', { numberOfKeys: 1, lua: INDEX_SCRIPT });
    this.redis.defineCommand('arbiterRevoke', { lua: REVOKE_SCRIPT });
    const outboxKeys = Array.from({ length: options.shards }, (_, shard) => this.outboxKey(shard));
    this.outbox = options.outbox
      ? new RedisOutbox(this.redis, outboxKeys, (what, op) => this.call(what, op))
      : undefined;
    const r = this.redis as unknown as Record<
      'arbiterCommit' | 'arbiterOpen' | 'arbiterIndex' | 'arbiterRevoke',
      ScriptFn
    >;
    this.scripts = {
      commit: r.arbiterCommit.bind(this.redis),
      open: r.arbiterOpen.bind(this.redis),
      index: r.arbiterIndex.bind(this.redis),
      revoke: r.arbiterRevoke.bind(this.redis),
    };
  }

  private shardOf(tag: string): number {
    return Number.parseInt(tag.slice(0, 8), 16) % this.options.shards;
  }

  private keys(tag: string) {
    const shard = this.shardOf(tag);
    const base = `${this.options.prefix}{s${shard}}:${tag}`;
    return {
      outbox: this.outboxKey(shard),
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

  private get legacyRevocationsKey(): string {
    return `${this.options.prefix}revocations`;
  }

  /** One hash tag for every revocation key, so a lookup of several is one MGET on Redis Cluster too. */
  private revocationKey(key: string): string {
    return `${this.options.prefix}{rev}:${key}`;
  }

  private pendingListKey(tenant: string, kind: PendingRecord['kind']): string {
    return `${this.options.prefix}pending:${tenant}:${kind}`;
  }

  private get pendingDueKey(): string {
    return `${this.options.prefix}pending-due`;
  }

  /** A shard's outbox stream: in the slot of its sessions, so the commit script can append to it. */
  private outboxKey(shard: number): string {
    return `${this.options.prefix}{s${shard}}:outbox`;
  }

  private get eventsChannel(): string {
    return `${this.options.prefix}events`;
  }

  /** Every driver failure leaves here as store_unavailable, which the lifecycle turns into 503 DENY. */
  private async call<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new ArbiterError('store_unavailable', undefined, {
        cause: new Error(`redis ${what}: ${errorMessage(err)}`),
      });
    }
  }

  async load(tag: string, options: LoadOptions = {}): Promise<SessionState> {
    const k = this.keys(tag);
    const keys = options.revocation ? revocationKeys(options.revocation).map((k) => this.revocationKey(k)) : [];
    const fields = options.revocation ? legacyRevocationFields(options.revocation) : [];
    // Sent together, answered in one round trip; the revocation list lives in its own slot.
    const [replies, revocations, legacy] = await this.call('load', () =>
      Promise.all([
        this.redis
          .multi()
          .hmget(k.session, 'meta', 'summary', 'seq', 'head')
          .hget(k.actions, options.actionId ?? '')
          .hget(k.pending, options.pendingId ?? '')
          .exec(),
        keys.length > 0 ? this.redis.mget(...keys) : Promise.resolve([]),
        fields.length > 0 ? this.redis.hmget(this.legacyRevocationsKey, ...fields) : Promise.resolve([]),
      ]),
    );
    const [sessionReply, actionReply, pendingReply] = replies ?? [];
    if (!sessionReply || !actionReply || !pendingReply || sessionReply[0] || actionReply[0] || pendingReply[0]) {
      throw new ArbiterError('store_unavailable', undefined, {
        cause: sessionReply?.[0] ?? actionReply?.[0] ?? pendingReply?.[0],
      });
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
      revoked: [...revocations, ...legacy].some((r) => r !== null),
    };
  }

  async commit(c: Commit): Promise<CommitResult> {
    const k = this.keys(c.tag);
    const ttl = this.options.ttlSeconds;
    const [result] = await this.call('commit', () =>
      Promise.all([
        this.commitDurably(
          k.session,
          k.receipts,
          k.chain,
          k.actions,
          k.pending,
          k.outbox,
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

  /**
   * Runs the commit script and, when replicas must confirm, WAITs for them on the same
   * connection. Fewer confirmations than asked is a failure: the decision is answered
   * 503 DENY rather than promised on a write a failover could lose.
   */
  private async commitDurably(...args: (string | number)[]): Promise<string> {
    if (this.options.waitReplicas <= 0) return this.scripts.commit(...args);
    const pipeline = this.redis.pipeline() as unknown as {
      arbiterCommit(...a: (string | number)[]): unknown;
      wait(n: number, t: number): unknown;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    pipeline.arbiterCommit(...args);
    pipeline.wait(this.options.waitReplicas, this.options.timeoutMs);
    const replies = (await pipeline.exec()) ?? [];
    const [commit, wait] = replies;
    if (!commit || commit[0]) throw commit?.[0] ?? new Error('no reply to the commit');
    if (commit[1] === 'committed' && (!wait || wait[0] || Number(wait[1]) < this.options.waitReplicas)) {
      throw new Error(`the commit reached ${String(wait?.[1] ?? 0)} of ${this.options.waitReplicas} replicas in time`);
    }
    return String(commit[1]);
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

  async redeemCapability(jti: string, expiresAtMs: number): Promise<'first' | 'again'> {
    // PX (relative to this host's clock, the one verification used), not PXAT (the Redis host's clock).
    const ttlMs = Math.max(1000, Math.ceil(expiresAtMs - Date.now()));
    const key = `${this.options.prefix}cap:${jti}`;
    const set = await this.call('redeemCapability', () => this.redis.set(key, '1', 'PX', ttlMs, 'NX'));
    return set === 'OK' ? 'first' : 'again';
  }

  async capabilityRedeemed(jti: string): Promise<boolean> {
    const key = `${this.options.prefix}cap:${jti}`;
    return (await this.call('capabilityRedeemed', () => this.redis.exists(key))) === 1;
  }

  async addRevocation(revocation: Revocation): Promise<void> {
    const now = Date.now();
    const entries = revocationEntries(
      revocation,
      this.options.revocationTtlSeconds ?? DEFAULT_REVOCATION_TTL_SECONDS,
      now,
    );
    if (entries.length === 0) return;
    // PX (relative to this host's clock, the one tokens are verified by), as for redemptions.
    await this.call('addRevocation', () =>
      this.scripts.revoke(
        entries.length,
        ...entries.map((e) => this.revocationKey(e.key)),
        JSON.stringify(revocation),
        ...entries.map((e) => Math.max(1000, Math.ceil(e.expiresAtMs - now))),
      ),
    );
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
      this.subscriber = connectRedis({
        url: this.options.url,
        timeoutMs: this.options.timeoutMs,
        subscriber: true,
        ...(this.options.password !== undefined && { password: this.options.password }),
        ...(this.options.tlsCa !== undefined && { tlsCa: this.options.tlsCa }),
      });
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
