import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { enforce, enforceChecked, MAX_DEFERRAL_SECONDS } from '../../services/decision/src/enforce/enforce.js';
import type { PolicyDecision } from '../../services/decision/src/policy/policy.js';

const reasons = [{ policy_id: 'p', reason: 'r', effect: 'MODIFY', priority: 0 }];

test('MODIFY applies the patch to a copy and returns the new parameters', () => {
  const params = { limit: 5000, nested: { keep: true } };
  const out = enforce({ decision: 'MODIFY', reasons, patch: [{ op: 'replace', path: '/limit', value: 100 }] }, params);
  assert.equal(out.decision, 'MODIFY');
  assert.deepEqual(out.parameters, { limit: 100, nested: { keep: true } });
  assert.equal(params.limit, 5000, 'the original parameters are untouched');
  assert.deepEqual(out.reasons, [{ policy_id: 'p', reason: 'r' }]);
});

const failing: Array<[string, PolicyDecision['patch']]> = [
  ['a path that does not exist', [{ op: 'replace', path: '/missing/deep', value: 1 }]],
  ['a failed test operation', [{ op: 'test', path: '/limit', value: 1 }]],
  ['an unknown operation', [{ op: 'explode', path: '/limit' }]],
  ['a patch that replaces the parameters with a string', [{ op: 'replace', path: '', value: 'x' }]],
  ['a prototype-polluting path', [{ op: 'add', path: '/__proto__/polluted', value: 1 }]],
];
for (const [name, patch] of failing) {
  test(`MODIFY with ${name} is DENY, not the original parameters`, () => {
    const out = enforce({ decision: 'MODIFY', reasons, patch }, { limit: 5000 });
    assert.equal(out.decision, 'DENY');
    assert.equal(out.parameters, undefined);
    assert.equal(out.reasons[0]?.policy_id, 'aarm.patch_failed');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
}

test('STEP_UP and DEFER carry their waits, bounded', () => {
  const up = enforce({ decision: 'STEP_UP', reasons, approvers: ['finance'], timeout_s: 60, risk: 'HIGH' }, {});
  assert.deepEqual(up.approval, {
    approvers: ['finance'],
    timeoutSeconds: 60,
    quorum: 1,
    fourEyes: false,
    risk: 'HIGH',
  });
  const defer = enforce({ decision: 'DEFER', reasons, context_needed: ['ticket'], timeout_s: 10 ** 9 }, {});
  assert.deepEqual(defer.deferral, { contextNeeded: ['ticket'], timeoutSeconds: MAX_DEFERRAL_SECONDS });
});

describe('a MODIFY is checked again on the parameters it produces', () => {
  const modify: PolicyDecision = {
    decision: 'MODIFY',
    reasons,
    patch: [{ op: 'replace', path: '/limit', value: 100 }],
  };
  const input = { action: { tool: 'db.query', parameters: { limit: 5000 } } };
  const seen: unknown[] = [];
  const answering = (decision: PolicyDecision) => async (i: Record<string, unknown>) => {
    seen.push((i.action as { parameters: unknown }).parameters);
    return decision;
  };

  test('it stands when the modified parameters are allowed, and the recheck saw them', async () => {
    const out = await enforceChecked(answering({ decision: 'ALLOW', reasons: [] }), input, modify, { limit: 5000 });
    assert.equal(out.decision, 'MODIFY');
    assert.deepEqual(seen.at(-1), { limit: 100 });
  });

  test('it stands when the recheck only repeats the same rewrite', async () => {
    assert.equal((await enforceChecked(answering(modify), input, modify, { limit: 5000 })).decision, 'MODIFY');
  });

  for (const other of ['STEP_UP', 'DENY', 'DEFER'] as const) {
    test(`it is DENY when the modified parameters would get ${other}`, async () => {
      const out = await enforceChecked(answering({ decision: other, reasons: [] }), input, modify, { limit: 5000 });
      assert.equal(out.decision, 'DENY');
      assert.equal(out.reasons[0]?.policy_id, 'aarm.modify.revalidation');
    });
  }

  test('it is DENY when the recheck wants yet another rewrite', async () => {
    const further: PolicyDecision = {
      decision: 'MODIFY',
      reasons,
      patch: [{ op: 'replace', path: '/limit', value: 10 }],
    };
    assert.equal((await enforceChecked(answering(further), input, modify, { limit: 5000 })).decision, 'DENY');
  });
});
