/**
 * The decision cases of test/cases/*.json (the same files `make test-rego` runs through
 * opa's evaluator, test/cases/cases_test.rego) through the shipped policy compiled with
 * the real `opa build` and evaluated by the real WASM engine in its worker pool: the two
 * evaluators must agree on every case, and both with what the case expects.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../services/decision/src/config.js';
import { PolicyEngine } from '../../services/decision/src/policy/engine.js';

const CASES = join(import.meta.dirname, '..', 'cases');

interface DecisionCase {
  description: string;
  decision: string;
  policy_ids?: string[];
  input: Record<string, unknown>;
}

/** Each file holds one case under its own name (opa merges the files into one document). */
function loadCases(): Array<{ name: string; file: string; case: DecisionCase }> {
  return readdirSync(CASES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const document = JSON.parse(readFileSync(join(CASES, file), 'utf8')) as Record<string, DecisionCase>;
      const names = Object.keys(document);
      assert.deepEqual(names, [basename(file, '.json')], `${file} holds one case named after the file`);
      const name = names[0]!;
      return { name, file, case: document[name]! };
    });
}

const cases = loadCases();

describe('decision cases through the compiled WASM', () => {
  let engine: PolicyEngine;
  before(async () => {
    const config = loadConfig({
      PATH: process.env.PATH ?? '',
      ...(process.env.ARBITER_OPA && { ARBITER_OPA: process.env.ARBITER_OPA }),
    });
    engine = new PolicyEngine({
      ...config.policy,
      capabilities: config.policy.wasmCapabilities,
      timeoutMs: config.policy.compileTimeoutMs,
      pollMs: 0,
    });
    const loaded = await engine.reload();
    assert.equal(loaded.outcome, 'loaded', JSON.stringify(loaded));
  });
  after(() => engine.stop());

  test('the folder holds at least 25 cases, among them every kind of decision', () => {
    assert.ok(cases.length >= 25, `${cases.length} cases`);
    const decisions = new Set(cases.map((c) => c.case.decision));
    for (const d of ['ALLOW', 'DENY', 'MODIFY', 'STEP_UP', 'DEFER'])
      assert.ok(decisions.has(d), `a case that expects ${d}`);
  });

  for (const c of cases) {
    test(`${c.name}: ${c.case.description}`, async () => {
      const { decision } = await engine.evaluate(c.case.input);
      assert.equal(decision.decision, c.case.decision, JSON.stringify(decision.reasons));
      if (c.case.policy_ids) {
        const ids = [...new Set(decision.reasons.map((r) => r.policy_id))].sort();
        assert.deepEqual(ids, [...c.case.policy_ids].sort());
      }
    });
  }
});
