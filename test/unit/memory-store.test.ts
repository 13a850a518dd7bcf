import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId } from '../../services/decision/src/context/ids.js';
import { MemorySessionStore } from '../../services/decision/src/context/memory.js';
import { emptySummary, type Commit } from '../../services/decision/src/context/types.js';
import type { Receipt } from '../../services/decision/src/receipts/types.js';

function commitFor(sessionId: string, seq: number, actionId?: string): Commit {
  const receipt = { receipt_id: newId('rcpt', sessionId), seq } as Receipt;
  return {
    sessionId,
    expectedSeq: seq - 1,
    meta: { id: sessionId, started_at: 'now', intent: `intent ${seq}` },
    summary: { ...emptySummary(), action_count: seq },
    receipt,
    receiptHash: `sha256:${seq}`,
    ...(actionId && { idempotency: { actionId, decision: { parameters_hash: 'h', response: { seq } } } }),
  };
}

test('a commit is refused when the session moved on since it was read', async () => {
  const store = new MemorySessionStore(60);
  assert.equal(await store.commit(commitFor('s', 1)), 'committed');
  assert.equal(await store.commit(commitFor('s', 1)), 'conflict');
  assert.equal(await store.commit(commitFor('s', 2)), 'committed');
  const state = await store.load('s');
  assert.equal(state.seq, 2);
  assert.equal(state.head, 'sha256:2');
  assert.equal(state.meta?.intent, 'intent 1', 'the first commit fixed the session meta');
  assert.deepEqual((await store.listReceipts('s')).map((r) => r.seq), [1, 2]);
});

test('an action id is decided once', async () => {
  const store = new MemorySessionStore(60);
  await store.commit(commitFor('s', 1, 'a'));
  assert.equal(await store.commit(commitFor('s', 2, 'a')), 'duplicate');
  assert.deepEqual((await store.load('s', 'a')).prior?.response, { seq: 1 });
  assert.equal((await store.load('other', 'a')).prior, undefined, 'action ids are per session');
});

test('an idle session expires and its id starts a new session', async () => {
  let now = 0;
  const store = new MemorySessionStore(60, () => now);
  const first = commitFor('s', 1);
  await store.commit(first);
  now = 61_000;
  const state = await store.load('s');
  assert.equal(state.seq, 0);
  assert.equal(state.meta, undefined);
  assert.equal(await store.getReceipt(first.receipt.receipt_id), undefined);
});

test('stored values are copies', async () => {
  const store = new MemorySessionStore(60);
  const c = commitFor('s', 1);
  await store.commit(c);
  c.summary.action_count = 99;
  assert.equal((await store.load('s')).summary.action_count, 1);
});
