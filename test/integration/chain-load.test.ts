/**
 * Many sessions, each with parallel tool calls, on one service process (issue 11): every
 * decision is answered, none `503`, and within the process no commit is ever refused: the
 * session's lane orders its steps, so nothing is judged on a stale context.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportKeyPairPem, generateSigningKey, publicKeysFromJwks } from '../../services/decision/src/receipts/keys.js';
import { verifyReceipts } from '../../services/decision/src/receipts/verify.js';
import { decideBody, deleteKeys, TEST_REDIS_URL, uniqueSession } from '../support/arbiter.js';
import { spawnArbiter, type ArbiterProcess } from '../support/process.js';

const SESSIONS = 200;
const PER_SESSION = 16;
/**
 * The client's connections: every request is sent at once, and the server holds up to this
 * many at a time (each session's 16 among them together), as a gateway's pool would. 3,200
 * sockets opened at once would measure the kernel's accept queue, not the service.
 */
const CONNECTIONS = 128;

function post(agent: Agent, url: string, body: unknown): Promise<{ status: number; body: any }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/decide`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('one service process on Redis', () => {
  const prefix = `arbiter-test:chain-load-${process.pid}:`;
  let dir: string;
  let arbiter: ArbiterProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-chain-load-'));
    const keyPath = join(dir, 'signing-key.pem');
    writeFileSync(keyPath, exportKeyPairPem(generateSigningKey()).privatePem, { mode: 0o600 });
    arbiter = await spawnArbiter({
      ARBITER_REDIS_URL: TEST_REDIS_URL,
      ARBITER_REDIS_PREFIX: prefix,
      ARBITER_SIGNING_KEY: keyPath,
    });
  });
  after(async () => {
    await arbiter.stop();
    await deleteKeys(TEST_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  test(`${SESSIONS} sessions × ${PER_SESSION} concurrent decisions: all answered, none refused`, async (t) => {
    const sessions = Array.from({ length: SESSIONS }, (_, i) => uniqueSession(`load-${i}`));
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const answers = await Promise.all(
      sessions.flatMap((session) =>
        Array.from({ length: PER_SESSION }, (_, i) =>
          post(agent, arbiter.url, decideBody(session, 'files.read', { path: `/f/${i}` })),
        ),
      ),
    );
    agent.destroy();
    const metrics = await (await fetch(`${arbiter.url}/metrics`)).text();
    const refused = Number(/^arbiter_commit_conflicts_total (\d+)/m.exec(metrics)?.[1]);
    t.diagnostic(
      `answers ${answers.length}, 503: ${answers.filter((a) => a.status === 503).length}, commits refused: ${refused}`,
    );
    const failed = answers.filter((a) => a.status !== 200);
    assert.equal(failed.length, 0, `answers other than 200, e.g. ${JSON.stringify(failed.slice(0, 3))}`);
    assert.equal(refused, 0, 'within one process no commit meets a session that moved on');

    const keys = publicKeysFromJwks(await (await fetch(`${arbiter.url}/v1/keys`)).json());
    for (const session of sessions) {
      const { receipts } = (await (await fetch(`${arbiter.url}/v1/sessions/${session}/receipts`)).json()) as {
        receipts: { seq: number }[];
      };
      assert.deepEqual(
        receipts.map((r) => r.seq),
        Array.from({ length: PER_SESSION }, (_, i) => i + 1),
      );
      assert.deepEqual(verifyReceipts(receipts, keys).problems, []);
    }
  });
});
