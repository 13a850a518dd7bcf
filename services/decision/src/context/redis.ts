/**
 * The Redis store. Every key of a session shares the hash tag `{<session tag>}`, so the
 * commit script touches one slot and runs unchanged on Redis Cluster.
 *
 *   <prefix>{T}:session   hash  meta, summary, seq, head
 *   <prefix>{T}:receipts  hash  receipt_id -> receipt JSON
 *   <prefix>{T}:chain     list  receipt ids in chain order
 *   <prefix>{T}:actions   hash  action id -> first decision (idempotency)
 *   <prefix>{T}:pending   hash  approval/deferral id -> record
 *
 * All five expire together after the session's idle TTL.
 */
import { Redis } from 'ioredis';
import { ArbiterError, asError } from '../errors.js';
import type { Receipt } from '../receipts/types.js';
import { sessionTag, tagOfId } from './ids.js';
import {
  emptySummary,
  type Commit,
  type CommitResult,
  type PendingRecord,
  type SessionState,
  type SessionStore,
} from './types.js';

/**
 * The compare-and-append that orders a session (ARCHITECTURE: "per-session order is
 * atomic"): refused when another decision committed since this one read the session.
 */
const COMMIT_SCRIPT = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if cur ~= tonumber(ARGV[1]) then return 'conflict' end
if ARGV[8] ~= '' and redis.call('HEXISTS', KEYS[4], ARGV[8]) == 1 then return 'duplicate' end
redis.call('HSET', KEYS[1], 'seq', ARGV[2], 'head', ARGV[3], 'summary', ARGV[5])
redis.call('HSETNX', KEYS[1], 'meta', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[6], ARGV[7])
redis.call('RPUSH', KEYS[3], ARGV[6])
if ARGV[8] ~= '' then redis.call('HSET', KEYS[4], ARGV[8], ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[5], ARGV[10], ARGV[11]) end
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ARGV[12]) end
return 'committed'
`;

type CommitFn = (...args: (string | number)[]) => Promise<string>;

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  timeoutMs: number;
  ttlSeconds: number;
}

export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  private readonly commitScript: CommitFn;

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
    this.redis.defineCommand('arbiterCommit', { numberOfKeys: 5, lua: COMMIT_SCRIPT });
    this.commitScript = (this.redis as unknown as { arbiterCommit: CommitFn }).arbiterCommit.bind(this.redis);
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

  /** Every driver failure leaves here as store_unavailable, which the lifecycle turns into 503 DENY. */
  private async call<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new ArbiterError('store_unavailable', undefined, { cause: new Error(`redis ${what}: ${asError(err).message}`) });
    }
  }

  async load(sessionId: string, actionId?: string): Promise<SessionState> {
    const k = this.keys(sessionTag(sessionId));
    const replies = await this.call('load', () =>
      this.redis.multi().hmget(k.session, 'meta', 'summary', 'seq', 'head').hget(k.actions, actionId ?? '').exec(),
    );
    const [sessionReply, actionReply] = replies ?? [];
    if (!sessionReply || !actionReply || sessionReply[0] || actionReply[0]) {
      throw new ArbiterError('store_unavailable', undefined, { cause: sessionReply?.[0] ?? actionReply?.[0] });
    }
    const [meta, summary, seq, head] = sessionReply[1] as (string | null)[];
    const prior = actionId === undefined ? null : (actionReply[1] as string | null);
    return {
      meta: meta ? JSON.parse(meta) : undefined,
      summary: summary ? JSON.parse(summary) : emptySummary(),
      seq: seq ? Number(seq) : 0,
      head: head ?? null,
      prior: prior ? JSON.parse(prior) : undefined,
    };
  }

  async commit(c: Commit): Promise<CommitResult> {
    const k = this.keys(sessionTag(c.sessionId));
    const result = await this.call('commit', () =>
      this.commitScript(
        k.session,
        k.receipts,
        k.chain,
        k.actions,
        k.pending,
        c.expectedSeq,
        c.receipt.seq,
        c.receiptHash,
        JSON.stringify(c.meta),
        JSON.stringify(c.summary),
        c.receipt.receipt_id,
        JSON.stringify(c.receipt),
        c.idempotency?.actionId ?? '',
        c.idempotency ? JSON.stringify(c.idempotency.decision) : '',
        c.pending?.id ?? '',
        c.pending ? JSON.stringify(c.pending) : '',
        this.options.ttlSeconds,
      ),
    );
    if (result === 'committed' || result === 'conflict' || result === 'duplicate') return result;
    throw new ArbiterError('store_unavailable', undefined, { cause: new Error(`unexpected commit reply ${result}`) });
  }

  async getReceipt(receiptId: string): Promise<Receipt | undefined> {
    const tag = tagOfId(receiptId, 'rcpt');
    if (tag === undefined) return undefined;
    const raw = await this.call('getReceipt', () => this.redis.hget(this.keys(tag).receipts, receiptId));
    return raw ? JSON.parse(raw) : undefined;
  }

  async listReceipts(sessionId: string): Promise<Receipt[]> {
    const k = this.keys(sessionTag(sessionId));
    const ids = await this.call('listReceipts', () => this.redis.lrange(k.chain, 0, -1));
    if (ids.length === 0) return [];
    const raws = await this.call('listReceipts', () => this.redis.hmget(k.receipts, ...ids));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as Receipt);
  }

  async getPending(id: string): Promise<PendingRecord | undefined> {
    const tag = tagOfId(id, 'apr') ?? tagOfId(id, 'dfr');
    if (tag === undefined) return undefined;
    const raw = await this.call('getPending', () => this.redis.hget(this.keys(tag).pending, id));
    return raw ? JSON.parse(raw) : undefined;
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.redis.ping());
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
