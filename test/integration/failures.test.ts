/**
 * Every way a decide can fail ends in a non-ALLOW: bad input (400/413/415), and a context
 * store that cannot serve (503 with "decision": "DENY").
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { decideBody, startTestArbiter, uniqueSession, type TestArbiter } from '../support/arbiter.js';
import { freePort } from '../support/process.js';

describe('invalid input is refused, never allowed', () => {
  let arbiter: TestArbiter;
  before(async () => {
    arbiter = await startTestArbiter({ env: { ARBITER_MAX_BODY_BYTES: '4096' } });
  });
  after(() => arbiter.stop());

  const cases: Array<[string, unknown, string]> = [
    ['a missing tool', { action: { parameters: {} }, session: { id: 's' }, identity: { agent: 'a' } }, 'action.tool'],
    ['a missing session', { action: { tool: 'email.send' }, identity: { agent: 'a' } }, 'session'],
    [
      'parameters that are not an object',
      { action: { tool: 'email.send', parameters: [1] }, session: { id: 's' } },
      'action.parameters',
    ],
    ['a tool name with spaces', { action: { tool: 'email send' }, session: { id: 's' } }, 'action.tool'],
    ['a session id that is too long', { action: { tool: 'x' }, session: { id: 'x'.repeat(200) } }, 'session.id'],
    ['a body that is not an object', [1, 2], '(body)'],
  ];
  for (const [name, body, field] of cases) {
    test(`${name} gets 400 naming ${field}`, async () => {
      const res = await arbiter.post('/v1/decide', body);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'invalid_request');
      assert.equal(res.body.decision, 'DENY');
      if (field !== '(body)') assert.match(res.body.error.message, new RegExp(`^${field.replace('.', '\\.')}`));
    });
  }

  test('JSON nested beyond the bound gets 400', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const res = await arbiter.post('/v1/decide', decideBody('s', 'email.send', { deep }));
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /nested deeper/);
  });

  test('a body that is not JSON gets 400', async () => {
    const res = await arbiter.post('/v1/decide', '{"action": ');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_json');
    assert.equal(res.body.decision, 'DENY');
  });

  test('a body over the limit gets 413', async () => {
    const res = await arbiter.post('/v1/decide', decideBody('s', 'email.send', { body: 'x'.repeat(8000) }));
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'payload_too_large');
    assert.equal(res.body.decision, 'DENY');
  });

  test('a body that is not declared as JSON gets 415', async () => {
    const res = await fetch(`${arbiter.url}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(decideBody('s', 'email.send')),
    });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as { decision: string }).decision, 'DENY');
  });

  test('unknown routes and ids get 404', async () => {
    assert.equal((await arbiter.get('/v1/nothing')).status, 404);
    assert.equal((await arbiter.get('/v1/receipts/rcpt_nope')).status, 404);
    assert.equal(
      (await arbiter.get('/v1/approvals/apr_00000000000000000000000000000000_00000000000000000000')).status,
      404,
    );
  });
});

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) resolve();
    });
  });
  return child;
}

describe('a context store that cannot serve means 503 DENY', () => {
  test('Redis unreachable from the start: decide is 503 DENY and /readyz is 503', async () => {
    const arbiter = await startTestArbiter({ store: 'redis', redisUrl: `redis://127.0.0.1:${await freePort()}` });
    try {
      const res = await arbiter.post('/v1/decide', decideBody(uniqueSession('down'), 'email.send'));
      assert.equal(res.status, 503);
      assert.equal(res.body.decision, 'DENY');
      assert.equal(res.body.error.code, 'store_unavailable');
      assert.equal((await arbiter.get('/readyz')).status, 503);
      assert.equal((await arbiter.get('/healthz')).status, 200);
    } finally {
      await arbiter.stop();
    }
  });

  test('Redis killed while serving: the next decide is 503 DENY, never the last answer', async () => {
    const port = await freePort();
    const redis = await startRedis(port);
    const arbiter = await startTestArbiter({ store: 'redis', redisUrl: `redis://127.0.0.1:${port}` });
    try {
      const session = uniqueSession('killed');
      const ok = await arbiter.post('/v1/decide', decideBody(session, 'email.send'));
      assert.equal(ok.body.decision, 'ALLOW');
      assert.equal((await arbiter.get('/readyz')).status, 200);
      redis.kill('SIGKILL');
      await new Promise((resolve) => redis.once('exit', resolve));
      const res = await arbiter.post('/v1/decide', decideBody(session, 'email.send'));
      assert.equal(res.status, 503);
      assert.equal(res.body.decision, 'DENY');
    } finally {
      redis.kill('SIGKILL');
      await arbiter.stop();
    }
  });
});
