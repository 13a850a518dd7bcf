/**
 * STEP_UP and DEFER end to end (AARM R4): approvals with quorum and four-eyes, expiry in
 * DENY, replayed and stale approvals, identity re-validation, deferral resolution,
 * dependent actions, long-polls that wake across replicas, and signed webhooks.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyWebhookSignature, type WebhookEvent } from '../../services/decision/src/notify/webhooks.js';
import { publicKeysFromJwks } from '../../services/decision/src/receipts/keys.js';
import { verifyReceipts } from '../../services/decision/src/receipts/verify.js';
import { startTestArbiter, uniqueSession, type StoreKind, type TestArbiter } from '../support/arbiter.js';

const FLOWS = join(import.meta.dirname, '..', 'fixtures', 'policies', 'flows');
const SECRET = 'webhook-secret-for-tests-only';

interface Received {
  event: WebhookEvent;
  verified: boolean;
}

async function webhookReceiver(): Promise<{
  url: string;
  events: Received[];
  close(): void;
  next(match: (e: WebhookEvent) => boolean): Promise<Received>;
}> {
  const events: Received[] = [];
  const waiters: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const verified = verifyWebhookSignature(
        SECRET,
        String(req.headers['x-arbiter-timestamp']),
        body,
        String(req.headers['x-arbiter-signature']),
        300,
        new Date(),
      );
      events.push({ event: JSON.parse(body) as WebhookEvent, verified });
      res.writeHead(204).end();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    events,
    close: () => server.close(),
    // Bounded wait for a matching event: the assertion is on its content, not on time.
    next: async (match) => {
      for (let i = 0; i < 100; i++) {
        const found = events.find((e) => match(e.event));
        if (found) return found;
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100).unref();
        });
      }
      throw new Error('no matching webhook arrived');
    },
  };
}

for (const store of ['memory', 'redis'] as StoreKind[]) {
  describe(`approvals and deferrals on the ${store} store`, () => {
    let dir: string;
    let arbiter: TestArbiter;
    let hooks: Awaited<ReturnType<typeof webhookReceiver>>;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'arbiter-flows-'));
      cpSync(FLOWS, dir, { recursive: true });
      hooks = await webhookReceiver();
      arbiter = await startTestArbiter({
        store,
        env: {
          ARBITER_POLICY_DIR: dir,
          ARBITER_EXPIRY_SWEEP_MS: '100',
          ARBITER_WEBHOOK_URLS: hooks.url,
          ARBITER_WEBHOOK_SECRET: SECRET,
        },
      });
    });
    after(async () => {
      await arbiter.stop();
      hooks.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const ask = async (
      tool: string,
      signals: Record<string, unknown> = {},
      extra: { session?: string; target?: string; agent?: string } = {},
    ) =>
      (
        await arbiter.post('/v1/decide', {
          action: { tool, parameters: { amount: 5000 }, ...(extra.target && { target: extra.target }) },
          session: { id: extra.session ?? uniqueSession(tool), intent: 'pay the supplier invoice' },
          identity: { agent: extra.agent ?? 'agent-1', human: 'alice' },
          signals,
        })
      ).body;
    const answer = (id: string, approver: string, decision: 'approve' | 'deny' = 'approve') =>
      arbiter.post(`/v1/approvals/${id}`, { decision, approver, reason: `${approver} says ${decision}` });

    test('a STEP_UP is listed, shows the approver the full context, and one approval ends in ALLOW', async () => {
      const asked = await ask('pay');
      assert.equal(asked.decision, 'STEP_UP');
      const listed = await arbiter.get('/v1/approvals?status=pending');
      const mine = listed.body.approvals.find((a: { id: string }) => a.id === asked.approval.id);
      assert.ok(mine, 'the pending approval is listed');
      assert.equal(mine.intent, 'pay the supplier invoice');
      assert.equal(mine.risk, 'HIGH');
      assert.deepEqual(mine.approvers, ['finance']);
      assert.equal(mine.action.tool, 'pay');
      assert.equal(mine.input, undefined, 'raw inputs are not shown');
      const done = await answer(asked.approval.id, 'carol');
      assert.equal(done.status, 200);
      assert.equal(done.body.status, 'approved');
      assert.equal(done.body.decision, 'ALLOW');
      const listedAfter = await arbiter.get('/v1/approvals?status=pending');
      assert.ok(!listedAfter.body.approvals.some((a: { id: string }) => a.id === asked.approval.id));
    });

    test('a replayed or late approval changes nothing', async () => {
      const asked = await ask('pay');
      await answer(asked.approval.id, 'carol', 'deny');
      const replay = await answer(asked.approval.id, 'dave');
      assert.equal(replay.status, 409);
      const view = await arbiter.get(`/v1/approvals/${asked.approval.id}`);
      assert.equal(view.body.status, 'denied');
      assert.equal(view.body.decision, 'DENY');
    });

    test('the agent never approves its own action; with four-eyes neither does its human', async () => {
      const asked = await ask('pay', { four_eyes: true });
      assert.equal((await answer(asked.approval.id, 'agent-1')).status, 403);
      assert.equal((await answer(asked.approval.id, 'alice')).status, 403);
      assert.equal((await answer(asked.approval.id, 'carol')).body.decision, 'ALLOW');
    });

    test('a quorum needs that many distinct approvers, and each vote is a chained receipt', async () => {
      const session = uniqueSession('quorum');
      const asked = await ask('pay', { quorum: 2 }, { session });
      const first = await answer(asked.approval.id, 'carol');
      assert.equal(first.body.status, 'pending');
      assert.equal((await answer(asked.approval.id, 'carol')).status, 409, 'the same approver twice is one vote');
      // The deciding vote's request id is in its receipt (issue 12): the approver's log line meets it.
      const second = await arbiter.post(
        `/v1/approvals/${asked.approval.id}`,
        { decision: 'approve', approver: 'dave', reason: 'dave says approve' },
        { 'X-Request-Id': 'vote-dave-1' },
      );
      assert.equal(second.body.status, 'approved');
      assert.deepEqual(
        second.body.votes.map((v: { approver: string }) => v.approver),
        ['carol', 'dave'],
      );
      const chain = (await arbiter.get(`/v1/sessions/${session}/receipts`)).body.receipts;
      assert.deepEqual(
        chain.map((r: { kind: string; decision: string }) => `${r.kind}:${r.decision}`),
        ['decision:STEP_UP', 'approval:STEP_UP', 'approval:ALLOW'],
      );
      assert.equal(chain[2].approval.approver, 'dave');
      assert.equal(chain[2].request_id, 'vote-dave-1');
      assert.notEqual(chain[1].request_id, undefined, 'a vote without X-Request-Id gets a generated one');
      assert.notEqual(chain[1].request_id, chain[2].request_id);
      assert.equal(verifyReceipts(chain, publicKeysFromJwks((await arbiter.get('/v1/keys')).body)).ok, true);
    });

    test('an unanswered approval expires in DENY with a receipt, and a late answer does nothing', async () => {
      const session = uniqueSession('expiry');
      const asked = await ask('pay', { timeout_s: 1 }, { session });
      const waited = await arbiter.get(`/v1/approvals/${asked.approval.id}?wait=10`);
      assert.equal(waited.body.status, 'expired');
      assert.equal(waited.body.decision, 'DENY');
      assert.equal((await answer(asked.approval.id, 'carol')).status, 409);
      // The sweeper (or the reader above) wrote the expiry receipt.
      let chain: Array<{ kind: string; decision: string }> = [];
      for (let i = 0; i < 50 && chain.length < 2; i++) {
        chain = (await arbiter.get(`/v1/sessions/${session}/receipts`)).body.receipts;
        if (chain.length < 2) await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(
        chain.map((r) => `${r.kind}:${r.decision}`),
        ['decision:STEP_UP', 'approval:DENY'],
      );
    });

    test('an approval is stale once the policy changed, and ends in DENY', async () => {
      const asked = await ask('pay');
      writeFileSync(
        join(dir, 'extra.rego'),
        'package aarm.rules.extra\n\nfindings contains {"effect": "ALLOW", "policy_id": "extra", "reason": "x"} if input.action.tool == "other"\n',
      );
      assert.equal((await arbiter.post('/v1/policy/reload', undefined)).body.outcome, 'loaded');
      const done = await answer(asked.approval.id, 'carol');
      assert.equal(done.body.status, 'denied');
      assert.equal(done.body.decision, 'DENY');
      assert.equal(done.body.final.reasons[0].policy_id, 'aarm.approval.stale');
      rmSync(join(dir, 'extra.rego'));
      await arbiter.post('/v1/policy/reload', undefined);
    });

    test('an agent revoked while its approval waited is denied at approval time', async () => {
      const asked = await ask('pay', {}, { agent: 'agent-to-revoke' });
      assert.equal((await arbiter.post('/v1/admin/revocations', { sub: 'agent-to-revoke' })).status, 201);
      const done = await answer(asked.approval.id, 'carol');
      assert.equal(done.body.decision, 'DENY');
      assert.equal(done.body.final.reasons[0].policy_id, 'aarm.identity.revoked');
    });

    test('an agent revoked while its deferral waited is denied at resolution time', async () => {
      const asked = await ask('rotate', {}, { agent: 'agent-to-revoke-later' });
      assert.equal(asked.decision, 'DEFER');
      assert.equal((await arbiter.post('/v1/admin/revocations', { sub: 'agent-to-revoke-later' })).status, 201);
      const done = await arbiter.post(`/v1/deferrals/${asked.deferral.id}/resolve`, { context: { ticket: 'ok' } });
      assert.equal(done.body.decision, 'DENY');
      assert.equal(done.body.final.reasons[0].policy_id, 'aarm.identity.revoked');
    });

    test('a new approval is announced by a signed webhook', async () => {
      const asked = await ask('pay');
      const received = await hooks.next((e) => e.type === 'approval.requested' && e.id === asked.approval.id);
      assert.equal(received.verified, true, 'the signature verifies with the shared secret');
      assert.equal((received.event.data as { intent: string }).intent, 'pay the supplier invoice');
      assert.ok(!JSON.stringify(received.event).includes('"input"'));
      await answer(asked.approval.id, 'carol');
      const resolved = await hooks.next((e) => e.type === 'approval.resolved' && e.id === asked.approval.id);
      assert.equal((resolved.event.data as { decision: string }).decision, 'ALLOW');
    });

    test('secrets in the intent and the target reach neither the webhook, the approver nor the receipt (issue 12)', async () => {
      const asked = (
        await arbiter.post('/v1/decide', {
          action: { tool: 'pay', parameters: { amount: 5000 }, target: 'https://bob:pw-77@bank.example/acct' },
          session: { id: uniqueSession('secret-intent'), intent: 'pay the invoice, the portal password=hunter2' },
          identity: { agent: 'agent-1', human: 'alice' },
          signals: { portal_token: 'tok-991', score: 0.2 },
        })
      ).body;
      assert.equal(asked.decision, 'STEP_UP');
      const received = await hooks.next((e) => e.type === 'approval.requested' && e.id === asked.approval.id);
      assert.equal(received.verified, true);
      const data = received.event.data as { intent: string; action: { target: string } };
      assert.equal(data.intent, 'pay the invoice, the portal password=***');
      assert.equal(data.action.target, 'https://***@bank.example/acct');
      const view = (await arbiter.get(`/v1/approvals/${asked.approval.id}`)).body;
      assert.equal(view.intent, 'pay the invoice, the portal password=***');
      assert.equal(view.action.target, 'https://***@bank.example/acct');
      const receipt = (await arbiter.get(`/v1/receipts/${asked.receipt.id}`)).body;
      const text = JSON.stringify(receipt);
      for (const secret of ['hunter2', 'pw-77', 'tok-991'])
        assert.ok(!text.includes(secret), `${secret} is in the receipt`);
      assert.match(receipt.input.signals.portal_token, /^hmac-sha256:[0-9a-f]{64}$/);
      assert.equal(receipt.input.signals.score, 0.2);
      assert.equal(receipt.action.target, 'https://***@bank.example/acct');
      const keys = publicKeysFromJwks((await arbiter.get('/v1/keys')).body);
      assert.equal(verifyReceipts([receipt], keys).ok, true);
    });

    test('a deferral resolved with the context it needed is re-evaluated: ALLOW, DENY, or escalated to approval', async () => {
      const ok = await ask('rotate');
      assert.equal(ok.decision, 'DEFER');
      assert.deepEqual(ok.deferral.context_needed, ['ticket']);
      const resolved = await arbiter.post(`/v1/deferrals/${ok.deferral.id}/resolve`, { context: { ticket: 'ok' } });
      assert.equal(resolved.body.status, 'resolved');
      assert.equal(resolved.body.decision, 'ALLOW');
      assert.equal(
        (await arbiter.post(`/v1/deferrals/${ok.deferral.id}/resolve`, { context: { ticket: 'ok' } })).status,
        409,
      );

      const bad = await ask('rotate');
      assert.equal(
        (await arbiter.post(`/v1/deferrals/${bad.deferral.id}/resolve`, { context: { ticket: 'bad' } })).body.decision,
        'DENY',
      );

      const up = await ask('rotate');
      const escalated = await arbiter.post(`/v1/deferrals/${up.deferral.id}/resolve`, {
        context: { ticket: 'escalate' },
      });
      assert.equal(escalated.body.status, 'escalated');
      const approval = await arbiter.get(`/v1/approvals/${escalated.body.escalated_to}`);
      assert.equal(approval.body.status, 'pending');
      assert.equal(approval.body.source, 'defer_escalation');
    });

    test('a deferral resolved without what it needs defers again, at most three times, then DENY', async () => {
      const session = uniqueSession('attempts');
      const asked = await ask('rotate', {}, { session });
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        statuses.push(
          (await arbiter.post(`/v1/deferrals/${asked.deferral.id}/resolve`, { context: { ticket: 'maybe' } })).body
            .status,
        );
      }
      assert.deepEqual(statuses, ['pending', 'pending', 'denied']);
      const chain = (await arbiter.get(`/v1/sessions/${session}/receipts`)).body.receipts;
      assert.deepEqual(
        chain.map((r: { kind: string }) => r.kind),
        ['decision', 'deferral', 'deferral', 'deferral'],
      );
      assert.equal(chain[3].deferral.attempts, 3);
    });

    test('later actions on a deferred target wait behind it; independent ones proceed', async () => {
      const session = uniqueSession('dependents');
      const first = await ask('rotate', {}, { session, target: 'db-primary' });
      const dependent = await ask('read', {}, { session, target: 'db-primary' });
      assert.equal(dependent.decision, 'DEFER');
      assert.equal(dependent.reasons[0].policy_id, 'aarm.deferral.dependent');
      const independent = await ask('read', {}, { session, target: 'db-replica' });
      assert.equal(independent.decision, 'ALLOW');
      const early = await arbiter.post(`/v1/deferrals/${dependent.deferral.id}/resolve`, { context: {} });
      assert.equal(early.status, 409, 'a dependent is not resolved before the deferral it waits behind');
      await arbiter.post(`/v1/deferrals/${first.deferral.id}/resolve`, { context: { ticket: 'ok' } });
      const queued = await ask('read', {}, { session, target: 'db-primary' });
      assert.equal(queued.decision, 'DEFER', 'still behind the dependent, which keeps its place');
      assert.equal(
        (await arbiter.post(`/v1/deferrals/${dependent.deferral.id}/resolve`, { context: {} })).body.decision,
        'ALLOW',
      );
      assert.equal(
        (await arbiter.post(`/v1/deferrals/${queued.deferral.id}/resolve`, { context: {} })).body.decision,
        'ALLOW',
      );
      const after = await ask('read', {}, { session, target: 'db-primary' });
      assert.equal(after.decision, 'ALLOW', 'once everything ahead is resolved, the target is free again');
    });

    test('a session may have only so many deferrals waiting; past the cap a deferral is DENY', async () => {
      const session = uniqueSession('cascade');
      const decisions = [];
      for (let i = 0; i < 9; i++) decisions.push((await ask('rotate', {}, { session, target: `t-${i}` })).decision);
      assert.deepEqual(decisions, [...Array(8).fill('DEFER'), 'DENY']);
    });
  });
}

describe('a long-poll on one replica wakes when another replica approves (Redis pub/sub)', () => {
  let a: TestArbiter;
  let b: TestArbiter;
  before(async () => {
    a = await startTestArbiter({ store: 'redis', env: { ARBITER_POLICY_DIR: FLOWS } });
    b = await startTestArbiter({ store: 'redis', env: { ARBITER_POLICY_DIR: FLOWS, ARBITER_REDIS_PREFIX: a.prefix } });
  });
  after(async () => {
    await b.close();
    await a.stop();
  });

  test('the waiter on A sees the approval given on B', async () => {
    const asked = (
      await a.post('/v1/decide', {
        action: { tool: 'pay' },
        session: { id: uniqueSession('wake') },
        identity: { agent: 'agent-1' },
      })
    ).body;
    const waiting = a.get(`/v1/approvals/${asked.approval.id}?wait=30`);
    // Give the waiter its subscription, then approve elsewhere; the wait is bounded either way.
    await new Promise((r) => setTimeout(r, 200));
    const approved = await b.post(`/v1/approvals/${asked.approval.id}`, { decision: 'approve', approver: 'carol' });
    assert.equal(approved.body.status, 'approved');
    const seen = await waiting;
    assert.equal(seen.body.status, 'approved');
    assert.equal(seen.body.decision, 'ALLOW');
  });
});
