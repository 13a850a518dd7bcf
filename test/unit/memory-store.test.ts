import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId, sessionTag } from '../../services/decision/src/context/ids.js';
import { MemorySessionStore } from '../../services/decision/src/context/memory.js';
import { emptySummary, type Commit } from '../../services/decision/src/context/types.js';
import type { Receipt } from '../../services/decision/src/receipts/types.js';

const TAG = sessionTag('default', 's');

function commitFor(seq: number, actionId = `a${seq}`, options: { tag?: string; tenant?: string } = {}): Commit {
  const tag = options.tag ?? TAG;
  return {
    tag,
    expectedSeq: seq - 1,
    meta: { id: 's', tenant: options.tenant ?? 'default', started_at: 'now', intent: `intent ${seq}` },
    summary: { ...emptySummary(), action_count: seq },
    receipt: { receipt_id: newId('rcpt', tag), seq } as Receipt,
    receiptHash: `sha256:${seq}`,
    action: { id: actionId, tool: 't', decision: 'ALLOW', parameters_hash: 'h', receipt_id: 'r', response: { seq } },
    newAction: true,
    indexAction: true,
    pending: [],
  };
}

test('a commit is refused when the session moved on since it was read', async () => {
  const store = new MemorySessionStore(60);
  assert.equal(await store.commit(commitFor(1)), 'committed');
  assert.equal(await store.commit(commitFor(1)), 'conflict');
  assert.equal(await store.commit(commitFor(2)), 'committed');
  const state = await store.load(TAG);
  assert.equal(state.seq, 2);
  assert.equal(state.head, 'sha256:2');
  assert.equal(state.meta?.intent, 'intent 1', 'the first commit fixed the session meta');
  assert.deepEqual(
    (await store.listReceipts(TAG)).map((r) => r.seq),
    [1, 2],
  );
});

test('an action id is decided once, and found again by its id', async () => {
  const store = new MemorySessionStore(60);
  await store.commit(commitFor(1, 'a'));
  assert.equal(await store.commit(commitFor(2, 'a')), 'duplicate');
  assert.deepEqual((await store.load(TAG, { actionId: 'a' })).action?.response, { seq: 1 });
  assert.equal((await store.load(sessionTag('default', 'other'), { actionId: 'a' })).action, undefined);
  assert.equal(await store.findActionSession('default', 'a'), TAG);
  assert.equal(await store.findActionSession('tenant-b', 'a'), undefined, 'the index is per tenant');
});

test('a caller action id used by two sessions is ambiguous, never resolved to either', async () => {
  const store = new MemorySessionStore(60);
  await store.commit(commitFor(1, 'same'));
  await store.commit(commitFor(1, 'same', { tag: sessionTag('default', 'other') }));
  assert.equal(await store.findActionSession('default', 'same'), 'ambiguous');
});

test('an idle session expires and its id starts a new session', async () => {
  let now = 0;
  const store = new MemorySessionStore(60, () => now);
  const first = commitFor(1);
  await store.commit(first);
  now = 61_000;
  const state = await store.load(TAG);
  assert.equal(state.seq, 0);
  assert.equal(state.meta, undefined);
  assert.equal(await store.getReceipt(first.receipt.receipt_id), undefined);
});

test('opening a session fixes its meta once', async () => {
  const store = new MemorySessionStore(60);
  const meta = { id: 's', tenant: 'default', started_at: 'now', intent: 'first' };
  assert.equal(await store.openSession(TAG, meta), 'created');
  assert.equal(await store.openSession(TAG, { ...meta, intent: 'second' }), 'exists');
  assert.equal((await store.load(TAG)).meta?.intent, 'first');
});

test('revocations match by token id, or by subject within its tenant', async () => {
  const store = new MemorySessionStore(60);
  await store.addRevocation({ tenant: 'a', sub: 'agent-1', at: 'now' });
  await store.addRevocation({ tenant: 'a', jti: 'tok-9', at: 'now' });
  const revoked = async (r: { tenant: string; jti?: string; sub?: string }) =>
    (await store.load(TAG, { revocation: r })).revoked;
  assert.equal(await revoked({ tenant: 'a', sub: 'agent-1' }), true);
  assert.equal(await revoked({ tenant: 'b', sub: 'agent-1' }), false);
  assert.equal(await revoked({ tenant: 'b', jti: 'tok-9', sub: 'x' }), true);
  assert.equal(await revoked({ tenant: 'a', jti: 'other', sub: 'agent-2' }), false);
});

test('stored values are copies', async () => {
  const store = new MemorySessionStore(60);
  const c = commitFor(1);
  await store.commit(c);
  c.summary.action_count = 99;
  assert.equal((await store.load(TAG)).summary.action_count, 1);
});
