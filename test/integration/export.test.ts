/**
 * Receipts are never lost (AARM R5/R8): every receipt reaches a real OTLP/HTTP receiver run
 * by the test, through a collector outage, through a SIGKILL of the service after it
 * answered, and with several replicas sharing the outbox.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyCheckpoint } from '../../services/decision/src/receipts/checkpoint.js';
import { exportKeyPairPem, generateSigningKey, publicKeysFromJwks } from '../../services/decision/src/receipts/keys.js';
import { verifyReceipts } from '../../services/decision/src/receipts/verify.js';
import {
  decideBody,
  deleteKeys,
  startTestArbiter,
  TEST_REDIS_URL,
  uniqueSession,
  type StoreKind,
  type TestArbiter,
} from '../support/arbiter.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedLog } from '../support/otlp-receiver.js';
import { postDecide as post, spawnArbiter } from '../support/process.js';

const FLOWS = join(import.meta.dirname, '..', 'fixtures', 'policies', 'flows');

function receiptIds(logs: ReceivedLog[]): string[] {
  return logs.filter((l) => l.eventName !== 'aarm.checkpoint').map((l) => String(l.attributes['aarm.receipt_id']));
}

/** Bounded wait until the receiver holds every id in `ids` (the assertion follows, on content). */
async function waitFor(receiver: OtlpReceiver, ids: string[], seconds = 30): Promise<void> {
  for (let i = 0; i < seconds * 10; i++) {
    const got = new Set(receiptIds(receiver.records()));
    if (ids.every((id) => got.has(id))) return;
    await sleep(100);
  }
}

for (const store of ['memory', 'redis'] as StoreKind[]) {
  describe(`receipt export on the ${store} store`, () => {
    let receiver: OtlpReceiver;
    let arbiter: TestArbiter;
    before(async () => {
      receiver = await startOtlpReceiver();
      arbiter = await startTestArbiter({
        store,
        env: {
          OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json',
          ARBITER_EXPORT_TIMEOUT_MS: '500',
        },
      });
    });
    after(async () => {
      await arbiter.stop();
      await receiver.close();
    });

    test('every decision type, approval, deferral and outcome arrives as its event, with a checkpoint', async () => {
      const session = uniqueSession('kinds');
      const ids: string[] = [];
      const decide = async (tool: string, parameters: Record<string, unknown>) => {
        const r = (await arbiter.post('/v1/decide', decideBody(session, tool, parameters))).body;
        ids.push(r.receipt.id);
        return r;
      };
      await decide('files.read', { path: '/a' });
      await decide('db.drop', { database: 'production' });
      const modified = await decide('db.query', { sql: 'select 1', limit: 5000 });
      const stepUp = await decide('payments.transfer', { amount: 5000 });
      const deferred = await decide('credentials.rotate', { name: 'db' });
      ids.push(
        (await arbiter.post(`/v1/approvals/${stepUp.approval.id}`, { decision: 'deny', approver: 'carol' })).body.final
          .receipt_id,
      );
      ids.push(
        (await arbiter.post(`/v1/deferrals/${deferred.deferral.id}/resolve`, { context: { maintenance_window: true } }))
          .body.final.receipt_id,
      );
      ids.push(
        (await arbiter.post(`/v1/actions/${modified.action_id}/outcome`, { status: 'success' })).body.receipt.id,
      );
      await waitFor(receiver, ids);
      const logs = receiver.records().filter((l) => ids.includes(String(l.attributes['aarm.receipt_id'])));
      assert.deepEqual(logs.map((l) => `${l.eventName}:${l.attributes['aarm.decision']}`).sort(), [
        'aarm.approval:DENY',
        'aarm.decision:ALLOW',
        'aarm.decision:DEFER',
        'aarm.decision:DENY',
        'aarm.decision:MODIFY',
        'aarm.decision:STEP_UP',
        'aarm.deferral:ALLOW',
        'aarm.outcome:MODIFY',
      ]);
      for (const l of logs) {
        assert.ok(!JSON.stringify(l.attributes).includes('select 1'), 'no parameter values in attributes');
        assert.equal(l.attributes['aarm.session_id'], session);
      }
      const keys = publicKeysFromJwks((await arbiter.get('/v1/keys')).body);
      const bodies = logs.map((l) => JSON.parse(l.body!)).sort((a, b) => a.seq - b.seq);
      assert.deepEqual(verifyReceipts(bodies, keys).problems, [], 'the exported bodies verify as a chain');
      const checkpoints = receiver.records().filter((l) => l.eventName === 'aarm.checkpoint');
      assert.ok(checkpoints.length > 0);
      for (const c of checkpoints) assert.deepEqual(verifyCheckpoint(JSON.parse(c.body!), keys), { ok: true });
    });

    test('a collector outage delays export; afterwards every receipt arrives, none twice', async () => {
      receiver.setMode('fail');
      const session = uniqueSession('outage');
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await arbiter.post('/v1/decide', decideBody(session, 'files.read', { path: `/${i}` }));
        assert.equal(r.status, 200, 'decisions do not wait for the collector');
        ids.push(r.body.receipt.id);
      }
      const failedRequests = receiver.requests();
      await sleep(300);
      assert.ok(receiver.requests() >= failedRequests, 'the exporter keeps trying');
      receiver.setMode('ok');
      await waitFor(receiver, ids);
      const arrived = receiptIds(receiver.records()).filter((id) => ids.includes(id));
      assert.equal(new Set(arrived).size, ids.length, 'every receipt arrived');
      assert.equal(arrived.length, ids.length, 'none arrived twice');
    });
  });
}

describe('a backlog over its bound takes the replica out of rotation, never blocks a decision', () => {
  test('collector down: decisions are answered, the outbox holds them all, /readyz says not ready', async () => {
    const receiver = await startOtlpReceiver();
    receiver.setMode('fail');
    const arbiter = await startTestArbiter({
      store: 'redis',
      env: {
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json',
        ARBITER_EXPORT_MAX_BACKLOG: '5',
      },
    });
    try {
      assert.equal((await arbiter.get('/readyz')).status, 200);
      for (let i = 0; i < 10; i++) {
        assert.equal(
          (await arbiter.post('/v1/decide', decideBody(uniqueSession('backlog'), 'files.read', { path: '/x' }))).status,
          200,
        );
      }
      let ready = await arbiter.get('/readyz');
      for (let i = 0; i < 50 && ready.status === 200; i++) {
        await sleep(100);
        ready = await arbiter.get('/readyz');
      }
      assert.equal(ready.status, 503);
      assert.equal(ready.body.checks.export_backlog, false);
      assert.equal(ready.body.export_backlog.depth, 10);
      assert.match((await arbiter.get('/metrics')).body, /^arbiter_outbox_depth 10$/m);
      receiver.setMode('ok');
      for (let i = 0; i < 100 && ready.status !== 200; i++) {
        await sleep(100);
        ready = await arbiter.get('/readyz');
      }
      assert.equal(ready.status, 200, 'ready again once the collector took the backlog');
    } finally {
      await arbiter.stop();
      await receiver.close();
    }
  });
});

describe('a replica killed after answering loses no receipt; replicas share the outbox', () => {
  const prefix = `arbiter-test:export-${process.pid}:`;
  let dir: string;
  let receiver: OtlpReceiver;
  let env: Record<string, string>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-export-'));
    const keyPath = join(dir, 'key.pem');
    writeFileSync(keyPath, exportKeyPairPem(generateSigningKey()).privatePem, { mode: 0o600 });
    receiver = await startOtlpReceiver();
    env = {
      ARBITER_REDIS_URL: TEST_REDIS_URL,
      ARBITER_REDIS_PREFIX: prefix,
      ARBITER_SIGNING_KEY: keyPath,
      ARBITER_POLICY_DIR: FLOWS,
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf',
      ARBITER_EXPORT_CLAIM_IDLE_MS: '1000',
      ARBITER_EXPORT_TIMEOUT_MS: '500',
    };
  });
  after(async () => {
    await receiver.close();
    await deleteKeys(TEST_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  test('SIGKILL while the collector is down, restart: every answered decision is exported', async () => {
    receiver.setMode('hang');
    const first = await spawnArbiter({ ...env, ARBITER_INSTANCE_ID: 'replica-a' });
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) {
      const r = await post(first.url, {
        action: { tool: 'read' },
        session: { id: uniqueSession('kill') },
        identity: { agent: 'agent-1' },
      });
      assert.equal(r.status, 200);
      ids.push(r.body.receipt.id);
    }
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    receiver.setMode('ok');
    const second = await spawnArbiter({ ...env, ARBITER_INSTANCE_ID: 'replica-b' });
    try {
      await waitFor(receiver, ids);
      const arrived = new Set(receiptIds(receiver.records()));
      assert.deepEqual(
        ids.filter((id) => !arrived.has(id)),
        [],
        'no answered decision is missing',
      );
    } finally {
      await second.stop();
    }
  });

  test('two replicas exporting from one outbox deliver each receipt once', async () => {
    const before = receiver.records().length;
    const replicas = await Promise.all([
      spawnArbiter({ ...env, ARBITER_INSTANCE_ID: 'r1' }),
      spawnArbiter({ ...env, ARBITER_INSTANCE_ID: 'r2' }),
    ]);
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          post(replicas[i % 2]!.url, {
            action: { tool: 'read' },
            session: { id: uniqueSession(`share-${i % 5}`) },
            identity: { agent: 'agent-1' },
          }),
        ),
      );
      const ids = answers.map((a) => a.body.receipt.id as string);
      await waitFor(receiver, ids);
      const arrived = receiptIds(receiver.records().slice(before)).filter((id) => ids.includes(id));
      assert.equal(new Set(arrived).size, ids.length, 'every receipt arrived');
      assert.equal(arrived.length, ids.length, 'none twice');
      const producers = new Set(
        receiver
          .records()
          .slice(before)
          .filter((l) => l.eventName === 'aarm.checkpoint')
          .map((l) => JSON.parse(l.body!).producer),
      );
      assert.ok(producers.size >= 1);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  });
});
