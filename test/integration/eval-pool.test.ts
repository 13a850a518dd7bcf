/**
 * Policy evaluation off the event loop (issue 11 item 4), with the real `opa build`, real
 * WASM in worker threads and a real HTTP server: an evaluation past its deadline is a
 * 503 DENY and its worker is replaced; so is a worker whose WASM ran out of memory; large
 * bodies being evaluated do not stop other decisions or /healthz from answering; and a
 * reload never splits a decision between two revisions.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decideBody, startTestArbiter, uniqueSession, type TestArbiter } from '../support/arbiter.js';

const ECHO = join(import.meta.dirname, '..', 'fixtures', 'policies', 'echo');

/**
 * `loop`: n² steps and no allocation to speak of, so it runs into the deadline, not into
 * the memory cap. `hog`: an array of n numbers, past the 256 MiB of WASM memory for large n.
 */
const HEAVY_RULES = `package aarm.rules.heavy

import rego.v1

findings contains {"effect": "ALLOW", "policy_id": "loop", "reason": sprintf("%d", [n])} if {
	input.action.tool == "loop"
	xs := numbers.range(1, input.action.parameters.n)
	n := count([1 | some a in xs; some b in xs; a == b])
}

findings contains {"effect": "ALLOW", "policy_id": "hog", "reason": "done"} if {
	input.action.tool == "hog"
	count(numbers.range(1, input.action.parameters.n)) > 0
}
`;

function policyDir(rules: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'arbiter-eval-pool-'));
  cpSync(ECHO, dir, { recursive: true });
  for (const [name, text] of Object.entries(rules)) writeFileSync(join(dir, name), text);
  return dir;
}

/**
 * Bounded wait until every evaluation worker is ready again (a replacement starts in the
 * background; run from source, each worker loads tsx first, which a busy machine slows).
 */
async function workersReady(arbiter: TestArbiter): Promise<{ ready: number; replaced: number }> {
  let evaluation = (await arbiter.get('/v1/policy')).body.evaluation;
  for (let i = 0; i < 600 && evaluation.ready < evaluation.workers; i++) {
    await sleep(50);
    evaluation = (await arbiter.get('/v1/policy')).body.evaluation;
  }
  assert.equal(evaluation.ready, evaluation.workers, 'the replacement worker started');
  return evaluation;
}

/** One evaluation worker on the echo policy with the heavy rules, and its deadline. */
async function startHeavy(timeoutMs: number): Promise<{ dir: string; arbiter: TestArbiter }> {
  const dir = policyDir({ 'heavy.rego': HEAVY_RULES });
  const arbiter = await startTestArbiter({
    env: { ARBITER_POLICY_DIR: dir, ARBITER_EVAL_WORKERS: '1', ARBITER_EVAL_TIMEOUT_MS: String(timeoutMs) },
  });
  return { dir, arbiter };
}

async function stopHeavy(dir: string, arbiter: TestArbiter): Promise<void> {
  await arbiter.stop();
  rmSync(dir, { recursive: true, force: true });
}

describe('one evaluation worker with a deadline', () => {
  let dir: string;
  let arbiter: TestArbiter;
  before(async () => {
    // One worker: the decision after a replacement necessarily runs on the new one.
    ({ dir, arbiter } = await startHeavy(1000));
  });
  after(() => stopHeavy(dir, arbiter));

  test('an evaluation past the deadline is 503 DENY policy_timeout, and the next one runs on a fresh worker', async () => {
    const before = await workersReady(arbiter);
    const session = uniqueSession('deadline');
    // 10^10 steps: far beyond any deadline.
    const stuck = await arbiter.post('/v1/decide', decideBody(session, 'loop', { n: 100_000 }));
    assert.equal(stuck.status, 503);
    assert.equal(stuck.body.decision, 'DENY');
    assert.equal(stuck.body.error.code, 'policy_timeout');
    const after = await workersReady(arbiter);
    assert.equal(after.replaced, before.replaced + 1, 'the stuck worker was replaced');
    // The operator sees it: the replacement by reason, the pool's state, and a ready replica.
    const metrics = (await arbiter.get('/metrics')).body as string;
    assert.match(metrics, /^arbiter_eval_workers_replaced_total\{reason="timeout"\} 1$/m);
    assert.match(metrics, /^arbiter_eval_workers\{state="configured"\} 1$/m);
    assert.match(metrics, /^arbiter_eval_workers\{state="ready"\} 1$/m);
    assert.match(metrics, /^arbiter_eval_queued 0$/m);
    const ready = await arbiter.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks.evaluation, true);
    const next = await arbiter.post('/v1/decide', decideBody(session, 'echo'));
    assert.equal(next.status, 200);
    assert.equal(next.body.decision, 'ALLOW');
    // The timed-out decision left nothing in the session: the echo is its first action.
    assert.equal(next.body.reasons[0].reason, 'action_count=0 tools_used=0');
    const small = await arbiter.post('/v1/decide', decideBody(session, 'loop', { n: 10 }));
    assert.equal(small.body.decision, 'ALLOW', 'the same rule within the deadline still answers');
    assert.equal(small.body.reasons[0].reason, '10');
  });
});

describe('a pool whose wait queue is full', () => {
  let dir: string;
  let arbiter: TestArbiter;
  before(async () => {
    ({ dir, arbiter } = await startHeavy(5000));
  });
  after(() => stopHeavy(dir, arbiter));

  test('is not ready while no evaluation can wait, refuses the surplus as 503 DENY, and is ready again', async () => {
    const { queue_max: queueMax } = (await arbiter.get('/v1/policy')).body.evaluation;
    // One stuck evaluation holds the only worker; queue_max more wait; one more is refused.
    const answers = Array.from({ length: queueMax + 2 }, (_, i) =>
      arbiter.post('/v1/decide', decideBody(uniqueSession(`full-${i}`), 'loop', { n: 100_000 })),
    );
    let readiness = await arbiter.get('/readyz');
    for (let i = 0; i < 200 && readiness.body.checks.evaluation !== false; i++) {
      await sleep(10);
      readiness = await arbiter.get('/readyz');
    }
    assert.equal(readiness.status, 503, 'a full queue takes the replica out of the load balancer');
    assert.equal(readiness.body.checks.evaluation, false);
    const settled = await Promise.all(answers);
    assert.ok(
      settled.every((a) => a.status === 503 && a.body.decision === 'DENY'),
      'every one is a 503 DENY',
    );
    assert.ok(
      settled.some((a) => a.body.error.code === 'policy_busy'),
      'the surplus is refused at once as policy_busy',
    );
    await workersReady(arbiter);
    assert.equal((await arbiter.get('/readyz')).status, 200, 'ready again once the queue drains');
  });
});

describe('an evaluation worker that runs out of memory', () => {
  let dir: string;
  let arbiter: TestArbiter;
  before(async () => {
    // A deadline far beyond the allocation, so this is the crash, not the timeout.
    ({ dir, arbiter } = await startHeavy(60000));
  });
  after(() => stopHeavy(dir, arbiter));

  test('is 503 DENY policy_unavailable, is replaced, and the next decision succeeds', async () => {
    const before = await workersReady(arbiter);
    const session = uniqueSession('oom');
    const crashed = await arbiter.post('/v1/decide', decideBody(session, 'hog', { n: 20_000_000 }));
    assert.equal(crashed.status, 503);
    assert.equal(crashed.body.decision, 'DENY');
    assert.equal(crashed.body.error.code, 'policy_unavailable');
    const after = await workersReady(arbiter);
    assert.equal(after.replaced, before.replaced + 1, 'the worker whose WASM ran out of memory was replaced');
    const next = await arbiter.post('/v1/decide', decideBody(session, 'echo'));
    assert.equal(next.status, 200);
    assert.equal(next.body.decision, 'ALLOW');
    assert.equal(next.body.reasons[0].reason, 'action_count=0 tools_used=0');
  });
});

describe('large bodies on the shipped policy', () => {
  let arbiter: TestArbiter;
  before(async () => {
    arbiter = await startTestArbiter();
  });
  after(async () => {
    await arbiter.stop();
  });

  test('while one client sends 250 KB bodies, other decisions and /healthz keep answering correctly', async () => {
    // About 250 KB: thousands of recipients, as the request that held the event loop had.
    const recipients = Array.from({ length: 9000 }, (_, i) => `person${i}@example.com`);
    const large = decideBody(uniqueSession('large'), 'email.send', {
      to: recipients.join(','),
      subject: 'quarterly',
      body: 'x'.repeat(20_000),
    });
    assert.ok(JSON.stringify(large).length > 200_000);
    let stop = false;
    const largeAnswers: number[] = [];
    const flood = (async () => {
      while (!stop) {
        const res = await arbiter.post('/v1/decide', { ...large, session: { id: uniqueSession('large') } });
        // Whatever the policy makes of it, it is a decision or a 503 DENY, never a hang or a 500.
        assert.ok(res.status === 200 || (res.status === 503 && res.body.decision === 'DENY'), `status ${res.status}`);
        largeAnswers.push(res.status);
      }
    })();
    try {
      const session = uniqueSession('small');
      for (let i = 0; i < 20; i++) {
        const health = await arbiter.get('/healthz');
        assert.equal(health.status, 200);
        assert.deepEqual(health.body, { status: 'ok' });
        const res = await arbiter.post(
          '/v1/decide',
          decideBody(session, 'files.read', { path: `/data/${i}.csv` }, { intent: 'summarise the quarterly files' }),
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.decision, 'ALLOW');
        assert.match(res.body.receipt.hash, /^sha256:/);
      }
    } finally {
      stop = true;
      await flood;
    }
    assert.ok(largeAnswers.length > 0, 'the large bodies were being evaluated meanwhile');
  });
});

describe('reloads while deciding', () => {
  let dir: string;
  let arbiter: TestArbiter;
  const rule = (label: string) => `package aarm.rules.revision

import rego.v1

findings contains {"effect": "ALLOW", "policy_id": "${label}", "reason": "${label}"} if input.action.tool == "rev"
`;
  before(async () => {
    dir = policyDir({ 'revision.rego': rule('rev-0') });
    arbiter = await startTestArbiter({ env: { ARBITER_POLICY_DIR: dir } });
  });
  after(async () => {
    await arbiter.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each decision is evaluated by one revision, the one its answer and receipt name', async () => {
    const answers: Array<{ revision: string; label: string; receipt: string }> = [];
    let stop = false;
    const deciding = Promise.all(
      [0, 1, 2, 3].map(async (c) => {
        const session = uniqueSession(`rev-${c}`);
        while (!stop) {
          const res = await arbiter.post('/v1/decide', decideBody(session, 'rev'));
          assert.equal(res.status, 200, JSON.stringify(res.body));
          answers.push({
            revision: res.body.policy.revision,
            label: res.body.reasons[0].policy_id,
            receipt: res.body.receipt.id,
          });
        }
      }),
    );
    const loaded: string[] = [(await arbiter.get('/v1/policy')).body.revision];
    try {
      for (let i = 1; i <= 4; i++) {
        writeFileSync(join(dir, 'revision.rego'), rule(`rev-${i}`));
        const reload = await arbiter.post('/v1/policy/reload', undefined);
        assert.equal(reload.body.outcome, 'loaded');
        loaded.push(reload.body.revision);
        // Some decisions on each revision before the next reload.
        const seen = answers.length;
        for (let j = 0; j < 200 && answers.length < seen + 8; j++) await sleep(10);
      }
    } finally {
      stop = true;
      await deciding;
    }
    const labelOf = new Map<string, Set<string>>();
    for (const a of answers) labelOf.set(a.revision, (labelOf.get(a.revision) ?? new Set()).add(a.label));
    for (const [revision, labels] of labelOf) {
      assert.equal(labels.size, 1, `revision ${revision} answered as ${[...labels].join(' and ')}`);
      assert.equal([...labels][0], `rev-${loaded.indexOf(revision)}`, `revision ${revision} is the one loaded`);
    }
    assert.ok(labelOf.size >= 3, `decisions saw ${labelOf.size} revisions`);
    // The receipt records the same revision and the same reasons as the answer.
    for (const a of answers.filter((_, i) => i % 10 === 0)) {
      const receipt = (await arbiter.get(`/v1/receipts/${a.receipt}`)).body;
      assert.equal(receipt.policy.revision, a.revision);
      assert.equal(receipt.reasons[0].policy_id, a.label);
    }
  });
});
