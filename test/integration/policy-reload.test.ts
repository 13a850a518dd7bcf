/**
 * Hot reload: a changed policy is compiled and swapped in; a broken one is reported and
 * never replaces the policy that works.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decideBody, startTestArbiter, uniqueSession, type TestArbiter } from '../support/arbiter.js';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'policies', 'echo');

const ALLOW_ALL_RULE = `package aarm.rules.extra

findings contains {"effect": "ALLOW", "policy_id": "extra", "reason": "extra rule"} if input.action.tool == "other"
`;

describe('policy reload', () => {
  let dir: string;
  let arbiter: TestArbiter;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-policy-test-'));
    cpSync(FIXTURE, dir, { recursive: true });
    arbiter = await startTestArbiter({ env: { ARBITER_POLICY_DIR: dir, ARBITER_POLICY_POLL_MS: '100' } });
  });
  after(async () => {
    await arbiter.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a broken policy file is reported and the good policy keeps serving', async () => {
    const good = (await arbiter.get('/v1/policy')).body;
    assert.match(good.hash, /^sha256:/);
    writeFileSync(join(dir, 'broken.rego'), 'package aarm.rules.broken\n\nfindings contains {"effect": "ALLOW" if {\n');
    const reload = await arbiter.post('/v1/policy/reload', undefined);
    assert.equal(reload.status, 422);
    assert.match(reload.body.error.message, /broken\.rego/);
    const status = (await arbiter.get('/v1/policy')).body;
    assert.equal(status.hash, good.hash, 'the broken policy did not replace the good one');
    assert.match(status.last_error.message, /broken\.rego/);
    const res = await arbiter.post('/v1/decide', decideBody(uniqueSession('still'), 'echo'));
    assert.equal(res.body.decision, 'ALLOW');
    assert.equal(res.body.policy.hash, good.hash);
    assert.equal((await arbiter.get('/readyz')).status, 200);
    rmSync(join(dir, 'broken.rego'));
  });

  test('a change on disk is picked up by the watcher without a restart', async () => {
    const before = (await arbiter.get('/v1/policy')).body.hash;
    const denied = await arbiter.post('/v1/decide', decideBody(uniqueSession('pre'), 'other'));
    assert.equal(denied.body.decision, 'DENY');
    writeFileSync(join(dir, 'extra.rego'), ALLOW_ALL_RULE);
    // Bounded wait for the watcher (polling every 100 ms); the assertion is on the outcome.
    let hash = before;
    for (let i = 0; i < 100 && hash === before; i++) {
      await sleep(100);
      hash = (await arbiter.get('/v1/policy')).body.hash;
    }
    assert.notEqual(hash, before, 'the watcher loaded the changed policy');
    const allowed = await arbiter.post('/v1/decide', decideBody(uniqueSession('post'), 'other'));
    assert.equal(allowed.body.decision, 'ALLOW');
    assert.equal(allowed.body.policy.hash, hash);
  });

  test('a policy that never compiled leaves the service unready and every decide 503 DENY', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'arbiter-policy-broken-'));
    writeFileSync(join(empty, 'bad.rego'), 'package aarm.rules.bad\n\nthis is not rego\n');
    const broken = await startTestArbiter({ env: { ARBITER_POLICY_DIR: empty } });
    try {
      const res = await broken.post('/v1/decide', decideBody(uniqueSession('nopolicy'), 'email.send'));
      assert.equal(res.status, 503);
      assert.equal(res.body.decision, 'DENY');
      assert.equal(res.body.error.code, 'policy_unavailable');
      assert.equal((await broken.get('/readyz')).status, 503);
    } finally {
      await broken.stop();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
