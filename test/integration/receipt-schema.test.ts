/**
 * schemas/receipt.v1.schema.json against the real service: every kind of receipt the
 * service writes (decisions of all five types, an identity refusal, an approval vote, an
 * approval expiry, a deferral resolution, an outcome), read back through
 * GET /v1/sessions/{id}/receipts on both stores, validates.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { hashOf } from '../../services/decision/src/receipts/canonical.js';
import { publicKeysFromJwks } from '../../services/decision/src/receipts/keys.js';
import type { Receipt } from '../../services/decision/src/receipts/types.js';
import { verifyReceipts } from '../../services/decision/src/receipts/verify.js';
import { decideBody, startTestArbiter, uniqueSession, type StoreKind, type TestArbiter } from '../support/arbiter.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FLOWS = join(ROOT, 'test', 'fixtures', 'policies', 'flows');
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const OUTCOME_CONTENT = [{ name: 'Ann Lee', email: 'ann@customer.io' }];

function compileSchema(): ValidateFunction {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormatsModule.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas', 'receipt.v1.schema.json'), 'utf8')) as object);
}

const validate = compileSchema();

/** What is wrong with a receipt, in a form an assertion message can show; [] when it validates. */
function problems(receipt: Receipt): string[] {
  if (validate(receipt)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.keyword}: ${e.message ?? ''}`);
}

async function receiptsOf(arbiter: TestArbiter, session: string): Promise<Receipt[]> {
  const res = await arbiter.get(`/v1/sessions/${encodeURIComponent(session)}/receipts`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.receipts as Receipt[];
}

/** Bounded wait until the session's chain satisfies `done` (the expiry receipt is written off the request path). */
async function waitForReceipts(
  arbiter: TestArbiter,
  session: string,
  done: (receipts: Receipt[]) => boolean,
): Promise<Receipt[]> {
  let receipts: Receipt[] = [];
  for (let i = 0; i < 100; i++) {
    receipts = await receiptsOf(arbiter, session);
    if (done(receipts)) return receipts;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(
    `the receipts of ${session} never got there: ${receipts.map((r) => `${r.kind}:${r.decision}`).join(', ')}`,
  );
}

for (const store of ['memory', 'redis'] as StoreKind[]) {
  describe(`receipts written by the service on the ${store} store match the schema`, () => {
    let flows: TestArbiter;
    let shipped: TestArbiter;
    const flowSession = uniqueSession('schema-flows');
    const shippedSession = uniqueSession('schema-shipped');
    let receipts: Receipt[] = [];

    before(async () => {
      // "pay" → STEP_UP, "rotate" → DEFER (resolved by {ticket: "ok"}), "read" → ALLOW.
      flows = await startTestArbiter({ store, env: { ARBITER_POLICY_DIR: FLOWS, ARBITER_EXPIRY_SWEEP_MS: '100' } });
      // The shipped policy: db.query above its row limit → MODIFY, dropping production → DENY.
      shipped = await startTestArbiter({ store });

      const decide = async (arbiter: TestArbiter, body: unknown, headers?: Record<string, string>) => {
        const res = await arbiter.post('/v1/decide', body, headers);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res.body;
      };

      // ALLOW (with the caller's trace context), and the outcome the PEP reports for it.
      const read = await decide(flows, decideBody(flowSession, 'read', { path: '/etc/motd', password: 'hunter2' }), {
        traceparent: TRACEPARENT,
      });
      assert.equal(read.decision, 'ALLOW');
      const reported = await flows.post(`/v1/actions/${read.action_id}/outcome`, {
        status: 'success',
        data_classes: ['pii'],
        content: OUTCOME_CONTENT,
        facts: { region: 'eu', change_freeze: false },
      });
      assert.equal(reported.status, 200, JSON.stringify(reported.body));

      // STEP_UP, then an approval vote that ends it in ALLOW.
      const pay = await decide(flows, decideBody(flowSession, 'pay', { amount: 5000 }));
      assert.equal(pay.decision, 'STEP_UP');
      const voted = await flows.post(`/v1/approvals/${pay.approval.id}`, { decision: 'approve', approver: 'carol' });
      assert.equal(voted.status, 200, JSON.stringify(voted.body));
      assert.equal(voted.body.status, 'approved');

      // DEFER, then a resolution that supplies the ticket.
      const rotate = await decide(flows, decideBody(flowSession, 'rotate', { key: 'db-primary' }));
      assert.equal(rotate.decision, 'DEFER');
      const resolved = await flows.post(`/v1/deferrals/${rotate.deferral.id}/resolve`, { context: { ticket: 'ok' } });
      assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
      assert.equal(resolved.body.status, 'resolved');

      // A STEP_UP nobody answers: it expires in DENY with its own receipt.
      const late = await decide(flows, decideBody(flowSession, 'pay', { amount: 10 }, { signals: { timeout_s: 1 } }));
      assert.equal(late.decision, 'STEP_UP');
      const waited = await flows.get(`/v1/approvals/${late.approval.id}?wait=10`);
      assert.equal(waited.body.status, 'expired');

      // An identity refusal: no agent, so policy is not asked.
      const { identity: _identity, ...anonymous } = decideBody(flowSession, 'read');
      const refused = await decide(flows, { ...anonymous, identity: { human: 'alice' } });
      assert.equal(refused.decision, 'DENY');

      // MODIFY and DENY under the shipped policy.
      const modify = await decide(shipped, decideBody(shippedSession, 'db.query', { sql: 'select 1', limit: 5000 }));
      assert.equal(modify.decision, 'MODIFY');
      const deny = await decide(shipped, decideBody(shippedSession, 'db.drop', { database: 'production' }));
      assert.equal(deny.decision, 'DENY');

      const expiredApproval = (r: Receipt) => r.kind === 'approval' && r.approval?.status === 'expired';
      receipts = [
        ...(await waitForReceipts(flows, flowSession, (rs) => rs.some(expiredApproval) && rs.length >= 9)),
        ...(await receiptsOf(shipped, shippedSession)),
      ];
    });
    after(async () => {
      await Promise.all([flows?.stop(), shipped?.stop()]);
    });

    test('every receipt validates against schemas/receipt.v1.schema.json', () => {
      assert.ok(receipts.length >= 11, `expected the whole flow, got ${receipts.length} receipts`);
      const invalid = receipts
        .map((r) => ({ what: `${r.session_id}#${r.seq} ${r.kind}:${r.decision}`, problems: problems(r) }))
        .filter((r) => r.problems.length > 0);
      assert.deepEqual(invalid, []);
    });

    test('the kinds seen are exactly decision, approval, deferral and outcome', () => {
      assert.deepEqual([...new Set(receipts.map((r) => r.kind))].sort(), [
        'approval',
        'decision',
        'deferral',
        'outcome',
      ]);
    });

    test('decision receipts of all five decisions were validated', () => {
      const decided = new Set(receipts.filter((r) => r.kind === 'decision').map((r) => r.decision));
      assert.deepEqual([...decided].sort(), ['ALLOW', 'DEFER', 'DENY', 'MODIFY', 'STEP_UP']);
    });

    test('the special cases were among them: refusal, vote, expiry, resolution, outcome, trace context', () => {
      const refusal = receipts.find(
        (r) => r.kind === 'decision' && r.reasons[0]?.policy_id === 'aarm.identity.missing',
      );
      assert.ok(refusal, 'an identity refusal');
      assert.equal(refusal.input, undefined, 'policy was not asked: no input');
      assert.equal(refusal.result, undefined, 'policy was not asked: no result');
      assert.ok(
        receipts.some(
          (r) => r.kind === 'approval' && r.approval?.approver === 'carol' && r.approval.vote === 'approve',
        ),
        'a vote',
      );
      assert.ok(
        receipts.some((r) => r.kind === 'approval' && r.approval?.status === 'expired' && r.decision === 'DENY'),
        'an expiry',
      );
      assert.ok(
        receipts.some((r) => r.kind === 'deferral' && r.deferral?.status === 'resolved' && r.deferral.resolution_hash),
        'a resolution',
      );
      const outcome = receipts.find((r) => r.kind === 'outcome');
      assert.deepEqual(outcome?.outcome?.data_classes, ['pii']);
      // What the content counted as, never the content itself.
      assert.equal(outcome?.outcome?.content_hash, hashOf(OUTCOME_CONTENT));
      assert.equal(outcome?.outcome?.trust, 'trusted');
      assert.equal(outcome?.outcome?.injection_score, 0);
      assert.equal(outcome?.outcome?.entities, 1, 'the address');
      assert.deepEqual(outcome?.outcome?.facts, ['change_freeze', 'region']);
      assert.ok(!JSON.stringify(outcome).includes('ann@customer.io'));
      assert.ok(
        receipts.some((r) => r.trace_id === '4bf92f3577b34da6a3ce929d0e0e4736' && r.span_id !== undefined),
        'trace context',
      );
      assert.ok(
        receipts.some((r) => r.action.modified_parameters !== undefined),
        'modified parameters',
      );
    });

    test('what validated is also what verifies: signatures and chains hold', async () => {
      for (const [arbiter, session] of [
        [flows, flowSession],
        [shipped, shippedSession],
      ] as const) {
        const keys = publicKeysFromJwks((await arbiter.get('/v1/keys')).body);
        const report = verifyReceipts(await receiptsOf(arbiter, session), keys);
        assert.equal(report.ok, true, JSON.stringify(report.problems));
      }
    });
  });
}
