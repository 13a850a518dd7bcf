/**
 * A per-caller rate limit (issue 12): a token bucket per authenticated subject (tenant and
 * subject), or per remote address when ARBITER_AUTH=off. Each replica keeps its own
 * buckets, so the effective limit of a deployment is the per-replica limit times the
 * replicas a caller's requests are spread over.
 *
 * Memory is bounded: at most `maxCallers` buckets. A bucket that has refilled to its burst
 * is the same as no bucket at all, so the least recently used one is dropped as soon as it
 * is full again (idle); beyond `maxCallers` it is dropped anyway (its caller starts again
 * from a full burst). Refusing new callers instead would let whoever fills the map lock
 * everyone else out.
 */
import type { RequestHandler } from 'express';
import { ArbiterError } from '../errors.js';
import type { Caller } from '../intercept/agent.js';

export interface RateLimitSettings {
  /** Tokens added per second; 0 turns the limit off. */
  rps: number;
  /** Bucket size: requests a caller may send at once after being idle. */
  burst: number;
  /** Most buckets kept at once. */
  maxCallers: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimiter {
  take(key: string): Take;
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
 * Placed after authentication, so a verified caller is limited by who it is, wherever it
 * connects from. A limited request is refused with 429 (`rate_limited`) and Retry-After;
 * on a decision route the answer also says DENY (app.ts, errorBody).
 */
export function rateLimit(limiter: RateLimiter): RequestHandler {
  return (req, res, next) => {
    const caller = res.locals.caller as Caller | undefined;
    const key = caller?.verified
      ? `sub:${caller.tenant.length}:${caller.tenant}:${caller.subject}`
      : `addr:${req.socket.remoteAddress ?? 'unknown'}`;
    const taken = limiter.take(key);
    if (taken.ok) return next();
    res.setHeader('retry-after', String(taken.retryAfterSeconds));
    next(new ArbiterError('rate_limited'));
  };
}
