/**
 * Per-session order under concurrency (AARM R2, ARCHITECTURE "per-session order is
 * atomic", issue 11): many decisions for one session at once, spread over three separate
 * service processes on one Redis, with the default settings, are all answered (none
 * `503`) and leave exactly one unbroken chain and a summary that counts every one.
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

const PARALLEL = 64;
const REPLICAS = 3;

describe('three service processes deciding for the same sessions on one Redis', () => {
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
    };
    replicas = await Promise.all(Array.from({ length: REPLICAS }, () => spawnArbiter(env)));
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await deleteKeys(TEST_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  test(`${PARALLEL} concurrent decisions on one session form one chain, none refused, lost or doubled`, async (t) => {
    const session = uniqueSession('race');
    const answers = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        post(replicas[i % REPLICAS]!.url, decideBody(session, 'files.read', { path: `/f/${i}` })),
      ),
    );
    t.diagnostic(
      `answers ${answers.length}, 503: ${answers.filter((a) => a.status === 503).length}, ` +
        `commits refused by another replica and retried: ${await commitConflicts(replicas)}`,
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
    t.diagnostic(`chain seq 1..${body.receipts.length}, verified`);
    const view = (await (await fetch(`${replicas[1]!.url}/v1/sessions/${session}`)).json()) as any;
    assert.equal(view.context.action_count, PARALLEL);
    assert.equal(view.context.tools_used['files.read'], PARALLEL);
  });

  test('retries of one action id racing on every replica get one decision and one receipt', async () => {
    const session = uniqueSession('idem-race');
    const body = decideBody(session, 'files.read', { path: '/same' }, { actionId: 'retry-me' });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(replicas[i % REPLICAS]!.url, body)));
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
    assert.equal(new Set(answers.map((a) => a.body.receipt.id)).size, 1);
    const chain = (await (await fetch(`${replicas[0]!.url}/v1/sessions/${session}/receipts`)).json()) as any;
    assert.equal(chain.receipts.length, 1);
  });
});

/** arbiter_commit_conflicts_total over the replicas: commits another replica got to first. */
async function commitConflicts(replicas: ArbiterProcess[]): Promise<number> {
  let total = 0;
  for (const r of replicas) {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    total += Number(/^arbiter_commit_conflicts_total (\d+)/m.exec(text)?.[1] ?? 0);
  }
  return total;
}
