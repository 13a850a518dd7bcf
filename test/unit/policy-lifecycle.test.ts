/**
 * The decision lifecycle (decide.ts) against the static Policy double (policy/static.ts)
 * on the memory store with a fixed clock: no `opa build`, no HTTP. What policy answers,
 * and which revision answered, is what the decision and its receipt say; an evaluation
 * that fails leaves nothing behind and never turns into an ALLOW.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionChain } from '../../services/decision/src/chain/chain.js';
import { sessionTag } from '../../services/decision/src/context/ids.js';
import { MemorySessionStore } from '../../services/decision/src/context/memory.js';
import { decide, type DecideDeps } from '../../services/decision/src/decide.js';
import { ArbiterError } from '../../services/decision/src/errors.js';
import { UNAUTHENTICATED_CALLER } from '../../services/decision/src/intercept/agent.js';
import { DecideRequestSchema } from '../../services/decision/src/intercept/envelope.js';
import { NO_NOTIFIER } from '../../services/decision/src/notify/webhooks.js';
import { StaticPolicy, type Answer } from '../../services/decision/src/policy/static.js';
import { generateSigningKey } from '../../services/decision/src/receipts/keys.js';
import { Metrics } from '../../services/decision/src/telemetry/metrics.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const key = generateSigningKey();

function lifecycle(policy: StaticPolicy) {
  const store = new MemorySessionStore(3600, () => NOW.getTime());
  const metrics = new Metrics();
  const producer = { id: 'unit', version: '0' };
  const deps: DecideDeps = {
    store,
    policy,
    signingKey: key,
    metrics,
    clock: () => NOW,
    verifier: undefined,
    notifier: NO_NOTIFIER,
    producer,
    historySize: 20,
    chain: new SessionChain({
      store,
      signingKey: key,
      metrics,
      producer,
      settings: { queueMax: 16, queueWaitMs: 1000, deadlineMs: 1000, minAttempts: 2 },
    }),
    capabilityTtlSeconds: 60,
  };
  const ask = (session: string, parameters: Record<string, unknown> = { limit: 5000 }) =>
    decide(
      deps,
      UNAUTHENTICATED_CALLER,
      DecideRequestSchema.parse({
        action: { tool: 'db.query', operation: 'read', parameters },
        session: { id: session },
        identity: { agent: 'agent-1', human: 'alice' },
      }),
    );
  const receipts = (session: string) => store.listReceipts(sessionTag(UNAUTHENTICATED_CALLER.tenant, session));
  return { ask, receipts };
}

const allow: Answer = () => ({ decision: 'ALLOW', reasons: [{ policy_id: 'ok', reason: 'fine' }] });

describe('the lifecycle with a static policy', () => {
  test('the answer and the receipt name the revision that evaluated the decision', async () => {
    const policy = new StaticPolicy(allow, { revision: 'rev-1' });
    const { ask, receipts } = lifecycle(policy);
    const answer = await ask('s-allow');
    assert.equal(answer.decision, 'ALLOW');
    assert.deepEqual(answer.reasons, [{ policy_id: 'ok', reason: 'fine' }]);
    assert.equal(answer.policy.revision, 'rev-1');
    const [receipt] = await receipts('s-allow');
    assert.equal(receipt?.policy.revision, 'rev-1');
    assert.equal(receipt?.decision, 'ALLOW');
  });

  for (const code of ['policy_timeout', 'policy_busy', 'policy_unavailable'] as const) {
    test(`an evaluation that fails with ${code} is that error, and nothing is committed`, async () => {
      const policy = new StaticPolicy(() => {
        throw new ArbiterError(code);
      });
      const { ask, receipts } = lifecycle(policy);
      await assert.rejects(ask('s-fail'), (err: unknown) => err instanceof ArbiterError && err.code === code);
      assert.deepEqual(await receipts('s-fail'), []);
      // The session is untouched: the next decision is its first.
      policy.publish('rev-2', allow);
      const next = await ask('s-fail');
      assert.equal(next.decision, 'ALLOW');
      assert.equal((await receipts('s-fail')).length, 1);
    });
  }

  test('a malformed answer is policy_unavailable, never a default', async () => {
    const { ask } = lifecycle(new StaticPolicy(() => ({ decision: 'MAYBE', reasons: [] })));
    await assert.rejects(
      ask('s-bad'),
      (err: unknown) => err instanceof ArbiterError && err.code === 'policy_unavailable',
    );
  });

  test('a MODIFY is checked again under the revision that asked for it, not one loaded meanwhile', async () => {
    const policy = new StaticPolicy(() => ({ decision: 'DENY', reasons: [{ policy_id: 'old', reason: 'old' }] }), {
      revision: 'rev-0',
    });
    const seen: string[] = [];
    const rewrite: Answer = (input) => {
      const limit = (input.action as { parameters: { limit: number } }).parameters.limit;
      seen.push(`rev-1:${limit}`);
      // A reload lands while this decision is between its evaluation and the recheck.
      if (limit > 100) {
        policy.publish('rev-2', (i) => {
          seen.push(`rev-2:${(i.action as { parameters: { limit: number } }).parameters.limit}`);
          return { decision: 'DENY', reasons: [{ policy_id: 'new', reason: 'new' }] };
        });
        return {
          decision: 'MODIFY',
          reasons: [{ policy_id: 'cap', reason: 'capped' }],
          patch: [{ op: 'replace', path: '/limit', value: 100 }],
        };
      }
      return { decision: 'ALLOW', reasons: [] };
    };
    policy.publish('rev-1', rewrite);
    const { ask, receipts } = lifecycle(policy);
    const answer = await ask('s-modify');
    assert.deepEqual(seen, ['rev-1:5000', 'rev-1:100']);
    assert.equal(answer.decision, 'MODIFY');
    assert.deepEqual(answer.parameters, { limit: 100 });
    assert.equal(answer.policy.revision, 'rev-1');
    assert.equal((await receipts('s-modify'))[0]?.policy.revision, 'rev-1');
    // The next decision is evaluated by the revision serving now.
    const next = await ask('s-modify', { limit: 1 });
    assert.equal(next.decision, 'DENY');
    assert.equal(next.policy.revision, 'rev-2');
  });

  test('a recheck whose revision is no longer held does not let the rewrite stand', async () => {
    const policy = new StaticPolicy(allow, { revision: 'rev-0' });
    policy.publish('rev-1', () => {
      // Reloads land meanwhile, past what is kept: rev-1 is gone before the recheck.
      policy.publish('rev-2', allow);
      policy.forget('rev-1');
      return {
        decision: 'MODIFY',
        reasons: [{ policy_id: 'cap', reason: 'capped' }],
        patch: [{ op: 'replace', path: '/limit', value: 100 }],
      };
    });
    const { ask } = lifecycle(policy);
    const answer = await ask('s-gone');
    assert.equal(answer.decision, 'DENY');
    assert.equal(answer.reasons[0]?.policy_id, 'aarm.modify.revalidation');
  });
});
