/**
 * Webhook notifications for pending approvals (STEP_UP) and deferrals (DEFER), so operators
 * can route them to chat or a ticket system.
 *
 * Each event is POSTed as JSON to every configured URL, signed with HMAC-SHA256 over
 * `${timestamp}.${body}` (the timestamp is inside the MAC so receivers can refuse replays).
 * One delivery id per event, the same on every retry and every URL, so receivers can de-duplicate.
 *
 * `notify` never throws and never waits: deliveries run on promises and unref'd timers, bounded
 * by `concurrency` requests in flight and `maxQueue` deliveries waiting (queued or backing off).
 * Outcomes go to the injected `onResult` callback (metrics, logs); the secret is never reported,
 * and reported URLs carry neither credentials nor query string. Events leave for chat and
 * ticket systems: their data goes out with the secrets its text spells out masked (the
 * intent, the action's target and parameters: receipts/mask.ts maskStrings, issue 12).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { errorMessage } from '../errors.js';
import { maskStrings } from '../receipts/mask.js';

export type WebhookEventType = 'approval.requested' | 'deferral.requested' | 'approval.resolved' | 'deferral.resolved';

export interface WebhookEvent {
  type: WebhookEventType;
  /** The approval or deferral id. */
  id: string;
  tenant: string;
  /** RFC 3339. */
  occurred_at: string;
  /** What the receiver needs; the caller passes parameters masked already, the notifier masks the text. */
  data: Record<string, unknown>;
}

export interface Notifier {
  /** Queues the event for every URL; returns at once and never throws. */
  notify(event: WebhookEvent): void;
  /**
   * Stops accepting events, waits for in-flight and queued deliveries up to `timeoutMs`
   * (default 5000), then abandons the rest, reporting them 'dropped'.
   */
  close(timeoutMs?: number): Promise<void>;
}

/** The no-op notifier, used when no webhook is configured. */
export const NO_NOTIFIER: Notifier = Object.freeze({
  notify(): void {},
  async close(): Promise<void> {},
});

export type WebhookOutcome = 'delivered' | 'retry' | 'failed' | 'dropped';

export interface WebhookResult {
  /** The target URL without credentials, query or fragment. */
  url: string;
  type: string;
  outcome: WebhookOutcome;
  /** Attempts made for this delivery (0 when it was never sent). */
  attempt: number;
  /** HTTP status of the attempt, when a response arrived. */
  status?: number;
  /** Why an attempt did not deliver (timeout, network error, queue full, ...); never the secret. */
  error?: string;
}

export interface WebhookOptions {
  /** Each event goes to every URL (http or https). */
  urls: string[];
  /** HMAC-SHA256 key. */
  secret: string;
  /** Per attempt, including reading the response head. */
  timeoutMs: number;
  /** Per URL, >= 1. */
  maxAttempts: number;
  /** Backoff: baseDelayMs * 2^(attempt-1), with full jitter, capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Bound on deliveries waiting (queued or backing off), per notifier; beyond it new deliveries are dropped. */
  maxQueue: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** For metrics and logs; exceptions it throws are swallowed. */
  onResult?: (result: WebhookResult) => void;
  now?: () => Date;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
const EVENT_TYPES: ReadonlySet<string> = new Set<WebhookEventType>([
  'approval.requested',
  'deferral.requested',
  'approval.resolved',
  'deferral.resolved',
]);
const SIGNATURE_PATTERN = /^sha256=([0-9a-f]{64})$/i;

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * For receivers and tests: true only if `signature` is the MAC of `${timestamp}.${body}` under
 * `secret` (compared in constant time) and `timestamp` (unix seconds) is within
 * `toleranceSeconds` of `now`, either way.
 */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string,
  body: string,
  signature: string,
  toleranceSeconds: number,
  now: Date,
): boolean {
  if (typeof timestamp !== 'string' || !/^\d{1,15}$/.test(timestamp)) return false;
  if (typeof signature !== 'string' || typeof body !== 'string') return false;
  const age = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (!Number.isFinite(age) || !(age <= toleranceSeconds)) return false;
  const match = SIGNATURE_PATTERN.exec(signature);
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1], 'hex');
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The wait before the next attempt after attempt `attempt` (1-based) failed. On 429 and 503 a
 * Retry-After (seconds or HTTP date) is honoured, capped at maxDelayMs; otherwise full jitter:
 * uniform in [0, min(maxDelayMs, baseDelayMs * 2^(attempt-1))]. Exported for tests.
 */
export function retryDelayMs(input: {
  attempt: number;
  baseDelayMs: number;
  maxDelayMs: number;
  status?: number;
  retryAfter?: string | null;
  nowMs?: number;
  random?: () => number;
}): number {
  const { attempt, baseDelayMs, maxDelayMs, status, retryAfter } = input;
  if ((status === 429 || status === 503) && retryAfter) {
    const honoured = parseRetryAfterMs(retryAfter, input.nowMs ?? Date.now());
    if (honoured !== undefined) return Math.min(honoured, maxDelayMs);
  }
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const random = input.random ?? Math.random;
  return Math.round(random() * cap);
}

function parseRetryAfterMs(value: string, nowMs: number): number | undefined {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

interface Target {
  readonly url: string;
  readonly reportUrl: string;
}

interface Delivery {
  readonly target: Target;
  readonly deliveryId: string;
  readonly type: WebhookEventType;
  readonly body: string;
  attempts: number;
  abandoned: boolean;
  controller?: AbortController;
  backoffTimer?: NodeJS.Timeout;
}

type AttemptResult = { status: number; retryAfter: string | null } | { error: string };

export function createWebhookNotifier(options: WebhookOptions): Notifier {
  const targets = validateUrls(options.urls);
  if (typeof options.secret !== 'string' || options.secret.length === 0) {
    throw new Error('webhook secret must be a non-empty string');
  }
  const secret = options.secret;
  const timeoutMs = requireNumber('timeoutMs', options.timeoutMs, 1, false);
  const maxAttempts = requireNumber('maxAttempts', options.maxAttempts, 1, true);
  const baseDelayMs = requireNumber('baseDelayMs', options.baseDelayMs, 0, false);
  const maxDelayMs = requireNumber('maxDelayMs', options.maxDelayMs, 0, false);
  const maxQueue = requireNumber('maxQueue', options.maxQueue, 0, true);
  const concurrency = requireNumber('concurrency', options.concurrency ?? DEFAULT_CONCURRENCY, 1, true);
  const onResult = options.onResult;
  const now = options.now ?? (() => new Date());

  const ready: Delivery[] = [];
  const backingOff = new Set<Delivery>();
  const inFlight = new Set<Delivery>();
  const idleWaiters: Array<() => void> = [];
  let closing = false;
  let closed: Promise<void> | undefined;

  function report(result: WebhookResult): void {
    if (!onResult) return;
    try {
      onResult(result);
    } catch {
      // A failing metrics/log callback must not break delivery.
    }
  }

  function reportAll(type: string, outcome: WebhookOutcome, error: string): void {
    for (const target of targets) report({ url: target.reportUrl, type, outcome, attempt: 0, error });
  }

  function isIdle(): boolean {
    return ready.length === 0 && backingOff.size === 0 && inFlight.size === 0;
  }

  function settleIfIdle(): void {
    if (!isIdle()) return;
    for (const wake of idleWaiters.splice(0)) wake();
  }

  function pump(): void {
    while (inFlight.size < concurrency && ready.length > 0) start(ready.shift()!);
  }

  function start(delivery: Delivery): void {
    inFlight.add(delivery);
    delivery.attempts += 1;
    runAttempt(delivery).catch(() => {
      // runAttempt handles its own failures; this only guards against an unhandled rejection.
    });
  }

  async function runAttempt(delivery: Delivery): Promise<void> {
    const result = await attemptOnce(delivery);
    if (delivery.abandoned) return; // close() already reported it and cleared the sets
    inFlight.delete(delivery);
    const base = { url: delivery.target.reportUrl, type: delivery.type, attempt: delivery.attempts };
    const status = 'status' in result ? result.status : undefined;
    if (status !== undefined && status >= 200 && status < 300) {
      report({ ...base, outcome: 'delivered', status });
    } else if (status !== undefined && !isRetryableStatus(status)) {
      report({ ...base, outcome: 'failed', status, error: `HTTP ${status} is not retried` });
    } else {
      const error = 'error' in result ? result.error : `HTTP ${status}`;
      const withStatus = status === undefined ? base : { ...base, status };
      if (delivery.attempts >= maxAttempts) {
        report({ ...withStatus, outcome: 'failed', error });
      } else {
        report({ ...withStatus, outcome: 'retry', error });
        const delay = retryDelayMs({
          attempt: delivery.attempts,
          baseDelayMs,
          maxDelayMs,
          status,
          retryAfter: 'retryAfter' in result ? result.retryAfter : null,
        });
        backingOff.add(delivery);
        delivery.backoffTimer = setTimeout(() => {
          delivery.backoffTimer = undefined;
          if (delivery.abandoned) return;
          backingOff.delete(delivery);
          ready.push(delivery); // already counted against maxQueue while backing off
          pump();
        }, delay).unref();
      }
    }
    pump();
    settleIfIdle();
  }

  async function attemptOnce(delivery: Delivery): Promise<AttemptResult> {
    const controller = new AbortController();
    delivery.controller = controller;
    const timeout = new Error(`timed out after ${timeoutMs} ms`);
    const timer = setTimeout(() => controller.abort(timeout), timeoutMs).unref();
    try {
      const timestamp = String(Math.floor(now().getTime() / 1000));
      const response = await fetch(delivery.target.url, {
        method: 'POST',
        redirect: 'manual', // a redirect is a misconfigured URL, not somewhere to resend a signed body
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'arbiter-webhooks/1',
          'x-arbiter-event': delivery.type,
          'x-arbiter-delivery': delivery.deliveryId,
          'x-arbiter-timestamp': timestamp,
          'x-arbiter-signature': signWebhook(secret, timestamp, delivery.body),
        },
        body: delivery.body,
      });
      const retryAfter = response.headers.get('retry-after');
      // The body is not needed; cancelling frees the connection without reading an unbounded answer.
      await response.body?.cancel().catch(() => undefined);
      return { status: response.status, retryAfter };
    } catch (thrown) {
      if (controller.signal.aborted && controller.signal.reason === timeout) return { error: timeout.message };
      return { error: describeFetchError(thrown) };
    } finally {
      clearTimeout(timer);
      delivery.controller = undefined;
    }
  }

  function abandonAll(): void {
    const reason = 'abandoned at close';
    for (const delivery of [...inFlight, ...backingOff, ...ready.splice(0)]) {
      delivery.abandoned = true;
      delivery.controller?.abort(new Error(reason));
      if (delivery.backoffTimer) clearTimeout(delivery.backoffTimer);
      report({
        url: delivery.target.reportUrl,
        type: delivery.type,
        outcome: 'dropped',
        attempt: delivery.attempts,
        error: reason,
      });
    }
    inFlight.clear();
    backingOff.clear();
  }

  return {
    notify(event: WebhookEvent): void {
      try {
        const type = typeof event?.type === 'string' ? event.type : 'unknown';
        if (closing) {
          reportAll(type, 'dropped', 'notifier is closed');
          return;
        }
        if (!EVENT_TYPES.has(type)) {
          reportAll(type, 'failed', 'unknown event type');
          return;
        }
        let body: string;
        try {
          const { id, tenant, occurred_at, data } = event;
          body = JSON.stringify({ type, id, tenant, occurred_at, data: maskStrings(data) });
        } catch (thrown) {
          reportAll(type, 'failed', `event is not serialisable: ${errorMessage(thrown)}`);
          return;
        }
        const deliveryId = randomUUID();
        for (const target of targets) {
          const delivery: Delivery = {
            target,
            deliveryId,
            type: type as WebhookEventType,
            body,
            attempts: 0,
            abandoned: false,
          };
          if (inFlight.size < concurrency && ready.length === 0) {
            start(delivery);
          } else if (ready.length + backingOff.size < maxQueue) {
            ready.push(delivery);
          } else {
            report({ url: target.reportUrl, type, outcome: 'dropped', attempt: 0, error: 'queue full' });
          }
        }
      } catch {
        // notify never throws.
      }
    },

    close(closeTimeoutMs: number = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
      if (closed) return closed;
      closing = true;
      closed = new Promise<void>((resolve) => {
        if (isIdle()) {
          resolve();
          return;
        }
        const wait = Number.isFinite(closeTimeoutMs) ? Math.max(0, closeTimeoutMs) : DEFAULT_CLOSE_TIMEOUT_MS;
        // Not unref'd: close() is meant to wait; the timer is cleared as soon as the work drains.
        const timer = setTimeout(() => {
          idleWaiters.length = 0;
          abandonAll();
          resolve();
        }, wait);
        idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closed;
    },
  };
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function describeFetchError(thrown: unknown): string {
  const message = errorMessage(thrown);
  const cause = thrown instanceof Error ? thrown.cause : undefined;
  return cause === undefined ? message : `${message}: ${errorMessage(cause)}`;
}

function validateUrls(urls: unknown): Target[] {
  if (!Array.isArray(urls) || urls.length === 0) {
    throw new Error('webhook urls must be a non-empty list (use NO_NOTIFIER when no webhook is configured)');
  }
  return urls.map((raw: unknown, index) => {
    const label = `webhook URL #${index + 1}`;
    if (typeof raw !== 'string') throw new Error(`${label} must be a string`);
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`${label} is not a valid absolute URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`${label} must use http or https, not ${JSON.stringify(parsed.protocol)}`);
    }
    if (parsed.username || parsed.password) {
      throw new Error(`${label} must not carry credentials (the payload is authenticated by its signature)`);
    }
    return { url: parsed.href, reportUrl: `${parsed.origin}${parsed.pathname}` };
  });
}

function requireNumber(name: string, value: unknown, min: number, integer: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new Error(`webhook ${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}`);
  }
  return value;
}
