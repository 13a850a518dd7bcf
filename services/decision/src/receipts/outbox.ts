/**
 * The receipt outbox (AARM R5, R8): every receipt is appended to it in the same atomic
 * commit that stores it, before the PEP is answered; exporters read from it and
 * acknowledge only what the collector accepted. Several replicas share one outbox: an
 * entry is delivered to one consumer at a time, and an entry held too long by a consumer
 * that died is taken over by another.
 */
import type { Receipt } from './types.js';

export interface OutboxEntry {
  /** The outbox's own id of the entry (a Redis stream id): what ack() takes. */
  id: string;
  receipt: Receipt;
}

export interface Outbox {
  /**
   * Up to `max` entries for `consumer`: first those another consumer has held unacknowledged
   * for longer than `claimIdleMs` (it presumably died), then new ones. An entry returned
   * here is not returned to another consumer until `claimIdleMs` has passed without an ack.
   */
  read(consumer: string, max: number, claimIdleMs: number): Promise<OutboxEntry[]>;
  /** The entries were exported: they leave the outbox for good. */
  ack(ids: string[]): Promise<void>;
  /** Entries not yet acknowledged (waiting or held). */
  depth(): Promise<number>;
}
