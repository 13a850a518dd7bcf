/**
 * schemas/receipt.v1.schema.json: the schema is valid draft 2020-12 that compiles in Ajv's
 * strict mode, documents every member, accepts receipts of every kind built the way the
 * service builds them (receiptHeader + signReceipt), and rejects the mutations an auditor
 * must notice even when the mutated receipt is signed again.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { newId, sessionTag } from '../../services/decision/src/context/ids.js';
import { hashOf } from '../../services/decision/src/receipts/canonical.js';
import { receiptHeader } from '../../services/decision/src/receipts/header.js';
import { generateSigningKey } from '../../services/decision/src/receipts/keys.js';
import { receiptHash, signReceipt } from '../../services/decision/src/receipts/sign.js';
import type { Receipt, ReceiptBody, ReceiptKind } from '../../services/decision/src/receipts/types.js';

const SCHEMA_PATH = join(import.meta.dirname, '..', '..', 'schemas', 'receipt.v1.schema.json');
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, any>;

function strictAjv(): Ajv2020 {
  // strict: true turns on every strict option (strictTypes, strictTuples, strictRequired too).
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormatsModule.default(ajv);
  return ajv;
}

const validate: ValidateFunction = strictAjv().compile(schema);

function errorsOf(receipt: unknown): ErrorObject[] {
  return validate(receipt) ? [] : [...(validate.errors ?? [])];
}

function assertValid(receipt: unknown, label: string): void {
  const errors = errorsOf(receipt);
  assert.deepEqual(errors, [], `${label} should validate`);
}

/** Invalid, and for the expected reason: some error at `instancePath` with `keyword`. */
function assertInvalid(
  receipt: unknown,
  expected: { instancePath: string; keyword: string; missingProperty?: string },
): void {
  const errors = errorsOf(receipt);
  assert.ok(errors.length > 0, 'should not validate');
  const hit = errors.some(
    (e) =>
      e.instancePath === expected.instancePath &&
      e.keyword === expected.keyword &&
      (expected.missingProperty === undefined ||
        (e.params as { missingProperty?: string }).missingProperty === expected.missingProperty),
  );
  assert.ok(
    hit,
    `expected a "${expected.keyword}" error at "${expected.instancePath}", got ${JSON.stringify(errors.map((e) => [e.instancePath, e.keyword, e.message]))}`,
  );
}

// --- receipts built the way the service builds them -------------------------------------------

const key = generateSigningKey();
const producer = { id: 'arbiter-test-1', version: '0.1.0' };
const tenant = 'default';
const sessionId = 's-schema';
const tag = sessionTag(tenant, sessionId);
const policy = { revision: 'afbf7faac42c', hash: `sha256:afbf7faac42c${'0'.repeat(52)}`, path: 'aarm/decision' };
const parameters = { sql: 'select 1', limit: 5000, api_key: hashOf('k-123') };
const action = {
  id: newId('act', tag),
  tool: 'db.query',
  operation: 'read',
  target: 'orders',
  parameters_hash: hashOf({ ...parameters, api_key: 'k-123' }),
  parameters,
};
const identity = { agent: 'agent-1', human: 'alice', verified: false, method: 'none' as const };
const summary = { action_count: 0, tools_used: {}, decisions: { ALLOW: 0, DENY: 0, MODIFY: 0, STEP_UP: 0, DEFER: 0 } };
const at = (s: number) => new Date(Date.UTC(2026, 10, 26, 3, 45, s, 321)).toISOString();
const later = new Date(Date.UTC(2026, 10, 26, 4, 45, 0, 0)).toISOString();

/** A session chain: each body gets the next seq and the previous receipt's hash. */
function chainOf(
  bodies: Array<(header: ReturnType<typeof receiptHeader>) => ReceiptBody>,
  kinds: ReceiptKind[],
): Receipt[] {
  const receipts: Receipt[] = [];
  bodies.forEach((build, i) => {
    const before = receipts.at(-1);
    const header = receiptHeader({
      receiptId: newId('rcpt', tag),
      kind: kinds[i]!,
      session: { id: sessionId, tenant },
      chain: { seq: i, head: before ? receiptHash(before) : null },
      at: at(i),
      producer,
      ...(i === 0 && { trace: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' } }),
    });
    receipts.push(signReceipt(build(header), key));
  });
  return receipts;
}

const input = {
  action: { ...action, parameters },
  session: { id: sessionId },
  identity: { ...identity, tenant, scopes: [], delegation: [] },
  context: summary,
  signals: {},
  now: at(0),
};
const decisionBody =
  (decision: ReceiptBody['decision'], extra: Partial<ReceiptBody> = {}) =>
  (h: ReturnType<typeof receiptHeader>): ReceiptBody => ({
    ...h,
    action,
    identity,
    context_hash: hashOf(summary),
    decision,
    reasons: [{ policy_id: 'catalog.tools', reason: `${decision} by the test` }],
    policy,
    input,
    result: { decision, reasons: [{ policy_id: 'catalog.tools', reason: `${decision} by the test` }] },
    ...extra,
  });

const approvalId = newId('apr', tag);
const approvalExpiredId = newId('apr', tag);
const deferralId = newId('dfr', tag);
const deferralEscalatedId = newId('dfr', tag);
const deferralExpiredId = newId('dfr', tag);
const escalatedTo = newId('apr', tag);

const modified = { sql: 'select 1', limit: 100, api_key: hashOf('k-123') };
const decisions = chainOf(
  [
    decisionBody('ALLOW'),
    decisionBody('MODIFY', {
      action: {
        ...action,
        modified_parameters: modified,
        modified_parameters_hash: hashOf({ ...modified, api_key: 'k-123' }),
      },
    }),
    decisionBody('STEP_UP', { approval: { id: approvalId, expires_at: later } }),
    decisionBody('DEFER', { deferral: { id: deferralId, expires_at: later, context_needed: ['ticket'] } }),
    decisionBody('DENY'),
    // An identity refusal: policy was not asked, so no input and no result.
    (h) => ({
      ...h,
      action,
      identity: { verified: false, method: 'jwt', problem: 'expired' },
      context_hash: hashOf(summary),
      decision: 'DENY',
      reasons: [{ policy_id: 'aarm.identity.expired', reason: 'the agent token has expired' }],
      policy,
    }),
    (h) => ({
      ...h,
      action,
      identity: {
        agent: 'analyst-bot',
        human: 'alice',
        tenant: 'acme',
        scopes: ['db:read'],
        delegation: [{ sub: 'orchestrator', client_id: 'c-1' }],
        token_hash: hashOf('token'),
        jti: 'j-1',
        verified: true,
        method: 'jwt',
      },
      context_hash: hashOf(summary),
      decision: 'ALLOW',
      reasons: [],
      policy,
      input,
      result: { decision: 'ALLOW', reasons: [] },
    }),
  ],
  ['decision', 'decision', 'decision', 'decision', 'decision', 'decision', 'decision'],
);

const pendingBody =
  (kind: 'approval' | 'deferral', decision: ReceiptBody['decision'], block: Record<string, unknown>) =>
  (h: ReturnType<typeof receiptHeader>): ReceiptBody => ({
    ...h,
    action,
    identity,
    context_hash: hashOf(summary),
    decision,
    reasons: [{ policy_id: `aarm.${kind}.test`, reason: 'test' }],
    policy,
    ...(kind === 'approval' ? { approval: block as never } : { deferral: block as never }),
  });

const others = chainOf(
  [
    pendingBody('approval', 'STEP_UP', {
      approver: 'carol',
      vote: 'approve',
      reason: 'fine',
      votes: 1,
      quorum: 2,
      id: approvalId,
      expires_at: later,
      status: 'pending',
    }),
    pendingBody('approval', 'ALLOW', {
      approver: 'dave',
      vote: 'approve',
      votes: 2,
      quorum: 2,
      id: approvalId,
      expires_at: later,
      status: 'approved',
    }),
    pendingBody('approval', 'DENY', { id: approvalExpiredId, expires_at: later, status: 'expired' }),
    pendingBody('deferral', 'ALLOW', {
      attempts: 1,
      resolution_hash: hashOf({ ticket: 'ok' }),
      resolved_by: 'anonymous',
      id: deferralId,
      expires_at: later,
      context_needed: ['ticket'],
      status: 'resolved',
    }),
    pendingBody('deferral', 'DEFER', {
      attempts: 1,
      resolution_hash: hashOf({ ticket: '?' }),
      resolved_by: 'anonymous',
      id: deferralEscalatedId,
      expires_at: later,
      context_needed: ['ticket'],
      status: 'pending',
    }),
    pendingBody('deferral', 'STEP_UP', {
      attempts: 2,
      resolution_hash: hashOf({ ticket: 'escalate' }),
      resolved_by: 'anonymous',
      escalated_to: escalatedTo,
      id: deferralEscalatedId,
      expires_at: later,
      context_needed: ['ticket'],
      status: 'escalated',
    }),
    pendingBody('deferral', 'DENY', {
      id: deferralExpiredId,
      expires_at: later,
      context_needed: [],
      status: 'expired',
    }),
    (h) => ({
      ...h,
      action: { id: action.id, tool: action.tool, parameters_hash: action.parameters_hash, parameters: null },
      identity: { agent: 'agent-1', verified: false, method: 'none' },
      context_hash: hashOf(summary),
      decision: 'ALLOW',
      reasons: [],
      policy,
      outcome: {
        status: 'success',
        output_hash: hashOf('output'),
        summary_hash: hashOf('3 rows'),
        data_classes: ['pii'],
        classification: 'CONFIDENTIAL',
        decision_receipt_id: decisions[0]!.receipt_id,
        reported_by: 'anonymous',
        unauthorised: false,
        content_hash: hashOf([{ name: 'Ann', email: 'ann@customer.io' }]),
        trust: 'trusted',
        injection_score: 0.35,
        entities: 1,
        facts: ['change_freeze', 'region'],
      },
    }),
  ],
  ['approval', 'approval', 'approval', 'deferral', 'deferral', 'deferral', 'deferral', 'outcome'],
);

const allowed = decisions[0]!;
const stepUp = decisions[2]!;
const vote = others[0]!;
const resolution = others[3]!;
const outcome = others[7]!;

/** A deep copy with `edit` applied and signed again: the schema, not the signature, must catch it. */
function mutated(receipt: Receipt, edit: (r: any) => void, resign = true): any {
  const copy = structuredClone(receipt) as any;
  edit(copy);
  return resign ? signReceipt(copy as ReceiptBody, key) : copy;
}

describe('the receipt schema', () => {
  test('is valid draft 2020-12 and compiles in strict mode', () => {
    const ajv = strictAjv();
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.$id, 'https://arbiter.dev/schemas/receipt.v1.schema.json');
    assert.equal(ajv.validateSchema(schema), true, JSON.stringify(ajv.errors));
    assert.doesNotThrow(() => ajv.compile(schema));
  });

  test('closes the top level and the fixed blocks', () => {
    assert.equal(schema.additionalProperties, false);
    for (const block of ['signature', 'policy', 'labels', 'approval', 'deferral', 'outcome', 'reason']) {
      assert.equal(schema.$defs[block].additionalProperties, false, `$defs/${block}`);
    }
  });

  test('describes every member it defines (the descriptions are the reference documentation)', () => {
    const missing: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (node === null || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n.properties && typeof n.properties === 'object') {
        for (const [name, sub] of Object.entries(n.properties as Record<string, unknown>)) {
          if (
            typeof sub !== 'object' ||
            sub === null ||
            typeof (sub as { description?: unknown }).description !== 'string'
          ) {
            missing.push(`${path}/properties/${name}`);
          }
        }
      }
      for (const [k, v] of Object.entries(n)) {
        // if/then/else and the per-kind rules constrain members described elsewhere.
        if (['if', 'then', 'else', 'allOf', 'properties'].includes(k)) continue;
        walk(v, `${path}/${k}`);
      }
      if (n.properties) for (const [name, sub] of Object.entries(n.properties)) walk(sub, `${path}/properties/${name}`);
    };
    const {
      decisionReceipt: _d,
      approvalReceipt: _a,
      deferralReceipt: _f,
      outcomeReceipt: _o,
      ...blocks
    } = schema.$defs as Record<string, unknown>;
    walk({ ...schema, $defs: blocks }, '#');
    assert.deepEqual(missing, []);
  });

  test('the fixture receipts chain like the service writes them', () => {
    for (const chain of [decisions, others]) {
      chain.forEach((r, i) => {
        assert.equal(r.seq, i + 1);
        assert.equal(r.prev_hash, i === 0 ? null : receiptHash(chain[i - 1]!));
      });
    }
  });
});

describe('receipts of every kind validate', () => {
  const labels = ['ALLOW', 'MODIFY', 'STEP_UP', 'DEFER', 'DENY', 'identity refusal', 'verified jwt identity'];
  decisions.forEach((r, i) => test(`decision: ${labels[i]}`, () => assertValid(r, labels[i]!)));
  const otherLabels = [
    'approval vote (pending)',
    'approval vote (approved)',
    'approval expiry',
    'deferral resolved',
    'deferral re-deferred',
    'deferral escalated',
    'deferral expiry',
    'outcome',
  ];
  others.forEach((r, i) => test(`${r.kind}: ${otherLabels[i]}`, () => assertValid(r, otherLabels[i]!)));

  test('an outcome without the optional hashes and classification (an error with no labels)', () => {
    assertValid(
      mutated(outcome, (r) => {
        r.outcome = {
          status: 'error',
          data_classes: [],
          decision_receipt_id: allowed.receipt_id,
          reported_by: 'gateway',
          unauthorised: true,
        };
        r.decision = 'DENY';
      }),
      'minimal outcome',
    );
  });

  test('a receipt without trace context', () => {
    assertValid(
      mutated(allowed, (r) => {
        delete r.trace_id;
        delete r.span_id;
      }),
      'no trace',
    );
  });
});

describe('mutations an auditor must notice do not validate', () => {
  test('missing signature', () => {
    assertInvalid(
      mutated(allowed, (r) => delete r.signature, false),
      { instancePath: '', keyword: 'required', missingProperty: 'signature' },
    );
  });
  test('an extra top-level member', () => {
    assertInvalid(
      mutated(allowed, (r) => (r.approved_by = 'mallory')),
      { instancePath: '', keyword: 'additionalProperties' },
    );
  });
  test('an extra member in the signature', () => {
    assertInvalid(
      mutated(allowed, (r) => (r.signature.x5c = 'x'), false),
      { instancePath: '/signature', keyword: 'additionalProperties' },
    );
  });
  test('a signature value that is not 64 bytes of base64url, or another alg', () => {
    assertInvalid(
      mutated(allowed, (r) => (r.signature.value = `${r.signature.value}AA`), false),
      { instancePath: '/signature/value', keyword: 'pattern' },
    );
    assertInvalid(
      mutated(allowed, (r) => (r.signature.value = r.signature.value.replace(/.$/, 'B')), false),
      { instancePath: '/signature/value', keyword: 'pattern' },
    );
    assertInvalid(
      mutated(allowed, (r) => (r.signature.alg = 'ES256'), false),
      { instancePath: '/signature/alg', keyword: 'const' },
    );
  });
  test('bad hash patterns', () => {
    assertInvalid(
      mutated(allowed, (r) => (r.context_hash = `sha256:${'A'.repeat(64)}`)),
      { instancePath: '/context_hash', keyword: 'pattern' },
    );
    assertInvalid(
      mutated(allowed, (r) => (r.action.parameters_hash = 'md5:abc')),
      { instancePath: '/action/parameters_hash', keyword: 'pattern' },
    );
    assertInvalid(
      mutated(allowed, (r) => (r.policy.hash = r.policy.hash.slice(0, -1))),
      { instancePath: '/policy/hash', keyword: 'pattern' },
    );
    assertInvalid(
      mutated(decisions[1]!, (r) => (r.prev_hash = 'sha256:')),
      { instancePath: '/prev_hash', keyword: 'pattern' },
    );
  });
  test('seq 0, or not an integer', () => {
    assertInvalid(
      mutated(allowed, (r) => (r.seq = 0)),
      { instancePath: '/seq', keyword: 'minimum' },
    );
    assertInvalid(
      mutated(decisions[1]!, (r) => (r.seq = 1.5)),
      { instancePath: '/seq', keyword: 'type' },
    );
  });
  test('prev_hash null with seq 2, and a prev_hash on seq 1', () => {
    assertInvalid(
      mutated(decisions[1]!, (r) => (r.prev_hash = null)),
      { instancePath: '/prev_hash', keyword: 'type' },
    );
    assertInvalid(
      mutated(allowed, (r) => (r.prev_hash = hashOf('x'))),
      { instancePath: '/prev_hash', keyword: 'type' },
    );
  });
  test('an unknown kind', () => {
    assertInvalid(
      mutated(allowed, (r) => (r.kind = 'audit')),
      { instancePath: '/kind', keyword: 'enum' },
    );
  });
  test('a decision not in the enum', () => {
    assertInvalid(
      mutated(allowed, (r) => (r.decision = 'MAYBE')),
      { instancePath: '/decision', keyword: 'enum' },
    );
  });
  test('an approval block with an unknown member on a decision receipt', () => {
    assertInvalid(
      mutated(stepUp, (r) => (r.approval.granted = true)),
      { instancePath: '/approval', keyword: 'additionalProperties' },
    );
  });
  test('vote members on the approval block of a decision receipt', () => {
    assertInvalid(
      mutated(stepUp, (r) => (r.approval.status = 'approved')),
      { instancePath: '/approval', keyword: 'propertyNames' },
    );
  });
  test('a STEP_UP decision without its approval, an approval block on an ALLOW', () => {
    assertInvalid(
      mutated(stepUp, (r) => delete r.approval),
      { instancePath: '', keyword: 'required', missingProperty: 'approval' },
    );
    assertInvalid(
      mutated(allowed, (r) => (r.approval = stepUp.approval)),
      { instancePath: '/approval', keyword: 'false schema' },
    );
  });
  test('a MODIFY decision without its modified parameters', () => {
    assertInvalid(
      mutated(decisions[1]!, (r) => {
        delete r.action.modified_parameters;
        delete r.action.modified_parameters_hash;
      }),
      { instancePath: '/action', keyword: 'required' },
    );
  });
  test('an ALLOW decision without input and result (only refusals, always DENY, lack them)', () => {
    assertInvalid(
      mutated(allowed, (r) => {
        delete r.input;
        delete r.result;
      }),
      { instancePath: '/decision', keyword: 'const' },
    );
    assertInvalid(
      mutated(allowed, (r) => delete r.result),
      { instancePath: '', keyword: 'dependentRequired' },
    );
  });
  test('an approval receipt without its approval block, or with input', () => {
    assertInvalid(
      mutated(vote, (r) => delete r.approval),
      { instancePath: '', keyword: 'required', missingProperty: 'approval' },
    );
    assertInvalid(
      mutated(vote, (r) => (r.input = {})),
      { instancePath: '/input', keyword: 'false schema' },
    );
    assertInvalid(
      mutated(vote, (r) => delete r.approval.status),
      { instancePath: '/approval', keyword: 'required', missingProperty: 'status' },
    );
  });
  test('a deferral receipt with an unknown status or member', () => {
    assertInvalid(
      mutated(resolution, (r) => (r.deferral.status = 'done')),
      { instancePath: '/deferral/status', keyword: 'enum' },
    );
    assertInvalid(
      mutated(resolution, (r) => (r.deferral.resolution = { ticket: 'ok' })),
      { instancePath: '/deferral', keyword: 'additionalProperties' },
    );
  });
  test('an outcome receipt without its block, with parameters, or with an unknown member', () => {
    assertInvalid(
      mutated(outcome, (r) => delete r.outcome),
      { instancePath: '', keyword: 'required', missingProperty: 'outcome' },
    );
    assertInvalid(
      mutated(outcome, (r) => (r.action.parameters = { sql: 'select 1' })),
      { instancePath: '/action/parameters', keyword: 'type' },
    );
    assertInvalid(
      mutated(outcome, (r) => (r.outcome.summary = 'alice@example.com')),
      { instancePath: '/outcome', keyword: 'additionalProperties' },
    );
  });
  test("an outcome's content fields: a hash not the content, a known trust, a score in 0..1, counts and keys", () => {
    assertInvalid(
      mutated(outcome, (r) => (r.outcome.content_hash = 'ann@customer.io')),
      { instancePath: '/outcome/content_hash', keyword: 'pattern' },
    );
    assertInvalid(
      mutated(outcome, (r) => (r.outcome.content = [{ email: 'ann@customer.io' }])),
      { instancePath: '/outcome', keyword: 'additionalProperties' },
    );
    assertInvalid(
      mutated(outcome, (r) => (r.outcome.trust = 'maybe')),
      { instancePath: '/outcome/trust', keyword: 'enum' },
    );
    assertInvalid(
      mutated(outcome, (r) => (r.outcome.injection_score = 1.5)),
      { instancePath: '/outcome/injection_score', keyword: 'maximum' },
    );
    assertInvalid(
      mutated(outcome, (r) => (r.outcome.entities = 2.5)),
      { instancePath: '/outcome/entities', keyword: 'type' },
    );
    assertInvalid(
      mutated(outcome, (r) => (r.outcome.facts = { change_freeze: true })),
      { instancePath: '/outcome/facts', keyword: 'type' },
    );
    assertInvalid(
      mutated(outcome, (r) => (r.outcome.facts = ['region', 'region'])),
      { instancePath: '/outcome/facts', keyword: 'uniqueItems' },
    );
  });
  test('timestamps that are not RFC 3339 UTC with milliseconds', () => {
    assertInvalid(
      mutated(allowed, (r) => (r.timestamp = '26/11/2026 03:45')),
      { instancePath: '/timestamp', keyword: 'format' },
    );
    assertInvalid(
      mutated(allowed, (r) => (r.timestamp = '2026-11-26T04:45:07+01:00')),
      { instancePath: '/timestamp', keyword: 'pattern' },
    );
  });
  test('trace_id without span_id', () => {
    assertInvalid(
      mutated(allowed, (r) => delete r.span_id),
      { instancePath: '', keyword: 'dependentRequired' },
    );
  });
  test('a version other than "1"', () => {
    assertInvalid(
      mutated(allowed, (r) => (r.version = '2')),
      { instancePath: '/version', keyword: 'const' },
    );
  });
});
