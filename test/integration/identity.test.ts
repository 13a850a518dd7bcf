/**
 * Identity (AARM R6) with ARBITER_AUTH=jwt and real signed tokens: callers authenticate,
 * agents present verified tokens, every identity failure is a receipted DENY, revocations
 * take effect on the next decision, and tenants never see each other's sessions.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestArbiter, uniqueSession, type TestArbiter } from '../support/arbiter.js';
import { createTestIssuer, type TestIssuer } from '../support/tokens.js';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'arbiter';
/** Agent tokens have their own audience (CONTRACT §1): by default the callers' with ":agent". */
const AGENT_AUDIENCE = 'arbiter:agent';

for (const store of ['memory', 'redis'] as const) {
  describe(`identity with ARBITER_AUTH=jwt on the ${store} store`, () => {
    let dir: string;
    let idp: TestIssuer;
    let stranger: TestIssuer;
    let arbiter: TestArbiter;
    const callerToken: Record<string, string> = {};

    const signAgent = (claims: Record<string, unknown> = {}, opts: Parameters<TestIssuer['sign']>[1] = {}) =>
      idp.sign(
        {
          sub: 'agent-7',
          tenant: 'acme',
          human: 'alice',
          role: 'analyst',
          scope: 'files:read email:send',
          jti: `jti-${Math.random()}`,
          ...claims,
        },
        { issuer: ISSUER, audience: AGENT_AUDIENCE, ...opts },
      );

    const decideAs = async (
      caller: string,
      agentToken: string | undefined,
      session = uniqueSession('id'),
      tool = 'files.read',
    ) =>
      arbiter.post(
        '/v1/decide',
        {
          action: { tool, parameters: { path: '/a' } },
          session: { id: session },
          identity: agentToken === undefined ? {} : { agent_token: agentToken },
        },
        { authorization: `Bearer ${callerToken[caller]}` },
      );

    const getAs = async (caller: string, path: string) => {
      const res = await fetch(`${arbiter.url}${path}`, { headers: { authorization: `Bearer ${callerToken[caller]}` } });
      return { status: res.status, body: (await res.json()) as any };
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'arbiter-jwt-'));
      idp = await createTestIssuer({ kid: 'idp-1' });
      stranger = await createTestIssuer({ kid: 'idp-1' }); // same kid, other key: a forgery
      const jwksFile = await idp.writeJwksFile(dir);
      const caller = (sub: string, roles: string[], tenant = 'acme') =>
        idp.sign({ sub, roles, tenant }, { issuer: ISSUER, audience: AUDIENCE, expiresIn: '1h' });
      callerToken.pep = await caller('gateway', ['pep']);
      callerToken.auditor = await caller('auditor-1', ['auditor']);
      callerToken.admin = await caller('admin-1', ['admin']);
      callerToken.otherAdmin = await caller('admin-b', ['admin'], 'globex');
      callerToken.otherPep = await caller('gateway-b', ['pep'], 'globex');
      callerToken.otherAuditor = await caller('auditor-b', ['auditor'], 'globex');
      callerToken.approver = await caller('carol', ['approver']);
      callerToken.financeApprover = await idp.sign(
        { sub: 'dave', roles: ['approver'], groups: ['finance'], tenant: 'acme' },
        { issuer: ISSUER, audience: AUDIENCE, expiresIn: '1h' },
      );
      arbiter = await startTestArbiter({
        store,
        env: {
          ARBITER_AUTH: 'jwt',
          ARBITER_JWKS_FILE: jwksFile,
          ARBITER_JWT_ISSUER: ISSUER,
          ARBITER_JWT_AUDIENCE: AUDIENCE,
          ARBITER_JWT_MAX_AGE_S: '600',
        },
      });
    });
    after(async () => {
      await arbiter.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a verified agent is decided for, and its identity is in input and receipt', async () => {
      const token = await signAgent({ act: { sub: 'orchestrator', act: { sub: 'alice' } } });
      const res = await decideAs('pep', token);
      assert.equal(res.status, 200);
      assert.equal(res.body.decision, 'ALLOW');
      const receipt = await getAs('auditor', `/v1/receipts/${res.body.receipt.id}`);
      assert.equal(receipt.body.identity.agent, 'agent-7');
      assert.equal(receipt.body.identity.verified, true);
      assert.equal(receipt.body.identity.method, 'jwt');
      assert.equal(receipt.body.identity.human, 'alice');
      assert.deepEqual(receipt.body.identity.scopes, ['email:send', 'files:read']);
      assert.deepEqual(
        receipt.body.identity.delegation.map((d: { sub: string }) => d.sub),
        ['orchestrator', 'alice'],
      );
      assert.match(receipt.body.identity.token_hash, /^sha256:[0-9a-f]{64}$/);
      assert.ok(!JSON.stringify(receipt.body).includes(token), 'the token itself is not kept');
      assert.equal(receipt.body.tenant, 'acme');
    });

    const failures: Array<[string, () => Promise<string | undefined>, string]> = [
      ['missing', async () => undefined, 'aarm.identity.missing'],
      ['expired', () => signAgent({}, { expiresIn: -120 }), 'aarm.identity.expired'],
      ['not yet valid', () => signAgent({}, { notBefore: 600 }), 'aarm.identity.not_yet_valid'],
      [
        'too old',
        () => signAgent({}, { issuedAt: Math.floor(Date.now() / 1000) - 3600, expiresIn: '2h' }),
        'aarm.identity.too_old',
      ],
      ['from another issuer', () => signAgent({}, { issuer: 'https://evil.test' }), 'aarm.identity.wrong_issuer'],
      ['for another audience', () => signAgent({}, { audience: 'someone-else' }), 'aarm.identity.wrong_audience'],
      [
        'forged with another key',
        () => stranger.sign({ sub: 'agent-7', tenant: 'acme' }, { issuer: ISSUER, audience: AGENT_AUDIENCE }),
        'aarm.identity.bad_signature',
      ],
      [
        'signed by an unknown key',
        async () =>
          (await createTestIssuer({ kid: 'nobody' })).sign(
            { sub: 'agent-7' },
            { issuer: ISSUER, audience: AGENT_AUDIENCE },
          ),
        'aarm.identity.unknown_key',
      ],
      ['garbage', async () => 'not.a.jwt', 'aarm.identity.malformed'],
      ['of another tenant', () => signAgent({ tenant: 'globex' }), 'aarm.identity.tenant'],
      ['a caller token', async () => callerToken.pep, 'aarm.identity.wrong_audience'],
      [
        'issued for callers and agents at once',
        () => signAgent({ aud: [AUDIENCE, AGENT_AUDIENCE] }, { audience: undefined }),
        'aarm.identity.wrong_audience',
      ],
    ];
    for (const [name, token, policyId] of failures) {
      test(`an agent token that is ${name} is DENY with a receipt`, async () => {
        const res = await decideAs('pep', await token());
        assert.equal(res.status, 200);
        assert.equal(res.body.decision, 'DENY');
        assert.deepEqual(
          res.body.reasons.map((r: { policy_id: string }) => r.policy_id),
          [policyId],
        );
        const receipt = await getAs('auditor', `/v1/receipts/${res.body.receipt.id}`);
        assert.equal(receipt.body.decision, 'DENY');
        assert.equal(receipt.body.identity.verified, policyId === 'aarm.identity.tenant');
      });
    }

    test('a plain agent id that contradicts the token is DENY', async () => {
      const res = await arbiter.post(
        '/v1/decide',
        {
          action: { tool: 'files.read' },
          session: { id: uniqueSession('forge') },
          identity: { agent_token: await signAgent(), agent: 'root' },
        },
        { authorization: `Bearer ${callerToken.pep}` },
      );
      assert.equal(res.body.decision, 'DENY');
      assert.equal(res.body.reasons[0].policy_id, 'aarm.identity.mismatch');
    });

    test('a caller without a valid token gets 401, never a decision', async () => {
      const body = {
        action: { tool: 'files.read' },
        session: { id: 's' },
        identity: { agent_token: await signAgent() },
      };
      for (const headers of [
        {} as Record<string, string>,
        { authorization: 'Bearer nonsense' },
        {
          authorization: `Bearer ${await stranger.sign({ sub: 'gateway', roles: ['pep'], tenant: 'acme' }, { issuer: ISSUER, audience: AUDIENCE })}`,
        },
      ]) {
        const res = await arbiter.post('/v1/decide', body, headers);
        assert.equal(res.status, 401);
        assert.equal(res.body.decision, 'DENY');
      }
      assert.equal((await fetch(`${arbiter.url}/v1/sessions/s`)).status, 401);
      assert.equal((await fetch(`${arbiter.url}/v1/keys`)).status, 200, 'public keys stay public');
      assert.equal((await fetch(`${arbiter.url}/healthz`)).status, 200, 'probes stay open');
      assert.equal((await fetch(`${arbiter.url}/metrics`)).status, 401, 'metrics need a token when auth is on');
      const scraped = await fetch(`${arbiter.url}/metrics`, {
        headers: { authorization: `Bearer ${callerToken.auditor}` },
      });
      assert.equal(scraped.status, 200);
      const asPep = await fetch(`${arbiter.url}/metrics`, { headers: { authorization: `Bearer ${callerToken.pep}` } });
      assert.equal(asPep.status, 403);
    });

    test('an agent token is no caller token, even one that carries roles ["admin"] (issue 12)', async () => {
      const agentAdmin = await signAgent({ sub: 'agent-x', roles: ['admin'] });
      const victim = await signAgent({ sub: 'agent-victim' });
      const asAgent = { authorization: `Bearer ${agentAdmin}` };
      const revoke = await arbiter.post('/v1/admin/revocations', { sub: 'agent-victim' }, asAgent);
      assert.equal(revoke.status, 401);
      assert.equal(revoke.body.error.code, 'unauthenticated');
      const decided = await arbiter.post(
        '/v1/decide',
        {
          action: { tool: 'files.read', parameters: { path: '/a' } },
          session: { id: 's' },
          identity: { agent_token: victim },
        },
        asAgent,
      );
      assert.equal(decided.status, 401);
      assert.equal(decided.body.decision, 'DENY');
      assert.equal((await fetch(`${arbiter.url}/v1/approvals?status=pending`, { headers: asAgent })).status, 401);
      assert.equal((await decideAs('pep', victim)).body.decision, 'ALLOW', 'the revocation never happened');
    });

    test('roles are enforced per endpoint', async () => {
      assert.equal((await decideAs('auditor', await signAgent())).status, 403, 'an auditor may not decide');
      const decided = await decideAs('pep', await signAgent());
      assert.equal(
        (await getAs('pep', `/v1/receipts/${decided.body.receipt.id}`)).status,
        403,
        'a PEP may not read receipts',
      );
      const revoke = await arbiter.post(
        '/v1/admin/revocations',
        { sub: 'nobody' },
        { authorization: `Bearer ${callerToken.pep}` },
      );
      assert.equal(revoke.status, 403);
    });

    test('a revoked token id, then a revoked subject, is DENY from the next decision on', async () => {
      const session = uniqueSession('revoke');
      const token = await signAgent({ jti: 'jti-to-revoke' });
      assert.equal((await decideAs('pep', token, session)).body.decision, 'ALLOW');
      const early = await arbiter.post(
        '/v1/decide',
        {
          action: { id: 'before-revocation', tool: 'files.read', parameters: { path: '/a' } },
          session: { id: session },
          identity: { agent_token: token },
        },
        { authorization: `Bearer ${callerToken.pep}` },
      );
      assert.equal(early.body.decision, 'ALLOW');
      const added = await arbiter.post(
        '/v1/admin/revocations',
        { jti: 'jti-to-revoke', reason: 'leaked' },
        { authorization: `Bearer ${callerToken.admin}` },
      );
      assert.equal(added.status, 201);
      const after = await decideAs('pep', token, session);
      assert.equal(after.body.decision, 'DENY');
      assert.equal(after.body.reasons[0].policy_id, 'aarm.identity.revoked');
      const replay = await arbiter.post(
        '/v1/decide',
        {
          action: { id: 'before-revocation', tool: 'files.read', parameters: { path: '/a' } },
          session: { id: session },
          identity: { agent_token: token },
        },
        { authorization: `Bearer ${callerToken.pep}` },
      );
      assert.equal(replay.status, 403, 'an ALLOW given before the revocation is not replayed after it');
      assert.equal(replay.body.decision, 'DENY');
      const fresh = await signAgent({ sub: 'agent-9' });
      assert.equal((await decideAs('pep', fresh)).body.decision, 'ALLOW');
      await arbiter.post('/v1/admin/revocations', { sub: 'agent-9' }, { authorization: `Bearer ${callerToken.admin}` });
      assert.equal((await decideAs('pep', await signAgent({ sub: 'agent-9' }))).body.decision, 'DENY');
    });

    test("a token id revoked in one tenant leaves another tenant's token of the same id alone (issue 12)", async () => {
      const token = await signAgent({ jti: 'jti-shared-by-chance' });
      const byGlobex = await arbiter.post(
        '/v1/admin/revocations',
        { jti: 'jti-shared-by-chance' },
        { authorization: `Bearer ${callerToken.otherAdmin}` },
      );
      assert.equal(byGlobex.status, 201);
      assert.equal(byGlobex.body.tenant, 'globex');
      assert.equal((await decideAs('pep', token)).body.decision, 'ALLOW', "globex's revocation is not acme's");
      const exp = Math.floor(Date.now() / 1000) + 600;
      const byAcme = await arbiter.post(
        '/v1/admin/revocations',
        { jti: 'jti-shared-by-chance', exp, reason: 'leaked' },
        { authorization: `Bearer ${callerToken.admin}` },
      );
      assert.equal(byAcme.status, 201);
      assert.equal(byAcme.body.exp, exp);
      const after = await decideAs('pep', token);
      assert.equal(after.body.decision, 'DENY');
      assert.equal(after.body.reasons[0].policy_id, 'aarm.identity.revoked');
      const subjectWithExp = await arbiter.post(
        '/v1/admin/revocations',
        { sub: 'agent-7', exp },
        { authorization: `Bearer ${callerToken.admin}` },
      );
      assert.equal(subjectWithExp.status, 400, 'exp is the end of one token, not of a subject');
    });

    test('an approval is given only by a verified approver of a group the policy names', async () => {
      const asked = await arbiter.post(
        '/v1/decide',
        {
          action: { tool: 'payments.transfer', parameters: { amount: 5000 } },
          session: { id: uniqueSession('pay') },
          identity: { agent_token: await signAgent() },
        },
        { authorization: `Bearer ${callerToken.pep}` },
      );
      assert.equal(asked.body.decision, 'STEP_UP');
      const vote = (who: string) =>
        arbiter.post(
          `/v1/approvals/${asked.body.approval.id}`,
          { decision: 'approve', approver: 'forged-name' },
          { authorization: `Bearer ${callerToken[who]}` },
        );
      assert.equal((await vote('pep')).status, 403, 'a PEP is no approver');
      assert.equal((await vote('approver')).status, 403, 'an approver outside the finance group');
      assert.equal((await vote('otherPep')).status, 403);
      const done = await vote('financeApprover');
      assert.equal(done.body.decision, 'ALLOW');
      assert.equal(done.body.votes[0].approver, 'dave', 'the approver is the token subject, not a name in the body');
      assert.equal(done.body.capability, undefined, 'the approver is not handed the capability that runs the action');
      const forPep = await fetch(`${arbiter.url}/v1/approvals/${asked.body.approval.id}`, {
        headers: { authorization: `Bearer ${callerToken.pep}` },
      });
      assert.ok(((await forPep.json()) as { capability?: string }).capability, 'the PEP that runs it gets it');
    });

    test('tenants are isolated: the same session id is two sessions, and reads across tenants find nothing', async () => {
      const session = uniqueSession('shared-name');
      const acme = await decideAs('pep', await signAgent(), session);
      const globexAgent = await idp.sign(
        { sub: 'agent-g', tenant: 'globex' },
        { issuer: ISSUER, audience: AGENT_AUDIENCE },
      );
      const globex = await decideAs('otherPep', globexAgent, session);
      assert.equal(globex.body.decision, 'ALLOW', "globex starts its own session, not acme's");
      assert.equal((await getAs('auditor', `/v1/sessions/${session}`)).body.agent, 'agent-7');
      assert.equal((await getAs('otherAuditor', `/v1/sessions/${session}`)).body.agent, 'agent-g');
      assert.equal((await getAs('otherAuditor', `/v1/receipts/${acme.body.receipt.id}`)).status, 404);
      const acmeChain = await getAs('auditor', `/v1/sessions/${session}/receipts`);
      assert.deepEqual(
        acmeChain.body.receipts.map((r: { receipt_id: string }) => r.receipt_id),
        [acme.body.receipt.id],
      );
    });
  });
}
