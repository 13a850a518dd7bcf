/**
 * Scaling out (issue 7): three service processes on one Redis, with the same sessions
 * spread across them. One intact chain per session; an approval granted on one replica
 * wakes the waiter on another; the export outbox shared without loss or duplicates.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportKeyPairPem, generateSigningKey, publicKeysFromJwks } from '../../services/decision/src/receipts/keys.js';
import { verifyReceipts } from '../../services/decision/src/receipts/verify.js';
import { deleteKeys, TEST_REDIS_URL, uniqueSession } from '../support/arbiter.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { spawnArbiter, type ArbiterProcess } from '../support/process.js';

const FLOWS = join(import.meta.dirname, '..', 'fixtures', 'policies', 'flows');

async function call(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('three replicas on one Redis', () => {
  const prefix = `arbiter-test:replicas-${process.pid}:`;
  let dir: string;
  let receiver: OtlpReceiver;
  let replicas: ArbiterProcess[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-replicas-'));
    const keyPath = join(dir, 'key.pem');
    writeFileSync(keyPath, exportKeyPairPem(generateSigningKey()).privatePem, { mode: 0o600 });
    receiver = await startOtlpReceiver();
    const env = {
      ARBITER_REDIS_URL: TEST_REDIS_URL,
      ARBITER_REDIS_PREFIX: prefix,
      ARBITER_SIGNING_KEY: keyPath,
      ARBITER_POLICY_DIR: FLOWS,
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json',
    };
    replicas = await Promise.all(['r1', 'r2', 'r3'].map((id) => spawnArbiter({ ...env, ARBITER_INSTANCE_ID: id })));
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await receiver.close();
    await deleteKeys(TEST_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  test('sessions decided on all three keep one chain each, and every receipt is exported once', async () => {
    const sessions = Array.from({ length: 6 }, (_, i) => uniqueSession(`spread-${i}`));
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        call(replicas[i % 3]!.url, 'POST', '/v1/decide', {
          action: { tool: 'read', parameters: { n: i } },
          session: { id: sessions[i % sessions.length] },
          identity: { agent: 'agent-1' },
        }),
      ),
    );
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
    const keys = publicKeysFromJwks((await call(replicas[0]!.url, 'GET', '/v1/keys')).body);
    for (const s of sessions) {
      const chain = (await call(replicas[(sessions.indexOf(s) + 1) % 3]!.url, 'GET', `/v1/sessions/${s}/receipts`)).body
        .receipts;
      assert.equal(chain.length, 10);
      assert.deepEqual(verifyReceipts(chain, keys).problems, []);
    }
    const ids = answers.map((a) => a.body.receipt.id as string);
    for (let i = 0; i < 100; i++) {
      const got = new Set(receiver.records().map((l) => String(l.attributes['aarm.receipt_id'])));
      if (ids.every((id) => got.has(id))) break;
      await sleep(100);
    }
    const exported = receiver
      .records()
      .map((l) => String(l.attributes['aarm.receipt_id']))
      .filter((id) => ids.includes(id));
    assert.equal(new Set(exported).size, ids.length, 'no receipt lost');
    assert.equal(exported.length, ids.length, 'no receipt exported twice');
  });

  test('an approval granted on one replica wakes the waiter on another', async () => {
    const asked = await call(replicas[0]!.url, 'POST', '/v1/decide', {
      action: { tool: 'pay', parameters: { amount: 1 } },
      session: { id: uniqueSession('wake') },
      identity: { agent: 'agent-1' },
    });
    assert.equal(asked.body.decision, 'STEP_UP');
    const waiting = call(replicas[1]!.url, 'GET', `/v1/approvals/${asked.body.approval.id}?wait=30`);
    await sleep(300);
    const granted = await call(replicas[2]!.url, 'POST', `/v1/approvals/${asked.body.approval.id}`, {
      decision: 'approve',
      approver: 'carol',
    });
    assert.equal(granted.body.status, 'approved');
    const seen = await waiting;
    assert.equal(seen.body.status, 'approved');
    assert.equal(seen.body.decision, 'ALLOW');
  });
});
