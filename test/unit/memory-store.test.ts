import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newId, sessionTag } from '../../services/decision/src/context/ids.js';
import { MemorySessionStore } from '../../services/decision/src/context/memory.js';
import { emptySummary, type Commit, type PendingRecord } from '../../services/decision/src/context/types.js';
import { ArbiterError } from '../../services/decision/src/errors.js';
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
  assert.equal(await revoked({ tenant: 'b', jti: 'tok-9', sub: 'x' }), false, 'a jti revocation is per tenant');
  assert.equal(await revoked({ tenant: 'a', jti: 'tok-9', sub: 'x' }), true);
  assert.equal(await revoked({ tenant: 'a', jti: 'other', sub: 'agent-2' }), false);
});

test('stored values are copies', async () => {
  const store = new MemorySessionStore(60);
  const c = commitFor(1);
  await store.commit(c);
  c.summary.action_count = 99;
  assert.equal((await store.load(TAG)).summary.action_count, 1);
});

// Bounds (issue 12): the store holds at most maxBytes, frees idle sessions, refuses when full.

const sessionOf = (name: string) => sessionTag('default', name);

/** A decision commit on a fresh session whose receipt carries `parameterBytes` of parameters. */
function bigCommit(name: string, parameterBytes: number, seq = 1): Commit {
  const tag = sessionOf(name);
  const base = commitFor(seq, `${name}-a${seq}`, { tag });
  return {
    ...base,
    meta: { ...base.meta, id: name },
    receipt: {
      receipt_id: newId('rcpt', tag),
      seq,
      action: { parameters: { blob: 'x'.repeat(parameterBytes) } },
    } as unknown as Receipt,
  };
}

function pendingRecord(tag: string, expiresAt: string): PendingRecord {
  return {
    id: newId('apr', tag),
    kind: 'approval',
    status: 'pending',
    session_id: 's',
    tenant: 'default',
    action: { id: 'a', tool: 't', parameters_hash: 'h' },
    identity: {},
    reasons: [],
    context: emptySummary(),
    policy: { revision: 'r', hash: 'h' },
    receipt_id: 'r',
    created_at: '2026-01-01T00:00:00.000Z',
    expires_at: expiresAt,
  } as unknown as PendingRecord;
}

async function refusedAsFull(write: Promise<unknown>): Promise<void> {
  await assert.rejects(write, (err: unknown) => {
    assert.ok(err instanceof ArbiterError);
    assert.equal(err.code, 'store_unavailable', 'answered 503 with decision DENY by the HTTP layer');
    assert.equal(err.status, 503);
    return true;
  });
}

describe('idle sessions are freed, not only hidden', () => {
  test('a write after the TTL frees sessions idle for longer, and keeps the recent one', async () => {
    let now = 0;
    const store = new MemorySessionStore(60, () => now);
    await store.commit(bigCommit('old', 1000));
    now = 30_000;
    await store.commit(bigCommit('recent', 1000));
    const both = store.usage();
    assert.equal(both.sessions, 2);
    assert.equal(both.actionIndex, 2);
    now = 61_000;
    await store.commit(bigCommit('new', 1000));
    const after = store.usage();
    assert.equal(after.sessions, 2, "'old' was freed by the write, 'recent' was not");
    assert.equal(after.actionIndex, 2);
    assert.equal(after.receipts, 2);
    assert.equal((await store.load(sessionOf('recent'))).seq, 1);
    assert.equal((await store.load(sessionOf('old'))).seq, 0);
  });

  test('a commit keeps its session alive: the TTL counts from the last write', async () => {
    let now = 0;
    const store = new MemorySessionStore(60, () => now);
    await store.commit(bigCommit('s', 10, 1));
    now = 50_000;
    await store.commit(bigCommit('s', 10, 2));
    now = 100_000;
    await store.duePending(now, 10);
    assert.equal((await store.load(sessionOf('s'))).seq, 2, 'idle for 50 s only');
    now = 110_000;
    await store.duePending(now, 10);
    assert.equal(store.usage().sessions, 0);
  });

  test("with no decisions at all, the expiry sweeper's regular duePending frees idle sessions", async () => {
    let now = 0;
    const store = new MemorySessionStore(60, () => now);
    for (let i = 0; i < 10; i++) await store.commit(bigCommit(`s${i}`, 10_000));
    assert.ok(store.usage().bytes > 100_000);
    now = 60_000;
    await store.duePending(now, 100);
    const usage = store.usage();
    assert.equal(usage.sessions, 0);
    assert.equal(usage.receipts, 0);
    assert.equal(usage.actionIndex, 0);
    assert.equal(usage.bytes, 0, 'every byte accounted for came back');
  });

  test('one operation frees a bounded number of sessions; the backlog drains over the next ones', async () => {
    let now = 0;
    const store = new MemorySessionStore(60, () => now);
    for (let i = 0; i < 200; i++) await store.commit(bigCommit(`s${i}`, 10));
    now = 60_000;
    await store.duePending(now, 100);
    const left = store.usage().sessions;
    assert.ok(left > 0 && left < 200, `a bounded sweep: ${left} of 200 left after one operation`);
    for (let i = 0; i < 10 && store.usage().sessions > 0; i++) await store.duePending(now, 100);
    assert.equal(store.usage().sessions, 0);
    assert.equal(store.usage().bytes, 0);
  });

  test("a session's pending records leave the pending index with it", async () => {
    let now = 0;
    const store = new MemorySessionStore(60, () => now);
    const c = bigCommit('p', 10);
    await store.commit({ ...c, pending: [pendingRecord(c.tag, '2026-01-01T00:00:30.000Z')] });
    assert.equal(store.usage().pendingIndex, 1);
    now = 60_000;
    await store.duePending(now, 100);
    assert.deepEqual(store.usage(), { ...store.usage(), sessions: 0, pending: 0, pendingIndex: 0, bytes: 0 });
  });

  test('every byte accounted for comes back: replaced records, shared action ids, closed approvals', async () => {
    let now = 0;
    const store = new MemorySessionStore(60, () => now, { outbox: true });
    const first = bigCommit('a', 1000);
    const approval = pendingRecord(first.tag, '2026-01-01T00:00:30.000Z');
    await store.commit({ ...first, action: { ...first.action!, id: 'shared' }, pending: [approval] });
    const second = bigCommit('b', 1000);
    await store.commit({ ...second, action: { ...second.action!, id: 'shared' } });
    assert.equal(await store.findActionSession('default', 'shared'), 'ambiguous');
    const vote = bigCommit('a', 5000, 2);
    await store.commit({
      ...vote,
      action: { ...vote.action!, id: 'shared', decision: 'DENY' },
      newAction: false,
      pending: [{ ...approval, status: 'denied' }],
    });
    assert.equal(await store.commit(bigCommit('a', 10, 2)), 'conflict');
    assert.equal(
      await store.commit({ ...bigCommit('b', 10, 2), action: { ...second.action!, id: 'shared' } }),
      'duplicate',
    );
    await store.unindexPending([approval]);
    await store.outbox!.ack((await store.outbox!.read('c', 10, 1000)).map((e) => e.id));
    const live = store.usage();
    assert.deepEqual([live.sessions, live.receipts, live.actions, live.pending, live.pendingIndex], [2, 3, 2, 1, 0]);
    now = 60_000;
    await store.duePending(now, 10);
    assert.equal(store.usage().bytes, 0);
  });

  test('a replaced action or approval record counts once, at its new size', async () => {
    const TWO = sessionOf('two');
    const approval = pendingRecord(TWO, '2026-01-01T00:00:30.000Z');
    const closed = {
      ...approval,
      status: 'approved' as const,
      votes: [{ approver: 'x', vote: 'approve' as const, at: 'now' }],
    };
    const first = bigCommit('two', 100, 1);
    const final = { ...first.action!, decision: 'DENY' as const, response: { final: 'DENY'.repeat(100) } };
    const replaced = new MemorySessionStore(60, () => 0);
    await replaced.commit({ ...first, pending: [approval] });
    await replaced.commit({ ...bigCommit('two', 100, 2), action: final, newAction: false, pending: [closed] });
    const direct = new MemorySessionStore(60, () => 0);
    await direct.commit({ ...first, action: final, pending: [closed] });
    await direct.commit({ ...bigCommit('two', 100, 2), action: undefined, pending: [] });
    await replaced.unindexPending([approval]);
    assert.equal(replaced.usage().bytes, direct.usage().bytes);
  });

  test('the outbox counts until the exporter acknowledges', async () => {
    const store = new MemorySessionStore(60, () => 0, { outbox: true });
    await store.commit(bigCommit('s', 50_000));
    const withEntry = store.usage();
    assert.equal(withEntry.outbox, 1);
    assert.ok(withEntry.bytes > 100_000, 'the receipt is held twice: in its session and in the outbox');
    const entries = await store.outbox!.read('c', 10, 1000);
    assert.equal((entries[0]!.receipt as unknown as { seq: number }).seq, 1);
    await store.outbox!.ack(entries.map((e) => e.id));
    const acked = store.usage();
    assert.equal(acked.outbox, 0);
    assert.ok(withEntry.bytes - acked.bytes > 50_000);
  });
});

describe('the store holds at most maxBytes', () => {
  const MAX = 8 * 1024 * 1024;
  const PARAMETER = 250 * 1000;

  test('many decisions with 250 KB parameters: held bytes stay under the bound; the rest are refused', async () => {
    let now = 0;
    const store = new MemorySessionStore(60, () => now, { maxBytes: MAX });
    const answered: string[] = [];
    let refused = 0;
    let peak = 0;
    for (let i = 0; i < 200; i++) {
      now += 10;
      try {
        await store.commit(bigCommit(`s${i}`, PARAMETER));
        answered.push(`s${i}`);
      } catch (err) {
        assert.ok(err instanceof ArbiterError && err.code === 'store_unavailable');
        refused++;
      }
      peak = Math.max(peak, store.usage().bytes);
    }
    const usage = store.usage();
    assert.ok(peak <= MAX, `peak ${peak} bytes <= ${MAX}`);
    assert.ok(answered.length >= 25 && answered.length <= 33, `${answered.length} of 200 stored`);
    assert.equal(refused, 200 - answered.length);
    assert.equal(usage.refused, refused);
    assert.equal(usage.sessions, answered.length);
    assert.ok(usage.bytes > MAX - 2 * PARAMETER, `the budget is used: ${usage.bytes}`);
    for (const name of answered) {
      const receipts = await store.listReceipts(sessionOf(name));
      assert.equal(receipts.length, 1, `the receipt of live session ${name} is still there`);
    }
    console.log(
      `# 200 commits of ${PARAMETER} B: ${answered.length} stored, ${refused} refused, peak ${peak} B of ${MAX} B`,
    );
  });

  test('at the bound: a refused commit writes nothing; reads, replays and revocations still work', async () => {
    let now = 0;
    let refusals = 0;
    const store = new MemorySessionStore(60, () => now, { maxBytes: 1024 * 1024, onRefused: () => refusals++ });
    const kept = bigCommit('kept', 10);
    await store.commit(kept);
    for (let i = 0; ; i++) {
      const fill = await store.commit(bigCommit(`fill${i}`, 200_000)).catch((err: unknown) => err);
      if (fill instanceof ArbiterError) break;
    }
    const before = store.usage();
    assert.equal(before.refused, 1);

    await refusedAsFull(store.commit(bigCommit('new', PARAMETER)));
    const next = bigCommit('kept', PARAMETER, 2);
    await refusedAsFull(store.commit(next));
    await refusedAsFull(
      store.openSession(sessionOf('opened'), {
        id: 'opened',
        tenant: 'default',
        started_at: 'now',
        intent: 'i'.repeat(PARAMETER),
      }),
    );
    assert.equal(store.usage().refused, 4);
    assert.equal(refusals, 4, 'each refusal reaches the metric');
    assert.deepEqual({ ...store.usage(), refused: 0 }, { ...before, refused: 0 }, 'nothing was written');
    assert.equal((await store.load(sessionOf('new'))).seq, 0);
    assert.equal((await store.load(sessionOf('kept'))).seq, 1, 'the live session did not move');
    assert.equal(await store.getReceipt(next.receipt.receipt_id), undefined);

    assert.equal((await store.getReceipt(kept.receipt.receipt_id))?.seq, 1, 'no live receipt was dropped');
    assert.deepEqual((await store.load(sessionOf('kept'), { actionId: 'kept-a1' })).action?.response, { seq: 1 });
    await store.addRevocation({ tenant: 'default', jti: 'j', at: 'now' });
    assert.equal((await store.load(TAG, { revocation: { tenant: 'default', jti: 'j' } })).revoked, true);
    assert.equal(await store.commit(bigCommit('small', 10)), 'committed', 'a write that fits is taken');
  });

  test('at the bound, capability redemptions are refused too, never answered "first" unrecorded', async () => {
    const probe = new MemorySessionStore(60, () => 0);
    await probe.redeemCapability('j0', 60_000);
    const store = new MemorySessionStore(60, () => 0, { maxBytes: probe.usage().bytes });
    assert.equal(await store.redeemCapability('j1', 60_000), 'first');
    await refusedAsFull(store.redeemCapability('j1', 60_000));
    await refusedAsFull(store.redeemCapability('j2', 60_000));
    assert.equal(store.usage().redemptions, 1);
  });

  test('once idle sessions expire, a full store takes writes again', async () => {
    let now = 0;
    const store = new MemorySessionStore(60, () => now, { maxBytes: 2 * 1024 * 1024 });
    for (let i = 0; i < 20; i++) await store.commit(bigCommit(`s${i}`, PARAMETER)).catch(() => {});
    await refusedAsFull(store.commit(bigCommit('late', PARAMETER)));
    now = 60_000;
    assert.equal(await store.commit(bigCommit('late', PARAMETER)), 'committed');
    assert.equal(store.usage().sessions, 1, 'every expired session was freed to make room');
  });
});
