/**
 * One lane per session within this process (issue 11): appends to a session run one at a
 * time, in arrival order, so two steps of one replica never race for the same `seq`. The
 * queue is bounded in length and in waiting time; past either bound the request is refused
 * as `contention` (503 DENY), never left hanging.
 *
 *   const lanes = new Lanes({ maxQueue: 256, maxWaitMs: 10_000 }, metrics);
 *   await lanes.run(tag, () => appendOnce());
 */
import { ArbiterError } from '../errors.js';
import type { Metrics } from '../telemetry/metrics.js';

export interface LaneBounds {
  /** Waiters one session may have behind the running step. */
  maxQueue: number;
  /** How long a waiter may wait for its turn. */
  maxWaitMs: number;
}

interface Waiter {
  start: () => void;
  timer: NodeJS.Timeout;
}

export class Lanes {
  /** A key is present while a step of it runs; its array holds the waiters, oldest first. */
  private readonly lanes = new Map<string, Waiter[]>();

  constructor(
    private readonly bounds: LaneBounds,
    private readonly metrics?: Pick<Metrics, 'sessionQueueWaiting' | 'sessionQueueRefusals'>,
  ) {}

  /** Steps waiting (not running) on `key`. */
  waiting(key: string): number {
    return this.lanes.get(key)?.length ?? 0;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    await this.turn(key);
    try {
      return await fn();
    } finally {
      this.release(key);
    }
  }

  private turn(key: string): Promise<void> {
    const queue = this.lanes.get(key);
    if (!queue) {
      this.lanes.set(key, []);
      return Promise.resolve();
    }
    if (queue.length >= this.bounds.maxQueue) {
      this.metrics?.sessionQueueRefusals.inc({ reason: 'full' });
      return Promise.reject(
        new ArbiterError('contention', `${queue.length} requests are already waiting on this session`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          this.metrics?.sessionQueueWaiting.dec();
          resolve();
        },
        timer: setTimeout(() => {
          const at = queue.indexOf(waiter);
          if (at < 0) return;
          queue.splice(at, 1);
          this.metrics?.sessionQueueWaiting.dec();
          this.metrics?.sessionQueueRefusals.inc({ reason: 'wait' });
          reject(new ArbiterError('contention', `no turn on this session within ${this.bounds.maxWaitMs} ms`));
        }, this.bounds.maxWaitMs),
      };
      queue.push(waiter);
      this.metrics?.sessionQueueWaiting.inc();
    });
  }

  /** Hands the lane to the oldest waiter, or frees it. */
  private release(key: string): void {
    const queue = this.lanes.get(key);
    const next = queue?.shift();
    if (next) next.start();
    else this.lanes.delete(key);
  }
}
