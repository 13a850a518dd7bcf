/**
 * The embedded store's byte budget end to end (issue 12): real policy, real HTTP, the
 * default budget. Once the store is full a decision is answered 503 with "decision":
 * "DENY" and nothing is stored, while every receipt already answered stays readable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newId, sessionTag } from '../../services/decision/src/context/ids.js';
import { MemorySessionStore } from '../../services/decision/src/context/memory.js';
import { emptySummary } from '../../services/decision/src/context/types.js';
import type { Receipt } from '../../services/decision/src/receipts/types.js';
import { decideBody, startTestArbiter, uniqueSession, type TestArbiter } from '../support/arbiter.js';

const MiB = 1024 * 1024;

/** Takes room in the store the way decisions do (a receipt per session), without policy. */
async function fill(store: MemorySessionStore, bytes: number): Promise<void> {
  const target = store.usage().bytes + bytes;
  for (let i = 0; store.usage().bytes + MiB < target; i++) {
    const tag = sessionTag('filler', `f${i}`);
    await store.commit({
      tag,
      expectedSeq: 0,
      meta: { id: `f${i}`, tenant: 'filler', started_at: new Date().toISOString() },
      summary: emptySummary(),
      receipt: { receipt_id: newId('rcpt', tag), seq: 1, padding: 'p'.repeat(MiB - 1000) } as unknown as Receipt,
      receiptHash: 'sha256:0',
      newAction: false,
      indexAction: false,
      pending: [],
    });
  }
}

describe('the embedded store when it is full', () => {
  let arbiter: TestArbiter;
  let store: MemorySessionStore;
  before(async () => {
    arbiter = await startTestArbiter({ store: 'memory' });
    assert.ok(arbiter.store instanceof MemorySessionStore);
    store = arbiter.store;
  });
  after(() => arbiter.stop());

  test('what one ordinary decision holds', async () => {
    const start = store.usage().bytes;
    for (let i = 0; i < 20; i++) {
      const res = await arbiter.post(
        '/v1/decide',
        decideBody(uniqueSession('small'), 'email.send', { to: 'x@example.com' }),
      );
      assert.equal(res.status, 200);
    }
    const perDecision = (store.usage().bytes - start) / 20;
    assert.ok(perDecision > 500 && perDecision < 64 * 1024, `${perDecision} B per decision`);
    console.log(`# one ordinary decision on a new session holds about ${Math.round(perDecision)} B`);
  });

  test('decisions with 200 KB parameters fill it, then each is 503 DENY; no answered receipt is lost', async () => {
    const { maxBytes } = store.usage();
    await fill(store, maxBytes - store.usage().bytes - 4 * MiB);
    const parameters = { to: 'x@example.com', body: 'b'.repeat(200_000) };
    const answered: string[] = [];
    const refusals: { status: number; body: any }[] = [];
    for (let i = 0; i < 60 && refusals.length < 3; i++) {
      const res = await arbiter.post('/v1/decide', decideBody(uniqueSession('big'), 'email.send', parameters));
      if (res.status === 200) answered.push(res.body.receipt.id);
      else refusals.push(res);
      assert.ok(store.usage().bytes <= maxBytes, `${store.usage().bytes} <= ${maxBytes}`);
    }
    assert.ok(answered.length >= 5, `${answered.length} decisions answered before the store was full`);
    assert.equal(refusals.length, 3);
    for (const r of refusals) {
      assert.equal(r.status, 503);
      assert.equal(r.body.decision, 'DENY');
      assert.equal(r.body.error.code, 'store_unavailable');
      assert.equal(r.body.capability, undefined);
    }
    for (const id of answered) assert.equal((await arbiter.get(`/v1/receipts/${id}`)).status, 200, id);
    const usage = store.usage();
    assert.ok(usage.refused >= 3);
    console.log(
      `# ${answered.length} decisions of 200 KB answered, then 503 DENY; held ${usage.bytes} of ${maxBytes} B in ${usage.sessions} sessions`,
    );
  });
});
