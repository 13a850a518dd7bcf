/**
 * "Redeem once": the primitive that makes a capability single-use. A capability's `jti` is
 * recorded the first time it is redeemed; every later redemption of the same jti, on any
 * replica, answers 'again'. A record only needs to outlive the capability: once it has
 * expired, verification refuses it before redemption is asked.
 *
 * Implementations:
 * - MemoryCapabilityRedemptions (below): one process, for the embedded store and tests.
 *   Give it the clock that verification uses (the service's `clock`): a record is held
 *   until `expiresAtMs` on that clock.
 * - Redis (the store's): `SET <prefix>cap:<jti> 1 NX PX <max(1000, expiresAtMs - clock())>`;
 *   "OK" → 'first', nil → 'again'. One atomic command, so concurrent redemptions on several
 *   replicas still give exactly one 'first'. PX (relative, from the service's clock) rather
 *   than PXAT (absolute, read on the Redis server's clock), so a skew between the two hosts
 *   cannot expire the record while verification still accepts the capability.
 */

export type Redemption = 'first' | 'again';

export interface CapabilityRedemptions {
  /**
   * Records `jti` as used until `expiresAtMs` (epoch milliseconds) and says whether this was
   * its first redemption. Atomic: of any number of concurrent calls for one jti, exactly one
   * answers 'first'. Rejects (never answers 'first') when the record cannot be written.
   */
  redeem(jti: string, expiresAtMs: number): Promise<Redemption>;
  /**
   * Whether `jti` has been redeemed (and its record is still held). Read-only. With it, a
   * check without redemption refuses a used capability ('already_used'), so single use
   * holds for every verifier, not only for those that redeem. Rejects when the record
   * cannot be read.
   */
  used?(jti: string): Promise<boolean>;
}

/** How often, at most, the in-memory set drops records of capabilities that have expired. */
const SWEEP_INTERVAL_MS = 1000;

export class MemoryCapabilityRedemptions implements CapabilityRedemptions {
  private readonly records = new Map<string, number>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async redeem(jti: string, expiresAtMs: number): Promise<Redemption> {
    if (typeof jti !== 'string' || jti === '') throw new TypeError('redeem: jti must be a non-empty string');
    if (!Number.isFinite(expiresAtMs)) throw new TypeError('redeem: expiresAtMs must be a finite number');
    const now = this.now();
    this.sweep(now);
    // Check and set with no await in between: the event loop makes the pair atomic.
    const known = this.records.get(jti);
    if (known !== undefined && known > now) return 'again';
    this.records.set(jti, expiresAtMs);
    return 'first';
  }

  async used(jti: string): Promise<boolean> {
    const known = this.records.get(jti);
    return known !== undefined && known > this.now();
  }

  /** Records still held (for tests and metrics). */
  get size(): number {
    return this.records.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const [jti, expiresAt] of this.records) if (expiresAt <= now) this.records.delete(jti);
  }
}
