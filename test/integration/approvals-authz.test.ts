/**
 * Who may answer an approval or a deferral (issue 12): approver groups hold for every
 * verified caller, admins included; the PEP and the agent never supply the context their
 * own DEFER waits for, while approvers list, read and resolve deferrals; with
 * ARBITER_AUTH=off, unverified answers are taken on loopback (CONTRACT §3, local
 * development) and refused where the deployment says so (refuseUnverifiedAnswers).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { SessionChain } from '../../services/decision/src/chain/chain.js';
import { loadConfig } from '../../services/decision/src/config.js';
import { createApp } from '../../services/decision/src/http/app.js';
import { NO_NOTIFIER } from '../../services/decision/src/notify/webhooks.js';
import { publicJwk, publicKeysFromJwks } from '../../services/decision/src/receipts/keys.js';
import { Metrics } from '../../services/decision/src/telemetry/metrics.js';
import { startTestArbiter, uniqueSession, type TestArbiter } from '../support/arbiter.js';
import { createTestIssuer, type TestIssuer, jwtEnv } from '../support/tokens.js';

const FLOWS = join(import.meta.dirname, '..', 'fixtures', 'policies', 'flows');
const ISSUER = 'https://idp.test';
const AUDIENCE = 'arbiter';
const AGENT_AUDIENCE = 'arbiter:agent';
/** A STEP_UP that names no approver group, beside the fixture's "pay" (finance) and "rotate" (DEFER). */
const UNGATED = `package aarm.rules.ungated

findings contains {"effect": "STEP_UP", "policy_id": "ungated", "reason": "anyone may approve"} if {
	input.action.tool == "note"
}
`;

function policyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'arbiter-authz-'));
  cpSync(FLOWS, dir, { recursive: true });
  writeFileSync(join(dir, 'ungated.rego'), UNGATED);
  return dir;
}

describe('with ARBITER_AUTH=jwt, who may answer', () => {
  let dir: string;
  let idp: TestIssuer;
  let arbiter: TestArbiter;
  const token: Record<string, string> = {};

  before(async () => {
    dir = policyDir();
    idp = await createTestIssuer();
    const caller = (sub: string, roles: string[], groups: string[] = []) =>
      idp.sign({ sub, roles, groups, tenant: 'acme' }, { issuer: ISSUER, audience: AUDIENCE, expiresIn: '1h' });
    token.pep = await caller('gateway', ['pep']);
    token.pepApprover = await caller('gateway-2', ['pep', 'approver'], ['finance']);
    token.carol = await caller('carol', ['approver']);
    token.dave = await caller('dave', ['approver'], ['finance']);
    token.admin = await caller('admin-1', ['admin']);
    token.agentAsApprover = await caller('agent-7', ['approver'], ['finance']);
    arbiter = await startTestArbiter({
      env: {
        ARBITER_POLICY_DIR: dir,
        ...(await jwtEnv(idp, dir, { issuer: ISSUER, audience: AUDIENCE })),
      },
    });
  });
  after(async () => {
    await arbiter.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (who: string) => ({ authorization: `Bearer ${token[who]}` });
  const getAs = async (who: string, path: string) => {
    const res = await fetch(`${arbiter.url}${path}`, { headers: as(who) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const ask = async (tool: string) => {
    const agentToken = await idp.sign(
      { sub: 'agent-7', tenant: 'acme', jti: `j-${Math.random()}` },
      { issuer: ISSUER, audience: AGENT_AUDIENCE },
    );
    const res = await arbiter.post(
      '/v1/decide',
      {
        action: { tool, parameters: { amount: 5000 } },
        session: { id: uniqueSession(tool) },
        identity: { agent_token: agentToken },
      },
      as('pep'),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  test('a group-gated approval refuses approvers outside the group, admins included', async () => {
    const asked = await ask('pay');
    assert.equal(asked.decision, 'STEP_UP');
    const vote = (who: string) =>
      arbiter.post(`/v1/approvals/${asked.approval.id}`, { decision: 'approve', approver: 'dave' }, as(who));
    const outsider = await vote('carol');
    assert.equal(outsider.status, 403);
    assert.match(outsider.body.error.message, /finance/);
    assert.equal((await vote('admin')).status, 403, 'the admin role does not stand in for the finance group');
    assert.equal((await vote('agentAsApprover')).status, 403, 'the agent never approves its own action');
    assert.equal((await getAs('carol', `/v1/approvals/${asked.approval.id}`)).body.status, 'pending');
    const done = await vote('dave');
    assert.equal(done.status, 200);
    assert.equal(done.body.decision, 'ALLOW');
    assert.deepEqual(
      done.body.votes.map((v: { approver: string }) => v.approver),
      ['dave'],
    );
  });

  test('an approval without groups is open to any approver', async () => {
    const asked = await ask('note');
    assert.equal(asked.decision, 'STEP_UP');
    const done = await arbiter.post(`/v1/approvals/${asked.approval.id}`, { decision: 'approve' }, as('carol'));
    assert.equal(done.body.decision, 'ALLOW');
  });

  test('approvers list, read and resolve deferrals; the PEP and the agent may not resolve them', async () => {
    const asked = await ask('rotate');
    assert.equal(asked.decision, 'DEFER');
    const id = asked.deferral.id;
    const listed = await getAs('carol', '/v1/deferrals?status=pending');
    assert.equal(listed.status, 200);
    assert.ok(
      listed.body.deferrals.some((d: { id: string }) => d.id === id),
      'the approver sees the deferral',
    );
    const read = await getAs('carol', `/v1/deferrals/${id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.context_needed, ['ticket']);

    const resolve = (who: string) =>
      arbiter.post(`/v1/deferrals/${id}/resolve`, { context: { ticket: 'ok' } }, as(who));
    const byPep = await resolve('pep');
    assert.equal(byPep.status, 403, 'the PEP that asked does not supply the context its DEFER waits for');
    assert.equal((await resolve('pepApprover')).status, 403, 'nor does a PEP that also holds the approver role');
    assert.equal((await resolve('agentAsApprover')).status, 403, 'nor the agent itself');
    assert.equal((await getAs('carol', `/v1/deferrals/${id}`)).body.status, 'pending', 'nothing changed');

    const resolved = await resolve('carol');
    assert.equal(resolved.status, 200);
    assert.equal(resolved.body.decision, 'ALLOW');
    assert.equal(resolved.body.final.receipt_id !== undefined, true);
    assert.equal(resolved.body.capability, undefined, 'the approver is not handed the capability');
    const forPep = await getAs('pep', `/v1/deferrals/${id}`);
    assert.ok(forPep.body.capability, 'the PEP that runs the action gets it');
    const chain = (await getAs('admin', `/v1/sessions/${forPep.body.session_id}/receipts`)).body.receipts;
    assert.equal(chain.at(-1).deferral.resolved_by, 'carol');
  });
});

describe('with ARBITER_AUTH=off, unverified answers', () => {
  let dir: string;
  let arbiter: TestArbiter;
  let strict: Server;
  let strictUrl: string;

  before(async () => {
    dir = policyDir();
    arbiter = await startTestArbiter({ store: 'redis', env: { ARBITER_POLICY_DIR: dir } });
    // A second front end on the same store and policy that refuses unverified answers,
    // as main.ts builds it for a port others can reach.
    const config = loadConfig({ ARBITER_PORT: '0' });
    const metrics = new Metrics();
    const jwks = { keys: [publicJwk(arbiter.signingKey.publicKey)] };
    const app = createApp({
      store: arbiter.store,
      policy: arbiter.policy,
      signingKey: arbiter.signingKey,
      metrics,
      clock: () => new Date(),
      verifier: undefined,
      notifier: NO_NOTIFIER,
      producer: { id: 'strict', version: 'test' },
      historySize: config.historySize,
      chain: new SessionChain({
        store: arbiter.store,
        signingKey: arbiter.signingKey,
        metrics,
        producer: { id: 'strict', version: 'test' },
        settings: config.chain,
      }),
      capabilityTtlSeconds: config.capabilityTtlSeconds,
      capabilityKeys: publicKeysFromJwks(jwks),
      redemptions: { redeem: (jti, expiresAtMs) => arbiter.store.redeemCapability(jti, expiresAtMs) },
      logger: pino({ level: 'silent' }),
      maxBodyBytes: config.maxBodyBytes,
      jwks,
      metricsPublic: true,
      exportBacklog: () => undefined,
      refuseUnverifiedAnswers: true,
    });
    strict = createServer(app);
    await new Promise<void>((resolve) => strict.listen(0, '127.0.0.1', resolve));
    strictUrl = `http://127.0.0.1:${(strict.address() as AddressInfo).port}`;
  });
  after(async () => {
    strict.closeAllConnections();
    await new Promise((resolve) => strict.close(resolve));
    await arbiter.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = async (tool: string) =>
    (
      await arbiter.post('/v1/decide', {
        action: { tool, parameters: { amount: 5000 } },
        session: { id: uniqueSession(tool) },
        identity: { agent: 'agent-1', human: 'alice' },
      })
    ).body;
  const postStrict = async (path: string, body: unknown) => {
    const res = await fetch(`${strictUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  test('where refused, nobody unverified approves a group-gated approval or resolves a deferral', async () => {
    const pay = await ask('pay');
    const vote = await postStrict(`/v1/approvals/${pay.approval.id}`, { decision: 'approve', approver: 'carol' });
    assert.equal(vote.status, 403);
    assert.match(vote.body.error.message, /verified/);
    assert.equal((await arbiter.get(`/v1/approvals/${pay.approval.id}`)).body.status, 'pending');

    const rotate = await ask('rotate');
    const resolved = await postStrict(`/v1/deferrals/${rotate.deferral.id}/resolve`, { context: { ticket: 'ok' } });
    assert.equal(resolved.status, 403);
    assert.equal((await arbiter.get(`/v1/deferrals/${rotate.deferral.id}`)).body.status, 'pending');

    const note = await ask('note');
    const open = await postStrict(`/v1/approvals/${note.approval.id}`, { decision: 'approve', approver: 'carol' });
    assert.equal(open.status, 200, 'an approval that names no group needs no verified membership');
    assert.equal(open.body.decision, 'ALLOW');
  });

  test('by default (local development), the body names the approver, as the contract says', async () => {
    const pay = await ask('pay');
    const vote = await arbiter.post(`/v1/approvals/${pay.approval.id}`, { decision: 'approve', approver: 'carol' });
    assert.equal(vote.status, 200);
    assert.equal(vote.body.decision, 'ALLOW');
    const rotate = await ask('rotate');
    const resolved = await arbiter.post(`/v1/deferrals/${rotate.deferral.id}/resolve`, { context: { ticket: 'ok' } });
    assert.equal(resolved.body.decision, 'ALLOW');
  });
});
