/**
 * Rate limits (issue 12): a token bucket per caller (an authenticated subject, by tenant
 * and subject, or the remote address when ARBITER_AUTH=off) and one per tenant, which all
 * of a tenant's callers share.
 *
 * With Redis (RedisTokenBuckets) a bucket is one key that every replica takes from, in one
 * script that reads Redis's own clock, so the limit holds for the deployment whatever the
 * replicas a caller's requests are spread over. With the embedded store (TokenBuckets) each
 * process keeps its own, bounded in memory: at most `maxCallers` buckets. A bucket that has
 * refilled to its burst is the same as no bucket at all, so the least recently used one is
 * dropped as soon as it is full again (idle); beyond `maxCallers` it is dropped anyway (its
 * caller starts again from a full burst). Refusing new callers instead would let whoever
 * fills the map lock everyone else out.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { RedisClient } from '../context/redis-connection.js';
import { ArbiterError } from '../errors.js';
import type { Caller } from '../intercept/agent.js';

export interface RateLimitSettings {
  /** Tokens added per second. */
  rps: number;
  /** Bucket size: requests a caller may send at once after being idle. */
  burst: number;
  /** Most buckets kept at once (in-process buckets only; Redis keys expire when full). */
  maxCallers: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimiter {
  take(key: string): Take | Promise<Take>;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets implements RateLimiter {
  // Insertion order is recency order: a bucket is re-inserted on every use.
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly nowMs: () => number = Date.now,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  take(key: string): Take {
    const { rps, burst } = this.settings;
    const now = this.nowMs();
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    this.buckets.delete(key);
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * rps);
    bucket.at = now;
    const ok = bucket.tokens >= 1;
    if (ok) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    this.evict(now);
    return ok ? { ok: true } : { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / rps)) };
  }

  /** O(1) per request: looks only at the least recently used bucket. */
  private evict(now: number): void {
    const { rps, burst, maxCallers } = this.settings;
    const [oldestKey, oldest] = this.buckets.entries().next().value ?? [];
    if (oldestKey === undefined || oldest === undefined) return;
    const idle = oldest.tokens + ((now - oldest.at) / 1000) * rps >= burst;
    if (idle || this.buckets.size > maxCallers) this.buckets.delete(oldestKey);
  }
}

/**
 * One token from a bucket kept in Redis: refilled by Redis's clock (TIME, so replicas with
 * skewed clocks agree), expiring once it would be full again (an idle caller costs nothing).
 * Returns {1, 0} when taken, {0, seconds to wait} when not.
 */
const TAKE_SCRIPT = `
local rps = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rps)
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rps * 1000) + 1000)
if ok == 1 then return {1, 0} end
return {0, math.max(1, math.ceil((1 - tokens) / rps))}
`;

type TakeCommand = (key: string, rps: number, burst: number) => Promise<[number, number]>;

export class RedisTokenBuckets implements RateLimiter {
  private readonly command: TakeCommand;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly settings: Pick<RateLimitSettings, 'rps' | 'burst'>,
  ) {
    redis.defineCommand('arbiterTakeToken', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    this.command = (redis as unknown as { arbiterTakeToken: TakeCommand }).arbiterTakeToken.bind(redis);
  }

  async take(key: string): Promise<Take> {
    // Keys are bounded whatever the subject: a hash of the caller's key.
    const id = createHash('sha256').update(key).digest('hex').slice(0, 32);
    const [ok, wait] = await this.command(`${this.prefix}rl:${id}`, this.settings.rps, this.settings.burst);
    return ok === 1 ? { ok: true } : { ok: false, retryAfterSeconds: wait };
  }
}

/** The buckets a request takes from: the caller's, and its tenant's. */
export interface RateLimiters {
  caller?: RateLimiter;
  tenant?: RateLimiter;
}

/**
 * Placed after authentication, so a verified caller is limited by who it is, wherever it
 * connects from. A limited request is refused with 429 (`rate_limited`) and Retry-After;
 * on a decision route the answer also says DENY (app.ts, errorBody). When the buckets
 * cannot be reached (Redis down) the request is refused as the store's fault (503, DENY on
 * a decision route): an unlimited service is not what the operator configured.
 */
export function rateLimit(limiters: RateLimiters): RequestHandler {
  return (req, res, next) => {
    const caller = res.locals.caller as Caller | undefined;
    const takes: Array<[RateLimiter, string]> = [];
    if (limiters.caller) {
      const key = caller?.verified
        ? `sub:${caller.tenant.length}:${caller.tenant}:${caller.subject}`
        : `addr:${req.socket.remoteAddress ?? 'unknown'}`;
      takes.push([limiters.caller, key]);
    }
    // A tenant is only known for a verified caller; with ARBITER_AUTH=off there is one.
    if (limiters.tenant && caller?.verified) takes.push([limiters.tenant, `tenant:${caller.tenant}`]);
    void (async () => {
      for (const [limiter, key] of takes) {
        const taken = await limiter.take(key);
        if (!taken.ok) {
          res.setHeader('retry-after', String(taken.retryAfterSeconds));
          throw new ArbiterError('rate_limited');
        }
      }
    })().then(
      () => next(),
      (err: unknown) =>
        next(
          err instanceof ArbiterError
            ? err
            : new ArbiterError('store_unavailable', 'the rate limit could not be checked'),
        ),
    );
  };
}
