/**
 * Per-session order under concurrency (AARM R2, ARCHITECTURE "per-session order is
 * atomic"): many decisions for one session at once, from two separate service processes
 * on one Redis, leave exactly one unbroken chain and a summary that counts every one.
 */
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportKeyPairPem, generateSigningKey, publicKeysFromJwks } from '../../services/decision/src/receipts/keys.js';
import { verifyReceipts } from '../../services/decision/src/receipts/verify.js';
import { decideBody, deleteKeys, TEST_REDIS_URL, uniqueSession } from '../support/arbiter.js';
import { postDecide as post, spawnArbiter, type ArbiterProcess } from '../support/process.js';

const PARALLEL = 40;

describe('two service processes deciding for the same sessions on one Redis', () => {
  const prefix = `arbiter-test:conc-${process.pid}:`;
  let dir: string;
  let replicas: ArbiterProcess[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-conc-'));
    const keyPath = join(dir, 'signing-key.pem');
    writeFileSync(keyPath, exportKeyPairPem(generateSigningKey()).privatePem, { mode: 0o600 });
    const env = {
      ARBITER_REDIS_URL: TEST_REDIS_URL,
      ARBITER_REDIS_PREFIX: prefix,
      ARBITER_SIGNING_KEY: keyPath,
      ARBITER_COMMIT_RETRIES: '100',
    };
    replicas = await Promise.all([spawnArbiter(env), spawnArbiter(env)]);
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await deleteKeys(TEST_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  test(`${PARALLEL} concurrent decisions on one session form one chain, none lost or doubled`, async () => {
    const session = uniqueSession('race');
    const answers = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        post(replicas[i % 2]!.url, decideBody(session, 'files.read', { path: `/f/${i}` })),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(PARALLEL).fill(200),
    );
    const { body } = await fetch(`${replicas[0]!.url}/v1/sessions/${session}/receipts`).then(async (r) => ({
      body: (await r.json()) as any,
    }));
    assert.deepEqual(
      body.receipts.map((r: { seq: number }) => r.seq),
      Array.from({ length: PARALLEL }, (_, i) => i + 1),
    );
    const answered = new Set(answers.map((a) => a.body.receipt.id));
    assert.deepEqual(
      new Set(body.receipts.map((r: { receipt_id: string }) => r.receipt_id)),
      answered,
      'every answer is in the chain once',
    );
    const keys = publicKeysFromJwks(await (await fetch(`${replicas[1]!.url}/v1/keys`)).json());
    assert.deepEqual(verifyReceipts(body.receipts, keys).problems, []);
    const view = (await (await fetch(`${replicas[1]!.url}/v1/sessions/${session}`)).json()) as any;
    assert.equal(view.context.action_count, PARALLEL);
    assert.equal(view.context.tools_used['files.read'], PARALLEL);
  });

  test('retries of one action id racing on both replicas get one decision and one receipt', async () => {
    const session = uniqueSession('idem-race');
    const body = decideBody(session, 'files.read', { path: '/same' }, { actionId: 'retry-me' });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(replicas[i % 2]!.url, body)));
    assert.equal(new Set(answers.map((a) => a.body.receipt.id)).size, 1);
    const chain = (await (await fetch(`${replicas[0]!.url}/v1/sessions/${session}/receipts`)).json()) as any;
    assert.equal(chain.receipts.length, 1);
  });
});
