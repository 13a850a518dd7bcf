/**
 * The session chain primitive (chain/, issue 11) on the in-memory store: steps of one
 * session queue in order within a process (no conflict at all), the queue is bounded in
 * length and wait, conflicts with another replica are retried with backoff until the
 * deadline, and the header, signature and chain are the primitive's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionChain, type Step } from '../../services/decision/src/chain/chain.js';
import { Lanes } from '../../services/decision/src/chain/lanes.js';
import { ConfigError, loadConfig } from '../../services/decision/src/config.js';
import type { ChainSettings } from '../../services/decision/src/chain/settings.js';
import { sessionTag } from '../../services/decision/src/context/ids.js';
import { MemorySessionStore } from '../../services/decision/src/context/memory.js';
import type { Commit, CommitResult, SessionStore } from '../../services/decision/src/context/types.js';
import { ArbiterError } from '../../services/decision/src/errors.js';
import { generateSigningKey } from '../../services/decision/src/receipts/keys.js';
import { verifyReceipts } from '../../services/decision/src/receipts/verify.js';
import { Metrics } from '../../services/decision/src/telemetry/metrics.js';

const key = generateSigningKey();
const keys = new Map([[key.kid, key.publicKey]]);
const TAG = sessionTag('default', 's-1');
const SETTINGS: ChainSettings = { queueMax: 256, queueWaitMs: 10_000, deadlineMs: 5000, minAttempts: 8 };

function chainOver(store: Pick<SessionStore, 'load' | 'commit'>, options: Partial<ChainSettings> = {}) {
  const metrics = new Metrics();
  const slept: number[] = [];
  const chain = new SessionChain({
    store,
    signingKey: key,
    metrics,
    producer: { id: 'test', version: '0' },
    settings: { ...SETTINGS, ...options },
    random: () => 0.5,
    sleep: async (ms) => {
      slept.push(ms);
    },
  });
  return { chain, metrics, slept };
}

/** A step that counts one action per append, as a decision does. */
const countStep =
  (label: string): Step<{ seq: number; label: string }> =>
  (state) => ({
    append: {
      kind: 'decision',
      meta: state.meta ?? { id: 's-1', tenant: 'default', started_at: '2026-01-01T00:00:00.000Z' },
      at: '2026-01-01T00:00:00.000Z',
      content: {
        action: { id: label, tool: 't', parameters_hash: 'sha256:0', parameters: {} },
        identity: { verified: false, method: 'none' },
        context_hash: 'sha256:0',
        decision: 'ALLOW',
        reasons: [],
        policy: { revision: 'r', hash: 'sha256:0', path: 'aarm/decision' },
      },
      summary: { ...state.summary, action_count: state.summary.action_count + 1 },
    },
    answer: (signed) => ({ seq: signed.receipt.seq, label }),
  });

async function conflicts(metrics: Metrics): Promise<number> {
  return (await metrics.commitConflicts.get()).values[0]?.value ?? 0;
}

async function waitingGauge(metrics: Metrics): Promise<number> {
  return (await metrics.sessionQueueWaiting.get()).values[0]?.value ?? 0;
}

async function refusals(metrics: Metrics): Promise<Record<string, number>> {
  const values = (await metrics.sessionQueueRefusals.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.reason), v.value]));
}

describe('the session chain in one process', () => {
  test('concurrent appends to one session queue in arrival order: one chain, no conflict', async () => {
    const store = new MemorySessionStore(60);
    const { chain, metrics } = chainOver(store);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => chain.append(TAG, {}, countStep(`a${i}`))));
    assert.deepEqual(
      answers.map((a) => a.seq),
      Array.from({ length: 50 }, (_, i) => i + 1),
      'each append saw the one before it, in the order they arrived',
    );
    assert.equal(await conflicts(metrics), 0, 'no commit was refused');
    const receipts = await store.listReceipts(TAG);
    assert.deepEqual(verifyReceipts(receipts, keys).problems, []);
    assert.equal(receipts[0]!.prev_hash, null);
    assert.equal((await store.load(TAG)).summary.action_count, 50);
  });

  test('sessions do not wait for each other', async () => {
    const store = new MemorySessionStore(60);
    const { chain } = chainOver(store);
    let release!: () => void;
    const blocked = chain.append(TAG, {}, async (state, turn) => {
      await new Promise<void>((resolve) => (release = resolve));
      return countStep('slow')(state, turn);
    });
    const other = await chain.append(sessionTag('default', 's-2'), {}, countStep('other'));
    assert.equal(other.seq, 1, 'another session appended while the first was busy');
    release();
    assert.equal((await blocked).seq, 1);
  });

  test('a step that answers without appending writes nothing', async () => {
    const store = new MemorySessionStore(60);
    const { chain } = chainOver(store);
    assert.equal(await chain.append(TAG, {}, () => ({ done: 'replayed' })), 'replayed');
    assert.equal((await store.load(TAG)).seq, 0);
    assert.deepEqual(await store.listReceipts(TAG), []);
  });

  test("a step's error leaves the chain untouched and frees the session for the next step", async () => {
    const store = new MemorySessionStore(60);
    const { chain } = chainOver(store);
    const failing = chain.append(TAG, {}, () => {
      throw new ArbiterError('conflict', 'refused by the step');
    });
    const next = chain.append(TAG, {}, countStep('next'));
    await assert.rejects(failing, { code: 'conflict' });
    assert.equal((await next).seq, 1);
  });

  test('past the queue bound, or past the wait bound, a step is refused as contention, and counted', async () => {
    const metrics = new Metrics();
    const lanes = new Lanes({ maxQueue: 2, maxWaitMs: 50 }, metrics);
    let release!: () => void;
    const running = lanes.run('k', () => new Promise<void>((resolve) => (release = resolve)));
    const waiting = [lanes.run('k', async () => 'second'), lanes.run('k', async () => 'third')];
    assert.equal(await waitingGauge(metrics), 2, 'the running step is not waiting');
    await assert.rejects(
      lanes.run('k', async () => 'fourth'),
      (err: ArbiterError) => {
        assert.equal(err.code, 'contention');
        assert.equal(err.status, 503);
        return true;
      },
    );
    assert.deepEqual(await refusals(metrics), { full: 1 });
    // Nobody releases the lane: both waiters reach their wait bound.
    for (const w of waiting) await assert.rejects(w, { code: 'contention' });
    assert.equal(lanes.waiting('k'), 0, 'timed-out waiters leave the queue');
    assert.equal(await waitingGauge(metrics), 0);
    assert.deepEqual(await refusals(metrics), { full: 1, wait: 2 });
    release();
    await running;
    assert.equal(await lanes.run('k', async () => 'later'), 'later', 'the lane is free again');
  });

  test('the waiting gauge follows the queue as turns are handed on', async () => {
    const store = new MemorySessionStore(60);
    const { chain, metrics } = chainOver(store);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = chain.append(TAG, {}, async (state, turn) => {
      await gate;
      return countStep('first')(state, turn);
    });
    const rest = Array.from({ length: 3 }, (_, i) => chain.append(TAG, {}, countStep(`w${i}`)));
    assert.equal(await waitingGauge(metrics), 3);
    release();
    await Promise.all([first, ...rest]);
    assert.equal(await waitingGauge(metrics), 0, 'every waiter got its turn');
    assert.deepEqual(await refusals(metrics), {});
  });
});

/** A store another replica writes to as well: the first `times` commits find the session moved on. */
function racedStore(store: MemorySessionStore, times: number, result: CommitResult = 'conflict') {
  let left = times;
  let commits = 0;
  return {
    commits: () => commits,
    load: store.load.bind(store),
    commit: async (c: Commit): Promise<CommitResult> => {
      commits++;
      if (left-- > 0) return result;
      return store.commit(c);
    },
  };
}

describe('the session chain across replicas', () => {
  test('a refused commit is stepped again on a new load, after a jittered, growing backoff', async () => {
    const memory = new MemorySessionStore(60);
    const store = racedStore(memory, 4);
    const { chain, metrics, slept } = chainOver(store);
    const loads: number[] = [];
    const answer = await chain.append(TAG, {}, (state, turn) => {
      loads.push(state.seq);
      return countStep('raced')(state, turn);
    });
    assert.equal(answer.seq, 1);
    assert.equal(loads.length, 5, 'the step ran once per attempt');
    assert.equal(store.commits(), 5);
    assert.equal(await conflicts(metrics), 4);
    // random() = 0.5 of a ceiling of 2, 4, 8, 16 ms.
    assert.deepEqual(slept, [1, 2, 4, 8]);
    assert.deepEqual(verifyReceipts(await memory.listReceipts(TAG), keys).problems, []);
  });

  test('a duplicate action id is loaded again at once: the next load replays it', async () => {
    const memory = new MemorySessionStore(60);
    const { chain, slept } = chainOver(racedStore(memory, 1, 'duplicate'));
    assert.equal((await chain.append(TAG, {}, countStep('dup'))).seq, 1);
    assert.deepEqual(slept, []);
  });

  test('past the deadline, and after the attempts it always gets, the answer is contention', async () => {
    const memory = new MemorySessionStore(60);
    const store = racedStore(memory, Number.POSITIVE_INFINITY);
    const { chain, metrics, slept } = chainOver(store, { deadlineMs: 0, minAttempts: 3 });
    await assert.rejects(chain.append(TAG, {}, countStep('never')), (err: ArbiterError) => {
      assert.equal(err.code, 'contention');
      assert.equal(err.status, 503);
      return true;
    });
    assert.equal(store.commits(), 3);
    assert.equal(await conflicts(metrics), 3);
    assert.deepEqual(slept, [1, 2], 'the attempts granted past the deadline still back off');
    assert.equal((await memory.load(TAG)).seq, 0, 'nothing was appended');
  });

  test('the backoff grows to its cap', async () => {
    const memory = new MemorySessionStore(60);
    const { chain, slept } = chainOver(racedStore(memory, 10), { minAttempts: 1 });
    assert.equal((await chain.append(TAG, {}, countStep('capped'))).seq, 1);
    assert.deepEqual(slept, [1, 2, 4, 8, 16, 32, 32, 32, 32, 32]);
  });
});

describe('the chain settings are part of the validated configuration', () => {
  test('defaults, and each variable read into config.chain', () => {
    assert.deepEqual(loadConfig({}).chain, SETTINGS);
    assert.deepEqual(
      loadConfig({
        ARBITER_SESSION_QUEUE_MAX: '4',
        ARBITER_SESSION_QUEUE_WAIT_MS: '250',
        ARBITER_COMMIT_DEADLINE_MS: '0',
        ARBITER_COMMIT_RETRIES: '3',
      }).chain,
      { queueMax: 4, queueWaitMs: 250, deadlineMs: 0, minAttempts: 3 },
    );
  });

  test('a bad value refuses the configuration, naming the variable', () => {
    for (const [name, bad] of [
      ['ARBITER_SESSION_QUEUE_MAX', '0'],
      ['ARBITER_SESSION_QUEUE_WAIT_MS', 'soon'],
      ['ARBITER_COMMIT_DEADLINE_MS', '-1'],
      ['ARBITER_COMMIT_RETRIES', '0'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: bad }),
        (err: Error) => err instanceof ConfigError && err.message.startsWith(`invalid configuration: ${name}: `),
        `${name}=${bad}`,
      );
    }
  });
});
