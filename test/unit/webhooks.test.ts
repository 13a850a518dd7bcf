import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import {
  NO_NOTIFIER,
  createWebhookNotifier,
  retryDelayMs,
  signWebhook,
  verifyWebhookSignature,
  type WebhookEvent,
  type WebhookOptions,
  type WebhookResult,
} from '../../services/decision/src/notify/webhooks.js';

const SECRET = 'whsec-test-0123456789abcdef';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
}

/** A real HTTP receiver on 127.0.0.1:0; `respond` decides the answer for the n-th request (0-based). */
async function startReceiver(t: TestContext, respond: (res: ServerResponse, index: number) => void) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = verifyWebhookSignature(
        SECRET,
        String(req.headers['x-arbiter-timestamp']),
        body,
        String(req.headers['x-arbiter-signature']),
        300,
        new Date(),
      );
      received.push({ headers: req.headers, body, verified });
      respond(res, received.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${port}/hook`, received };
}

function answer(status: number, headers: Record<string, string> = {}) {
  return (res: ServerResponse) => {
    res.writeHead(status, headers);
    res.end('{}');
  };
}

function event(id = 'apr_1', overrides: Partial<WebhookEvent> = {}): WebhookEvent {
  return {
    type: 'approval.requested',
    id,
    tenant: 'acme',
    occurred_at: '2025-01-02T03:04:05.000Z',
    data: { tool: 'email.send', reason: 'needs a human' },
    ...overrides,
  };
}

function notifierFor(urls: string[], overrides: Partial<WebhookOptions> = {}) {
  const results: WebhookResult[] = [];
  const notifier = createWebhookNotifier({
    urls,
    secret: SECRET,
    timeoutMs: 2_000,
    maxAttempts: 3,
    baseDelayMs: 5,
    maxDelayMs: 20,
    maxQueue: 100,
    onResult: (result) => results.push(result),
    ...overrides,
  });
  return { notifier, results };
}

async function until(condition: () => boolean, what: string, limitMs = 5_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const outcomes = (results: WebhookResult[]) => results.map((r) => `${r.outcome}@${r.attempt}`);

test('signWebhook is sha256=<hex> of HMAC over `${timestamp}.${body}` and verifies', () => {
  const now = new Date('2025-01-02T03:04:05Z');
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const body = '{"a":1}';
  const signature = signWebhook(SECRET, timestamp, body);
  assert.match(signature, /^sha256=[0-9a-f]{64}$/);
  assert.equal(verifyWebhookSignature(SECRET, timestamp, body, signature, 300, now), true);
  assert.equal(
    verifyWebhookSignature(SECRET, timestamp, body, signature.toUpperCase().replace('SHA256=', 'sha256='), 300, now),
    true,
  );
});

test('a tampered body, another secret, an old or future timestamp, or a malformed signature fails', () => {
  const now = new Date('2025-01-02T03:04:05Z');
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const body = '{"a":1}';
  const signature = signWebhook(SECRET, timestamp, body);
  assert.equal(verifyWebhookSignature(SECRET, timestamp, '{"a":2}', signature, 300, now), false);
  assert.equal(verifyWebhookSignature('other-secret', timestamp, body, signature, 300, now), false);
  // The timestamp is inside the MAC: moving it breaks the signature even within tolerance.
  assert.equal(verifyWebhookSignature(SECRET, String(Number(timestamp) - 1), body, signature, 300, now), false);

  const old = String(Number(timestamp) - 301);
  assert.equal(verifyWebhookSignature(SECRET, old, body, signWebhook(SECRET, old, body), 300, now), false);
  const future = String(Number(timestamp) + 301);
  assert.equal(verifyWebhookSignature(SECRET, future, body, signWebhook(SECRET, future, body), 300, now), false);
  const recent = String(Number(timestamp) - 299);
  assert.equal(verifyWebhookSignature(SECRET, recent, body, signWebhook(SECRET, recent, body), 300, now), true);

  for (const bad of [
    '',
    'sha256=',
    'sha256=abc',
    signature.slice(7),
    `sha1=${signature.slice(7)}`,
    `${signature}00`,
    `sha256=${'z'.repeat(64)}`,
  ]) {
    assert.equal(verifyWebhookSignature(SECRET, timestamp, body, bad, 300, now), false, bad);
  }
  for (const badTimestamp of ['', 'abc', '1.5', '-1', `${timestamp} `]) {
    assert.equal(
      verifyWebhookSignature(SECRET, badTimestamp, body, signWebhook(SECRET, badTimestamp, body), 300, now),
      false,
      badTimestamp,
    );
  }
});

test('delivered with the documented headers and a signature the receiver verifies', async (t) => {
  const receiver = await startReceiver(t, answer(204));
  const fixed = new Date();
  const { notifier, results } = notifierFor([receiver.url], { now: () => fixed });
  const sent = event('apr_42');
  const returned = notifier.notify(sent);
  assert.equal(returned, undefined);
  await notifier.close(5_000);

  assert.equal(receiver.received.length, 1);
  const [request] = receiver.received;
  assert.ok(request);
  assert.equal(request.verified, true);
  assert.deepEqual(JSON.parse(request.body), sent);
  assert.equal(request.headers['content-type'], 'application/json');
  assert.equal(request.headers['x-arbiter-event'], 'approval.requested');
  assert.equal(request.headers['x-arbiter-timestamp'], String(Math.floor(fixed.getTime() / 1000)));
  assert.match(String(request.headers['x-arbiter-delivery']), /^[0-9a-f-]{36}$/);
  assert.equal(
    request.headers['x-arbiter-signature'],
    signWebhook(SECRET, String(request.headers['x-arbiter-timestamp']), request.body),
  );
  assert.deepEqual(results, [
    { url: receiver.url, type: 'approval.requested', outcome: 'delivered', attempt: 1, status: 204 },
  ]);
  // The secret never leaves the process except as a MAC.
  assert.ok(!JSON.stringify(results).includes(SECRET));
  assert.ok(!JSON.stringify(request.headers).includes(SECRET));
});

test('only the event fields are sent, and later changes to the caller’s object are not', async (t) => {
  const receiver = await startReceiver(t, answer(200));
  const { notifier } = notifierFor([receiver.url]);
  const sent = { ...event('def_1', { type: 'deferral.requested' }), extra: 'not for the wire' } as WebhookEvent;
  notifier.notify(sent);
  sent.data.tool = 'changed after notify';
  await notifier.close(5_000);
  const body = JSON.parse(receiver.received[0]?.body ?? '{}') as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['data', 'id', 'occurred_at', 'tenant', 'type']);
  assert.deepEqual(body.data, { tool: 'email.send', reason: 'needs a human' });
});

test('retried after 500s, then delivered, with the same delivery id on every attempt', async (t) => {
  const receiver = await startReceiver(t, (res, index) => answer(index < 2 ? 500 : 200)(res));
  const { notifier, results } = notifierFor([receiver.url], { maxAttempts: 5 });
  notifier.notify(event());
  await notifier.close(5_000);

  assert.equal(receiver.received.length, 3);
  assert.deepEqual(outcomes(results), ['retry@1', 'retry@2', 'delivered@3']);
  assert.deepEqual(
    results.map((r) => r.status),
    [500, 500, 200],
  );
  const ids = new Set(receiver.received.map((r) => r.headers['x-arbiter-delivery']));
  assert.equal(ids.size, 1);
  assert.ok(receiver.received.every((r) => r.verified));
  assert.ok(receiver.received.every((r) => r.body === receiver.received[0]?.body));
});

test('a 400 is a permanent failure after exactly one attempt', async (t) => {
  const receiver = await startReceiver(t, answer(400));
  const { notifier, results } = notifierFor([receiver.url], { maxAttempts: 5 });
  notifier.notify(event());
  await notifier.close(5_000);
  assert.equal(receiver.received.length, 1);
  assert.deepEqual(outcomes(results), ['failed@1']);
  assert.equal(results[0]?.status, 400);
});

test('408 and 429 are retried, other 4xx are not', async (t) => {
  const statuses = [408, 429, 404];
  const receiver = await startReceiver(t, (res, index) => answer(statuses[index] ?? 200)(res));
  const { notifier, results } = notifierFor([receiver.url], { maxAttempts: 5, concurrency: 1 });
  notifier.notify(event());
  await notifier.close(5_000);
  assert.deepEqual(outcomes(results), ['retry@1', 'retry@2', 'failed@3']);
  assert.deepEqual(
    results.map((r) => r.status),
    [408, 429, 404],
  );
});

test('a receiver that never answers times out, is retried, then fails after maxAttempts', async (t) => {
  const receiver = await startReceiver(t, () => {
    // never answer
  });
  const { notifier, results } = notifierFor([receiver.url], { timeoutMs: 100, maxAttempts: 3 });
  notifier.notify(event());
  await notifier.close(5_000);
  assert.equal(receiver.received.length, 3);
  assert.deepEqual(outcomes(results), ['retry@1', 'retry@2', 'failed@3']);
  assert.ok(results.every((r) => r.status === undefined && /timed out/.test(r.error ?? '')));
  assert.equal(new Set(receiver.received.map((r) => r.headers['x-arbiter-delivery'])).size, 1);
});

test('network errors are retried then fail', async () => {
  // Port 1 on loopback: nothing listens there.
  const { notifier, results } = notifierFor(['http://127.0.0.1:1/hook'], { maxAttempts: 2 });
  notifier.notify(event());
  await notifier.close(5_000);
  assert.deepEqual(outcomes(results), ['retry@1', 'failed@2']);
  assert.ok(results.every((r) => r.status === undefined && typeof r.error === 'string'));
});

test('429 Retry-After is honoured instead of the exponential backoff', async (t) => {
  // Backoff alone would wait up to a minute (the test would time out); Retry-After: 0 retries at once.
  const receiver = await startReceiver(t, (res, index) => answer(index === 0 ? 429 : 200, { 'retry-after': '0' })(res));
  const { notifier, results } = notifierFor([receiver.url], { baseDelayMs: 60_000, maxDelayMs: 60_000 });
  notifier.notify(event());
  await until(() => results.length === 2, 'the retry');
  assert.deepEqual(outcomes(results), ['retry@1', 'delivered@2']);
  assert.deepEqual(
    results.map((r) => r.status),
    [429, 200],
  );
  await notifier.close(1_000);
});

test('Retry-After beyond maxDelayMs is capped at maxDelayMs', async (t) => {
  const receiver = await startReceiver(t, (res, index) =>
    answer(index === 0 ? 503 : 200, { 'retry-after': '3600' })(res),
  );
  const { notifier, results } = notifierFor([receiver.url], { baseDelayMs: 5, maxDelayMs: 20 });
  notifier.notify(event());
  await notifier.close(5_000);
  assert.deepEqual(outcomes(results), ['retry@1', 'delivered@2']);
  assert.deepEqual(
    results.map((r) => r.status),
    [503, 200],
  );
});

test('retryDelayMs: full jitter under the cap, Retry-After on 429/503 only, capped', () => {
  const base = { baseDelayMs: 10, maxDelayMs: 1_000 };
  assert.equal(retryDelayMs({ ...base, attempt: 1, random: () => 0.999999 }), 10);
  assert.equal(retryDelayMs({ ...base, attempt: 3, random: () => 0.5 }), 20);
  assert.equal(retryDelayMs({ ...base, attempt: 3, random: () => 0 }), 0);
  assert.equal(retryDelayMs({ ...base, attempt: 40, random: () => 0.999999 }), 1_000);
  assert.equal(retryDelayMs({ ...base, attempt: 1, status: 429, retryAfter: '0', random: () => 0.9 }), 0);
  assert.equal(retryDelayMs({ ...base, attempt: 1, status: 503, retryAfter: ' 2 ', random: () => 0 }), 1_000);
  assert.equal(
    retryDelayMs({ ...base, maxDelayMs: 5_000, attempt: 1, status: 429, retryAfter: '2', random: () => 0 }),
    2_000,
  );
  assert.equal(retryDelayMs({ ...base, attempt: 1, status: 500, retryAfter: '0', random: () => 0.999999 }), 10);
  assert.equal(retryDelayMs({ ...base, attempt: 1, status: 429, retryAfter: 'soon', random: () => 0.999999 }), 10);
  const nowMs = Date.parse('2025-01-02T03:04:05Z');
  assert.equal(
    retryDelayMs({ ...base, attempt: 1, status: 429, retryAfter: 'Thu, 02 Jan 2025 03:04:05 GMT', nowMs }),
    0,
  );
  assert.equal(
    retryDelayMs({ ...base, attempt: 1, status: 429, retryAfter: 'Thu, 02 Jan 2025 03:04:05 GMT', nowMs: nowMs - 500 }),
    500,
  );
});

test('beyond maxQueue new deliveries are dropped and reported', async (t) => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const receiver = await startReceiver(t, (res) => void gate.then(() => answer(200)(res)));
  const { notifier, results } = notifierFor([receiver.url], { concurrency: 1, maxQueue: 2 });
  for (let i = 1; i <= 5; i += 1) notifier.notify(event(`apr_${i}`));
  // One in flight, two waiting, two dropped at once.
  assert.deepEqual(outcomes(results), ['dropped@0', 'dropped@0']);
  await until(() => receiver.received.length === 1, 'the first request');
  release();
  await notifier.close(5_000);
  assert.deepEqual(outcomes(results), ['dropped@0', 'dropped@0', 'delivered@1', 'delivered@1', 'delivered@1']);
  assert.deepEqual(
    receiver.received.map((r) => (JSON.parse(r.body) as WebhookEvent).id),
    ['apr_1', 'apr_2', 'apr_3'],
  );
});

test('concurrency bounds the requests in flight', async (t) => {
  let inFlight = 0;
  let peak = 0;
  const receiver = await startReceiver(t, (res) => {
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    setTimeout(() => {
      inFlight -= 1;
      answer(200)(res);
    }, 20);
  });
  const { notifier, results } = notifierFor([receiver.url], { concurrency: 2 });
  for (let i = 0; i < 6; i += 1) notifier.notify(event(`apr_${i}`));
  await notifier.close(5_000);
  assert.equal(results.filter((r) => r.outcome === 'delivered').length, 6);
  assert.ok(peak <= 2, `peak ${peak}`);
});

test('every URL receives each event, with one delivery id', async (t) => {
  const first = await startReceiver(t, answer(200));
  const second = await startReceiver(t, answer(202));
  const { notifier, results } = notifierFor([first.url, second.url]);
  notifier.notify(event('apr_7'));
  await notifier.close(5_000);
  assert.equal(first.received.length, 1);
  assert.equal(second.received.length, 1);
  assert.ok(first.received[0]?.verified && second.received[0]?.verified);
  assert.equal(first.received[0]?.headers['x-arbiter-delivery'], second.received[0]?.headers['x-arbiter-delivery']);
  assert.deepEqual(
    results.map((r) => [r.url, r.outcome, r.status]).sort(),
    [
      [first.url, 'delivered', 200],
      [second.url, 'delivered', 202],
    ].sort(),
  );
});

test('distinct events get distinct delivery ids', async (t) => {
  const receiver = await startReceiver(t, answer(200));
  const { notifier } = notifierFor([receiver.url]);
  notifier.notify(event('apr_1'));
  notifier.notify(event('apr_2', { type: 'approval.resolved' }));
  await notifier.close(5_000);
  assert.equal(new Set(receiver.received.map((r) => r.headers['x-arbiter-delivery'])).size, 2);
  assert.deepEqual(receiver.received.map((r) => r.headers['x-arbiter-event']).sort(), [
    'approval.requested',
    'approval.resolved',
  ]);
});

test('close() waits for an in-flight delivery', async (t) => {
  const receiver = await startReceiver(t, (res) => setTimeout(() => answer(200)(res), 100));
  const { notifier, results } = notifierFor([receiver.url]);
  notifier.notify(event());
  await notifier.close(5_000);
  assert.equal(receiver.received.length, 1);
  assert.deepEqual(outcomes(results), ['delivered@1']);
});

test('close() abandons what is left at its timeout and reports it dropped; later events are dropped', async (t) => {
  const receiver = await startReceiver(t, () => {
    // never answer
  });
  const { notifier, results } = notifierFor([receiver.url], { concurrency: 1, timeoutMs: 30_000 });
  notifier.notify(event('apr_1'));
  notifier.notify(event('apr_2'));
  await until(() => receiver.received.length === 1, 'the first request');
  await notifier.close(50);
  assert.deepEqual(outcomes(results), ['dropped@1', 'dropped@0']);
  notifier.notify(event('apr_3'));
  assert.deepEqual(outcomes(results), ['dropped@1', 'dropped@0', 'dropped@0']);
  assert.equal(results[2]?.error, 'notifier is closed');
  assert.equal(receiver.received.length, 1);
  // A second close is harmless.
  await notifier.close(10);
});

test('notify never throws: bad events are reported failed, a throwing onResult is ignored', async (t) => {
  const receiver = await startReceiver(t, answer(200));
  const { notifier, results } = notifierFor([receiver.url]);
  assert.doesNotThrow(() => notifier.notify(event('apr_1', { data: { n: 1n } })));
  assert.doesNotThrow(() => notifier.notify({ ...event(), type: 'bogus\r\nx: y' } as unknown as WebhookEvent));
  assert.doesNotThrow(() => notifier.notify(null as unknown as WebhookEvent));
  assert.deepEqual(outcomes(results), ['failed@0', 'failed@0', 'failed@0']);

  const throwing = createWebhookNotifier({
    urls: [receiver.url],
    secret: SECRET,
    timeoutMs: 2_000,
    maxAttempts: 1,
    baseDelayMs: 5,
    maxDelayMs: 20,
    maxQueue: 10,
    onResult: () => {
      throw new Error('metrics broke');
    },
  });
  assert.doesNotThrow(() => throwing.notify(event('apr_2')));
  await throwing.close(5_000);
  await notifier.close(5_000);
  assert.equal(receiver.received.length, 1);
});

test('construction validates URLs and options without echoing the secret', () => {
  const base: WebhookOptions = {
    urls: ['https://hooks.example/a'],
    secret: SECRET,
    timeoutMs: 1_000,
    maxAttempts: 3,
    baseDelayMs: 5,
    maxDelayMs: 20,
    maxQueue: 10,
  };
  assert.doesNotThrow(() => createWebhookNotifier(base));
  const bad: Array<[Partial<WebhookOptions>, RegExp]> = [
    [{ urls: ['ftp://hooks.example/a'] }, /must use http or https/],
    [{ urls: ['file:///etc/passwd'] }, /must use http or https/],
    [{ urls: ['not a url'] }, /not a valid absolute URL/],
    [{ urls: ['https://user:pw@hooks.example/a'] }, /must not carry credentials/],
    [{ urls: [] }, /non-empty list/],
    [{ secret: '' }, /secret must be a non-empty string/],
    [{ maxAttempts: 0 }, /maxAttempts/],
    [{ maxAttempts: 1.5 }, /maxAttempts/],
    [{ timeoutMs: 0 }, /timeoutMs/],
    [{ maxQueue: -1 }, /maxQueue/],
    [{ concurrency: 0 }, /concurrency/],
    [{ baseDelayMs: Number.NaN }, /baseDelayMs/],
  ];
  for (const [overrides, message] of bad) {
    assert.throws(
      () => createWebhookNotifier({ ...base, ...overrides }),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, message);
        assert.ok(!error.message.includes(SECRET));
        return true;
      },
    );
  }
});

test('reported URLs carry no query string', async (t) => {
  const receiver = await startReceiver(t, answer(200));
  const { notifier, results } = notifierFor([`${receiver.url}?token=abc`]);
  notifier.notify(event());
  await notifier.close(5_000);
  assert.equal(results[0]?.url, receiver.url);
  assert.equal(receiver.received.length, 1);
});

test('NO_NOTIFIER does nothing', async () => {
  assert.equal(NO_NOTIFIER.notify(event()), undefined);
  await NO_NOTIFIER.close();
  await NO_NOTIFIER.close(0);
  assert.ok(Object.isFrozen(NO_NOTIFIER));
});
