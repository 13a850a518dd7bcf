/**
 * POST /v1/decide end to end: the shipped policy compiled by the real opa, evaluated in
 * real WASM, behind the real HTTP server, on both stores (real Redis for 'redis').
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { publicKeysFromJwks } from '../../services/decision/src/receipts/keys.js';
import { verifyReceipts } from '../../services/decision/src/receipts/verify.js';
import { decideBody, startTestArbiter, uniqueSession, type StoreKind, type TestArbiter } from '../support/arbiter.js';

const ECHO_POLICY = join(import.meta.dirname, '..', 'fixtures', 'policies', 'echo');
const RECEIPT_SCHEMA = join(import.meta.dirname, '..', '..', 'schemas', 'receipt.v1.schema.json');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

for (const store of ['memory', 'redis'] as StoreKind[]) {
  describe(`decide on the ${store} store with the shipped policy`, () => {
    let arbiter: TestArbiter;
    before(async () => {
      arbiter = await startTestArbiter({ store });
    });
    after(() => arbiter.stop());

    test('a forbidden action is denied with its policy and reason', async () => {
      const res = await arbiter.post(
        '/v1/decide',
        decideBody(uniqueSession('deny'), 'db.drop', { database: 'production' }),
      );
      assert.equal(res.status, 200);
      assert.equal(res.body.decision, 'DENY');
      assert.deepEqual(
        res.body.reasons.map((r: { policy_id: string }) => r.policy_id),
        ['no-prod-drop'],
      );
      assert.match(res.body.receipt.hash, /^sha256:[0-9a-f]{64}$/);
      assert.match(res.body.policy.hash, /^sha256:[0-9a-f]{64}$/);
    });

    test('production spelled with a NUL, a zero-width space or fullwidth letters is production', async () => {
      for (const database of ['production\u0000', 'prod\u200buction', 'ｐｒｏｄｕｃｔｉｏｎ']) {
        const res = await arbiter.post('/v1/decide', decideBody(uniqueSession('deny'), 'db.drop', { database }));
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.decision, 'DENY', JSON.stringify(database));
        assert.ok(
          res.body.reasons.some((r: { policy_id: string }) => r.policy_id === 'no-prod-drop'),
          JSON.stringify(res.body.reasons),
        );
      }
      const other = await arbiter.post(
        '/v1/decide',
        decideBody(uniqueSession('deny'), 'db.drop', { database: 'staging\u200b' }),
      );
      assert.ok(!other.body.reasons.some((r: { reason: string }) => r.reason.includes('production database')));
    });

    test('a catalogued action is allowed', async () => {
      const res = await arbiter.post(
        '/v1/decide',
        decideBody(uniqueSession('allow'), 'email.send', { to: 'x@example.com' }),
      );
      assert.equal(res.status, 200);
      assert.equal(res.body.decision, 'ALLOW');
      assert.equal(res.body.parameters, undefined);
    });

    test('an unknown tool gets the default posture, DENY', async () => {
      const res = await arbiter.post('/v1/decide', decideBody(uniqueSession('unknown'), 'shell.exec', { cmd: 'ls' }));
      assert.equal(res.body.decision, 'DENY');
      assert.deepEqual(
        res.body.reasons.map((r: { policy_id: string }) => r.policy_id),
        ['aarm.default'],
      );
    });

    test('MODIFY returns the patched parameters and keeps the others', async () => {
      const res = await arbiter.post(
        '/v1/decide',
        decideBody(uniqueSession('modify'), 'db.query', { sql: 'select 1', limit: 5000 }),
      );
      assert.equal(res.body.decision, 'MODIFY');
      assert.deepEqual(res.body.parameters, { sql: 'select 1', limit: 100 });
      const receipt = await arbiter.get(`/v1/receipts/${res.body.receipt.id}`);
      assert.deepEqual(receipt.body.action.parameters, { sql: 'select 1', limit: 5000 });
      assert.deepEqual(receipt.body.action.modified_parameters, { sql: 'select 1', limit: 100 });
    });

    test('STEP_UP creates a pending approval that can be read back', async () => {
      const res = await arbiter.post(
        '/v1/decide',
        decideBody(uniqueSession('stepup'), 'payments.transfer', { amount: 5000 }),
      );
      assert.equal(res.body.decision, 'STEP_UP');
      assert.match(res.body.approval.id, /^apr_/);
      assert.ok(Date.parse(res.body.approval.expires_at) > Date.now());
      const approval = await arbiter.get(`/v1/approvals/${res.body.approval.id}`);
      assert.equal(approval.status, 200);
      assert.equal(approval.body.status, 'pending');
      assert.equal(approval.body.action.tool, 'payments.transfer');
      assert.deepEqual(approval.body.approvers, ['finance']);
      assert.equal((await arbiter.get(`/v1/deferrals/${res.body.approval.id}`)).status, 404);
    });

    test('DEFER creates a pending deferral naming the context it needs', async () => {
      const res = await arbiter.post(
        '/v1/decide',
        decideBody(uniqueSession('defer'), 'credentials.rotate', { name: 'db' }),
      );
      assert.equal(res.body.decision, 'DEFER');
      assert.deepEqual(res.body.deferral.context_needed, ['maintenance_window']);
      const deferral = await arbiter.get(`/v1/deferrals/${res.body.deferral.id}`);
      assert.equal(deferral.body.status, 'pending');
      assert.deepEqual(deferral.body.context_needed, ['maintenance_window']);
    });

    test('credential-like parameters are kept in receipts only as hashes', async () => {
      const res = await arbiter.post(
        '/v1/decide',
        decideBody(uniqueSession('mask'), 'email.send', {
          to: 'x@example.com',
          auth: { api_key: 'sk-live-123' },
          password: 'hunter2',
        }),
      );
      const receipt = await arbiter.get(`/v1/receipts/${res.body.receipt.id}`);
      const text = JSON.stringify(receipt.body);
      assert.ok(!text.includes('sk-live-123') && !text.includes('hunter2'), 'a secret leaked into the receipt');
      assert.match(receipt.body.action.parameters.password, /^hmac-sha256:[0-9a-f]{64}$/);
      assert.match(receipt.body.action.parameters.auth.api_key, /^hmac-sha256:[0-9a-f]{64}$/);
      assert.equal(receipt.body.action.parameters.to, 'x@example.com');
    });

    test('receipts verify against /v1/keys and chain per session', async () => {
      const a = uniqueSession('chain-a');
      const b = uniqueSession('chain-b');
      const answers = [];
      for (const [session, tool] of [
        [a, 'email.send'],
        [b, 'db.drop'],
        [a, 'db.query'],
        [a, 'shell.exec'],
        [b, 'files.read'],
      ] as const) {
        answers.push((await arbiter.post('/v1/decide', decideBody(session, tool, { limit: 1 }))).body);
      }
      const keys = publicKeysFromJwks((await arbiter.get('/v1/keys')).body);
      const chainA = (await arbiter.get(`/v1/sessions/${a}/receipts`)).body.receipts;
      const chainB = (await arbiter.get(`/v1/sessions/${b}/receipts`)).body.receipts;
      assert.deepEqual(
        chainA.map((r: { seq: number }) => r.seq),
        [1, 2, 3],
      );
      assert.deepEqual(
        chainB.map((r: { seq: number }) => r.seq),
        [1, 2],
      );
      assert.equal(chainA[0].prev_hash, null);
      assert.equal(chainA[1].prev_hash, answers[0].receipt.hash, 'prev_hash is the hash the first answer gave');
      const report = verifyReceipts([...chainA, ...chainB], keys);
      assert.deepEqual(report.problems, []);
      assert.equal(report.ok, true);
      assert.equal(report.sessions, 2);
      // The same check fails once a receipt is edited.
      const forged = structuredClone(chainA);
      forged[2].decision = 'ALLOW'; // it was the default DENY of an unknown tool
      assert.equal(verifyReceipts(forged, keys).ok, false);
    });

    test("the request's X-Request-Id is signed into its receipt; an unusable one is replaced", async () => {
      const ajv = new Ajv2020({ strict: true, allErrors: true });
      addFormatsModule.default(ajv);
      const validate = ajv.compile(JSON.parse(readFileSync(RECEIPT_SCHEMA, 'utf8')) as object);
      const session = uniqueSession('request-id');
      const asked = await arbiter.post('/v1/decide', decideBody(session, 'email.send', { to: 'x@example.com' }), {
        'X-Request-Id': 'abc-123',
      });
      assert.equal(asked.status, 200, JSON.stringify(asked.body));
      // Spaces are not plain characters: Arbiter answers with an id of its own.
      const odd = await arbiter.post('/v1/decide', decideBody(session, 'db.drop', { database: 'production' }), {
        'X-Request-Id': 'abc 123',
      });
      const receipts = (await arbiter.get(`/v1/sessions/${session}/receipts`)).body.receipts;
      assert.equal(receipts[0].receipt_id, asked.body.receipt.id);
      assert.equal(receipts[0].request_id, 'abc-123');
      assert.equal(receipts[1].receipt_id, odd.body.receipt.id);
      assert.match(receipts[1].request_id, UUID);
      for (const receipt of receipts) assert.ok(validate(receipt), JSON.stringify(validate.errors));
      // Inside the signed body: the chain verifies, and fails once the id is changed.
      const keys = publicKeysFromJwks((await arbiter.get('/v1/keys')).body);
      assert.deepEqual(verifyReceipts(receipts, keys).problems, []);
      const forged = structuredClone(receipts);
      forged[0].request_id = 'abc-124';
      assert.equal(verifyReceipts(forged, keys).ok, false);
    });

    test('the same action id in the same session returns the first decision and receipt', async () => {
      const session = uniqueSession('idem');
      const body = decideBody(session, 'email.send', { to: 'y@example.com' }, { actionId: 'act-1' });
      const first = await arbiter.post('/v1/decide', body);
      const again = await Promise.all([1, 2, 3].map(() => arbiter.post('/v1/decide', body)));
      for (const r of again) assert.deepEqual(r.body, first.body);
      assert.equal((await arbiter.get(`/v1/sessions/${session}/receipts`)).body.receipts.length, 1);
      const reused = await arbiter.post(
        '/v1/decide',
        decideBody(session, 'email.send', { to: 'evil@example.com' }, { actionId: 'act-1' }),
      );
      assert.equal(reused.status, 409);
      assert.equal(reused.body.decision, 'DENY');
    });

    test('a replay of an action id is refused to another agent: it never hands over the first answer', async () => {
      const session = uniqueSession('replay');
      const body = decideBody(session, 'email.send', { to: 'y@example.com' }, { actionId: 'act-r', agent: 'agent-a' });
      const first = await arbiter.post('/v1/decide', body);
      assert.equal(first.body.decision, 'ALLOW');
      assert.ok(first.body.capability);
      const stolen = await arbiter.post('/v1/decide', { ...body, identity: { agent: 'agent-b' } });
      assert.equal(stolen.status, 403);
      assert.equal(stolen.body.decision, 'DENY');
      assert.equal(stolen.body.capability, undefined);
      assert.ok(!JSON.stringify(stolen.body).includes(first.body.capability));
    });

    test('the session is bound to the agent that opened it', async () => {
      const session = uniqueSession('bound');
      await arbiter.post(
        '/v1/decide',
        decideBody(session, 'email.send', {}, { agent: 'agent-a', intent: 'write to bob' }),
      );
      const other = await arbiter.post(
        '/v1/decide',
        decideBody(session, 'email.send', {}, { agent: 'agent-b', intent: 'rewrite' }),
      );
      assert.equal(other.body.decision, 'DENY');
      assert.deepEqual(
        other.body.reasons.map((r: { policy_id: string }) => r.policy_id),
        ['aarm.session_identity'],
      );
      const view = await arbiter.get(`/v1/sessions/${session}`);
      assert.equal(view.body.intent, 'write to bob');
      assert.equal(view.body.agent, 'agent-a');
    });

    test('an action without an agent identity is denied and receipted', async () => {
      const body = { action: { tool: 'email.send', parameters: {} }, session: { id: uniqueSession('anon') } };
      const res = await arbiter.post('/v1/decide', body);
      assert.equal(res.status, 200);
      assert.equal(res.body.decision, 'DENY');
      assert.equal((await arbiter.get(`/v1/receipts/${res.body.receipt.id}`)).body.decision, 'DENY');
    });
  });

  describe(`session context on the ${store} store`, () => {
    let arbiter: TestArbiter;
    before(async () => {
      arbiter = await startTestArbiter({ store, env: { ARBITER_POLICY_DIR: ECHO_POLICY, ARBITER_HISTORY_SIZE: '2' } });
    });
    after(() => arbiter.stop());

    test('policy sees the action count and tool use of the session before this action', async () => {
      const session = uniqueSession('count');
      const reasons = [];
      for (let i = 0; i < 3; i++) {
        reasons.push((await arbiter.post('/v1/decide', decideBody(session, 'echo'))).body.reasons[0].reason);
      }
      assert.deepEqual(reasons, [
        'action_count=0 tools_used=0',
        'action_count=1 tools_used=1',
        'action_count=2 tools_used=2',
      ]);
      const other = await arbiter.post('/v1/decide', decideBody(uniqueSession('count-other'), 'echo'));
      assert.equal(other.body.reasons[0].reason, 'action_count=0 tools_used=0', 'another session starts from nothing');
      const view = await arbiter.get(`/v1/sessions/${session}`);
      assert.equal(view.body.context.action_count, 3);
      assert.equal(view.body.context.history.length, 2, 'history is bounded by ARBITER_HISTORY_SIZE');
    });
  });
}
