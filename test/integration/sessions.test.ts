/**
 * Sessions and outcomes (AARM R2): the intent is fixed once, context accumulates across
 * actions and decides later ones, and outcomes classify what the session has seen.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { publicKeysFromJwks } from '../../services/decision/src/receipts/keys.js';
import { verifyReceipts } from '../../services/decision/src/receipts/verify.js';
import { decideBody, startTestArbiter, uniqueSession, type StoreKind, type TestArbiter } from '../support/arbiter.js';

for (const store of ['memory', 'redis'] as StoreKind[]) {
  describe(`sessions and outcomes on the ${store} store`, () => {
    let arbiter: TestArbiter;
    before(async () => {
      arbiter = await startTestArbiter({ store });
    });
    after(() => arbiter.stop());

    const decide = async (session: string, tool: string, parameters: Record<string, unknown> = {}, actionId?: string) =>
      (await arbiter.post('/v1/decide', decideBody(session, tool, parameters, { ...(actionId && { actionId }) }))).body;
    const outcome = (actionId: string, body: Record<string, unknown>) =>
      arbiter.post(`/v1/actions/${actionId}/outcome`, body);

    test('a session opened with its intent keeps it; a second open is refused', async () => {
      const id = uniqueSession('open');
      const opened = await arbiter.post('/v1/sessions', {
        id,
        intent: 'summarise Q3 sales',
        identity: { agent: 'agent-1', human: 'alice' },
      });
      assert.equal(opened.status, 201);
      assert.equal(opened.body.intent, 'summarise Q3 sales');
      assert.equal(opened.body.context.action_count, 0);
      const again = await arbiter.post('/v1/sessions', {
        id,
        intent: 'wire money abroad',
        identity: { agent: 'agent-1' },
      });
      assert.equal(again.status, 409);
      await arbiter.post('/v1/decide', decideBody(id, 'files.read', {}, { intent: 'something else entirely' }));
      const view = await arbiter.get(`/v1/sessions/${id}`);
      assert.equal(view.body.intent, 'summarise Q3 sales', 'a later call cannot rewrite the intent');
      assert.equal(view.body.agent, 'agent-1');
      assert.equal(view.body.context.action_count, 1);
      const generated = await arbiter.post('/v1/sessions', { intent: 'x', identity: { agent: 'agent-1' } });
      assert.match(generated.body.id, /^ses_/);
    });

    test('the third decision depends on the first two: an external send after a confidential read is denied', async () => {
      const session = uniqueSession('three-step');
      assert.equal((await decide(session, 'files.read', { path: '/notes' })).decision, 'ALLOW');
      assert.equal(
        (await decide(session, 'email.send', { to: 'partner@other.io' })).decision,
        'ALLOW',
        'INTERNAL data only so far',
      );
      assert.equal(
        (await decide(session, 'db.query', { sql: 'select * from customers', limit: 10 })).decision,
        'ALLOW',
      );
      const send = await decide(session, 'email.send', { to: 'partner@other.io' });
      assert.equal(send.decision, 'DENY');
      assert.deepEqual(
        send.reasons.map((r: { policy_id: string }) => r.policy_id),
        ['exfiltration-guard'],
      );
      assert.equal(
        (await decide(session, 'email.send', { to: 'bob@example.com' })).decision,
        'ALLOW',
        'internal recipients stay allowed',
      );
      assert.equal(
        (await decide(uniqueSession('fresh'), 'email.send', { to: 'partner@other.io' })).decision,
        'ALLOW',
        'the same send alone is allowed',
      );
      const view = await arbiter.get(`/v1/sessions/${session}`);
      assert.equal(view.body.context.max_classification, 'CONFIDENTIAL');
      assert.deepEqual(view.body.context.decisions, { ALLOW: 4, DENY: 1, MODIFY: 0, STEP_UP: 0, DEFER: 0 });
    });

    test('an outcome classifies by its labels, and unlabelled data by the catalog or as RESTRICTED', async () => {
      const session = uniqueSession('classify');
      const read = await decide(session, 'files.read', { path: '/hr/salaries.csv' });
      const labelled = await outcome(read.action_id, {
        status: 'success',
        data_classes: ['pii'],
        output_hash: `sha256:${'a'.repeat(64)}`,
      });
      assert.equal(labelled.status, 200);
      assert.equal(labelled.body.classification, 'CONFIDENTIAL');
      let view = await arbiter.get(`/v1/sessions/${session}`);
      assert.deepEqual(view.body.context.data_classes, ['pii']);
      assert.equal(view.body.context.max_classification, 'CONFIDENTIAL');

      const other = uniqueSession('classify-unlabelled');
      const r2 = await decide(other, 'files.read', { path: '/x' });
      const unlabelled = await outcome(r2.action_id, { status: 'success' });
      assert.equal(unlabelled.body.classification, 'INTERNAL', "the catalog's classification of files.read");

      const third = uniqueSession('classify-unknown-label');
      const r3 = await decide(third, 'files.read', { path: '/y' });
      assert.equal(
        (await outcome(r3.action_id, { status: 'success', data_classes: ['mystery'] })).body.classification,
        'INTERNAL',
      );
      view = await arbiter.get(`/v1/sessions/${third}`);
      assert.deepEqual(view.body.context.data_classes, ['mystery']);
      assert.equal(view.body.context.outcomes.success, 1);
    });

    test('an outcome for an action whose tool is not catalogued counts as RESTRICTED', async () => {
      const session = uniqueSession('unknown-tool');
      const denied = await decide(session, 'shell.exec', { cmd: 'cat /etc/passwd' }, 'run-1');
      assert.equal(denied.decision, 'DENY');
      const reported = await outcome('run-1', { status: 'success' });
      assert.equal(reported.status, 200);
      assert.equal(reported.body.classification, 'RESTRICTED');
      assert.equal(reported.body.outcome_receipt.outcome.unauthorised, true, 'it ran although it was denied');
      assert.equal((await arbiter.get(`/v1/sessions/${session}`)).body.context.max_classification, 'RESTRICTED');
    });

    test('the outcome receipt is chained after its decision and bound to it', async () => {
      const session = uniqueSession('chain');
      const d = await decide(session, 'files.read', { path: '/a' });
      const o = await outcome(d.action_id, { status: 'error', summary: 'permission denied for alice@example.com' });
      assert.equal(o.body.outcome_receipt.kind, 'outcome');
      assert.equal(o.body.outcome_receipt.seq, 2);
      assert.equal(o.body.outcome_receipt.prev_hash, d.receipt.hash);
      assert.equal(o.body.outcome_receipt.outcome.decision_receipt_id, d.receipt.id);
      assert.ok(!JSON.stringify(o.body).includes('alice@example.com'), 'the summary is kept as a hash');
      assert.equal((await outcome(d.action_id, { status: 'success' })).status, 409, 'one outcome per action');
      const keys = publicKeysFromJwks((await arbiter.get('/v1/keys')).body);
      const chain = (await arbiter.get(`/v1/sessions/${session}/receipts`)).body.receipts;
      assert.deepEqual(
        chain.map((r: { kind: string }) => r.kind),
        ['decision', 'outcome'],
      );
      assert.equal(verifyReceipts(chain, keys).ok, true);
    });

    test('outcomes find their session by a caller-chosen id, unless two sessions used it', async () => {
      const a = uniqueSession('caller-id-a');
      const b = uniqueSession('caller-id-b');
      const own = `own-${a}`;
      await decide(a, 'files.read', { path: '/1' }, own);
      assert.equal((await outcome(own, { status: 'success' })).body.session_id, a);
      await decide(a, 'files.read', { path: '/2' }, 'shared-id');
      await decide(b, 'files.read', { path: '/3' }, 'shared-id');
      assert.equal((await outcome('shared-id', { status: 'success' })).status, 409);
      const named = await outcome('shared-id', { status: 'success', session_id: b });
      assert.equal(named.body.session_id, b);
      assert.equal((await outcome('never-decided', { status: 'success' })).status, 404);
      assert.equal((await outcome('x', { status: 'done' })).status, 400);
    });
  });
}
