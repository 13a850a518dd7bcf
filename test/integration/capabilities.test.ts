/**
 * Capabilities end to end (AARM R9): a real Arbiter (shipped policy, real opa/WASM, memory
 * and real Redis stores) issues a capability with each ALLOW/MODIFY; the example tool
 * server (examples/tool-server) verifies and redeems it at POST /v1/capabilities/verify,
 * runs the fake tool once, and reports the use as an outcome receipt.
 *
 * Needs the wiring: `capability` in decide answers, the verify route, the redemption store
 * and ARBITER_CAPABILITY_TTL_S (see docs/capabilities.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startToolServer, type RunningToolServer } from '../../examples/tool-server/server.js';
import { issueCapability, verifyCapability } from '../../services/decision/src/capabilities/index.js';
import { hashOf } from '../../services/decision/src/receipts/canonical.js';
import { generateSigningKey, publicKeysFromJwks } from '../../services/decision/src/receipts/keys.js';
import { verifyReceipts } from '../../services/decision/src/receipts/verify.js';
import { freePort } from '../support/process.js';
import { startTestArbiter, uniqueSession, type StoreKind, type TestArbiter } from '../support/arbiter.js';
import { createTestIssuer, jwtEnv } from '../support/tokens.js';

const ROOT = join(import.meta.dirname, '..', '..');

async function decideAction(
  arbiter: TestArbiter,
  session: string,
  tool: string,
  operation: string | undefined,
  parameters: Record<string, unknown>,
): Promise<any> {
  const res = await arbiter.post('/v1/decide', {
    action: { tool, ...(operation !== undefined && { operation }), parameters },
    session: { id: session },
    identity: { agent: 'agent-1', human: 'alice' },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function useTool(
  tools: RunningToolServer,
  tool: string,
  capability: string | undefined,
  parameters: Record<string, unknown>,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${tools.url}/tools/${encodeURIComponent(tool)}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(capability !== undefined && { 'x-aarm-capability': capability }),
    },
    body: JSON.stringify(parameters),
  });
  return { status: res.status, body: await res.json() };
}

function claimsOf(token: string): any {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

for (const store of ['memory', 'redis'] as StoreKind[]) {
  describe(`capabilities through the example tool server on the ${store} store`, () => {
    let arbiter: TestArbiter;
    let tools: RunningToolServer;
    before(async () => {
      arbiter = await startTestArbiter({ store });
      tools = await startToolServer({ arbiterUrl: arbiter.url, port: 0 });
    });
    after(async () => {
      await tools?.close();
      await arbiter?.stop();
    });

    test('an allowed action runs once with its capability, a second use is refused, and the use is in the receipt chain', async () => {
      const session = uniqueSession('cap-once');
      const parameters = { path: '/srv/reports/q1.csv' };
      const decision = await decideAction(arbiter, session, 'files.read', 'read', parameters);
      assert.equal(decision.decision, 'ALLOW');
      assert.equal(typeof decision.capability, 'string');

      // Offline, with the published keys: bound to this tool, these parameters, scope read, this receipt.
      const keys = publicKeysFromJwks((await arbiter.get('/v1/keys')).body);
      const offline = await verifyCapability({
        token: decision.capability,
        tool: 'files.read',
        parameters,
        scope: 'read',
        now: new Date(),
        keys,
        clockToleranceSeconds: 5,
      });
      assert.ok(offline.valid, JSON.stringify(offline));
      assert.equal(offline.claims.sub, 'agent-1');
      assert.equal(offline.claims.aarm.action, decision.action_id);
      assert.equal(offline.claims.aarm.receipt, decision.receipt.id);
      assert.equal(offline.claims.aarm.session, session);
      assert.equal(offline.claims.aarm.params, hashOf(parameters));
      assert.ok(offline.claims.exp - offline.claims.iat <= 61, 'short-lived: 60 s by default');

      const first = await useTool(tools, 'files.read', decision.capability, parameters);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.action_id, decision.action_id);
      assert.equal(first.body.outcome.recorded, true, JSON.stringify(first.body.outcome));

      const second = await useTool(tools, 'files.read', decision.capability, parameters);
      assert.equal(second.status, 403);
      assert.equal(second.body.reason, 'already_used');

      const chain = (await arbiter.get(`/v1/sessions/${session}/receipts`)).body.receipts;
      assert.deepEqual(
        chain.map((r: any) => r.kind),
        ['decision', 'outcome'],
      );
      // Issuance: the decision receipt names the capability it granted (never the token).
      assert.deepEqual(chain[0].capability, {
        jti: offline.claims.jti,
        scope: 'read',
        params: hashOf(parameters),
        expires_at: new Date(offline.claims.exp * 1000).toISOString(),
      });
      assert.equal(JSON.stringify(chain).includes(decision.capability), false);
      const outcome = chain[1];
      assert.equal(outcome.action.id, decision.action_id);
      assert.equal(outcome.outcome.status, 'success');
      assert.equal(outcome.outcome.decision_receipt_id, decision.receipt.id);
      assert.equal(outcome.outcome.unauthorised, false);
      assert.match(outcome.outcome.output_hash, /^sha256:[0-9a-f]{64}$/);
      assert.equal(outcome.receipt_id, first.body.outcome.receipt_id);
      assert.equal(verifyReceipts(chain, keys).ok, true);
    });

    test('a capability for other parameters is refused, and stays usable for its own', async () => {
      const session = uniqueSession('cap-params');
      const parameters = { path: '/srv/reports/q1.csv' };
      const decision = await decideAction(arbiter, session, 'files.read', 'read', parameters);
      const other = await useTool(tools, 'files.read', decision.capability, { path: '/etc/shadow' });
      assert.equal(other.status, 403);
      assert.equal(other.body.reason, 'wrong_parameters');
      const extra = await useTool(tools, 'files.read', decision.capability, { ...parameters, follow_links: true });
      assert.equal(extra.body.reason, 'wrong_parameters');
      // Canonical hashing: the same parameters in another key order are the same parameters.
      const multi = { path: '/srv/a', options: { lines: 5, encoding: 'utf8' } };
      const multiDecision = await decideAction(arbiter, session, 'files.read', 'read', multi);
      const reordered = await useTool(tools, 'files.read', multiDecision.capability, {
        options: { encoding: 'utf8', lines: 5 },
        path: '/srv/a',
      });
      assert.equal(reordered.status, 200, JSON.stringify(reordered.body));
      assert.equal((await useTool(tools, 'files.read', decision.capability, parameters)).status, 200);
    });

    test('a capability for another tool is refused', async () => {
      const parameters = { path: '/srv/a.txt' };
      const decision = await decideAction(arbiter, uniqueSession('cap-tool'), 'files.read', 'read', parameters);
      const res = await useTool(tools, 'db.query', decision.capability, parameters);
      assert.equal(res.status, 403);
      assert.equal(res.body.reason, 'wrong_tool');
    });

    test('a read capability cannot be used for a payment', async () => {
      const parameters = { amount: 10, to: 'p-1001' }; // a registered payee (data.aarm.org.payees)
      // The agent calls a transfer a "read", or a "write": policy allows the small transfer,
      // but the capability does not carry the pay scope the payments tool requires.
      for (const declared of ['read', 'write']) {
        const wrong = await decideAction(
          arbiter,
          uniqueSession('cap-scope'),
          'payments.transfer',
          declared,
          parameters,
        );
        assert.equal(wrong.decision, 'ALLOW');
        assert.equal(claimsOf(wrong.capability).aarm.scope, 'none');
        const refused = await useTool(tools, 'payments.transfer', wrong.capability, parameters);
        assert.equal(refused.status, 403);
        assert.equal(refused.body.reason, 'wrong_scope');
      }
      // Declared as what it is (or not at all: the catalogue says pay), the same action runs.
      for (const declared of ['pay', undefined]) {
        const asPay = await decideAction(
          arbiter,
          uniqueSession('cap-scope'),
          'payments.transfer',
          declared,
          parameters,
        );
        assert.equal(claimsOf(asPay.capability).aarm.scope, 'pay');
        assert.equal((await useTool(tools, 'payments.transfer', asPay.capability, parameters)).status, 200);
      }
    });

    test('MODIFY: the capability is bound to the modified parameters', async () => {
      const asked = { sql: 'select * from orders', limit: 5000 };
      const decision = await decideAction(arbiter, uniqueSession('cap-modify'), 'db.query', 'read', asked);
      assert.equal(decision.decision, 'MODIFY');
      assert.deepEqual(decision.parameters, { sql: 'select * from orders', limit: 100 });
      const original = await useTool(tools, 'db.query', decision.capability, asked);
      assert.equal(original.status, 403);
      assert.equal(original.body.reason, 'wrong_parameters');
      assert.equal((await useTool(tools, 'db.query', decision.capability, decision.parameters)).status, 200);
    });

    test('an approved STEP_UP carries the capability in the approval status; it runs once', async () => {
      const session = uniqueSession('cap-approval');
      const parameters = { amount: 5000, to: 'acct-7' };
      const asked = await decideAction(arbiter, session, 'payments.transfer', 'pay', parameters);
      assert.equal(asked.decision, 'STEP_UP');
      assert.equal(asked.capability, undefined);
      const approved = await arbiter.post(`/v1/approvals/${asked.approval.id}`, {
        decision: 'approve',
        approver: 'carol',
      });
      assert.equal(approved.body.status, 'approved', JSON.stringify(approved.body));
      assert.equal(typeof approved.body.capability, 'string');
      const claims = claimsOf(approved.body.capability);
      assert.equal(claims.aarm.action, asked.action_id);
      assert.equal(claims.aarm.scope, 'pay');
      assert.equal(claims.aarm.params, hashOf(parameters));
      // Bound to the receipt that closed the approval; the status shows it on every read.
      assert.equal(claims.aarm.receipt, approved.body.final.receipt_id);
      assert.equal((await arbiter.get(`/v1/approvals/${asked.approval.id}`)).body.capability, approved.body.capability);
      assert.equal((await useTool(tools, 'payments.transfer', approved.body.capability, parameters)).status, 200);
      const again = await useTool(tools, 'payments.transfer', approved.body.capability, parameters);
      assert.equal(again.body.reason, 'already_used');
      const chain = (await arbiter.get(`/v1/sessions/${session}/receipts`)).body.receipts;
      assert.deepEqual(
        chain.map((r: any) => r.kind),
        ['decision', 'approval', 'outcome'],
      );
      assert.equal(chain[1].capability.jti, claims.jti);
    });

    test('DENY and STEP_UP carry no capability; no header, or a capability from another key, is refused', async () => {
      const session = uniqueSession('cap-none');
      const denied = await decideAction(arbiter, session, 'db.drop', 'delete', { database: 'production' });
      assert.equal(denied.decision, 'DENY');
      assert.equal(denied.capability, undefined);
      const stepUp = await decideAction(arbiter, session, 'payments.transfer', 'pay', { amount: 5000, to: 'acct-1' });
      assert.equal(stepUp.decision, 'STEP_UP');
      assert.equal(stepUp.capability, undefined);

      const missing = await useTool(tools, 'files.read', undefined, { path: '/srv/a' });
      assert.equal(missing.status, 403);
      const forged = await issueCapability(
        {
          agent: 'agent-1',
          tenant: 'default',
          sessionId: session,
          actionId: 'act-forged',
          tool: 'db.drop',
          operation: 'delete',
          parametersHash: hashOf({ database: 'production' }),
          receiptId: 'rcpt-forged',
          scope: 'delete',
          now: new Date(),
        },
        generateSigningKey(),
      );
      const res = await useTool(tools, 'db.drop', forged.token, { database: 'production' });
      assert.equal(res.status, 403);
      assert.equal(res.body.reason, 'unknown_key');
    });
  });
}

describe('capability scopes of grant and of a tool that does several operations', () => {
  // The shipped policy, with two more tools in its catalogue.
  let dir: string;
  let arbiter: TestArbiter;
  let tools: RunningToolServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-cap-scopes-'));
    cpSync(join(ROOT, 'rego'), dir, { recursive: true });
    const data = JSON.parse(readFileSync(join(dir, 'data.json'), 'utf8'));
    Object.assign(data.aarm.catalog.tools, {
      'drive.share': { operation: 'grant', classification: 'INTERNAL', default_decision: 'ALLOW', egress: false },
      'notes.update': {
        operation: ['read', 'write'],
        classification: 'INTERNAL',
        default_decision: 'ALLOW',
        egress: false,
      },
    });
    writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
    arbiter = await startTestArbiter({ env: { ARBITER_POLICY_DIR: dir } });
    const run = (p: Record<string, unknown>) => ({ done: true, with: p });
    tools = await startToolServer({
      arbiterUrl: arbiter.url,
      port: 0,
      tools: {
        'drive.share': { scope: 'grant', run },
        'notes.read': { scope: 'read', run },
        'notes.update': { scope: 'write', run },
      },
    });
  });
  after(async () => {
    await tools?.close();
    await arbiter?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a grant gets the grant scope; declared as a write it gets none', async () => {
    const parameters = { file: '/srv/plan.txt', user: 'bob' };
    const granted = await decideAction(arbiter, uniqueSession('cap-grant'), 'drive.share', 'grant', parameters);
    assert.equal(granted.decision, 'ALLOW', JSON.stringify(granted.reasons));
    assert.equal(claimsOf(granted.capability).aarm.scope, 'grant');
    assert.equal((await useTool(tools, 'drive.share', granted.capability, parameters)).status, 200);
    const asWrite = await decideAction(arbiter, uniqueSession('cap-grant'), 'drive.share', 'write', parameters);
    assert.equal(claimsOf(asWrite.capability).aarm.scope, 'none');
    assert.equal((await useTool(tools, 'drive.share', asWrite.capability, parameters)).body.reason, 'wrong_scope');
  });

  test('a tool catalogued as read and write gets the union, checked as either', async () => {
    const parameters = { note: 'n-1', text: 'hello' };
    const decided = await decideAction(arbiter, uniqueSession('cap-union'), 'notes.update', 'write', parameters);
    assert.equal(decided.decision, 'ALLOW', JSON.stringify(decided.reasons));
    assert.equal(claimsOf(decided.capability).aarm.scope, 'read write');
    const receipt = (await arbiter.get(`/v1/receipts/${decided.receipt.id}`)).body;
    assert.equal(receipt.capability.scope, 'read write');
    // The tool checks write: the union carries it.
    assert.equal((await useTool(tools, 'notes.update', decided.capability, parameters)).status, 200);
    // A delete was never evaluated: declared so, the capability has no scope.
    const asDelete = await decideAction(arbiter, uniqueSession('cap-union'), 'notes.update', 'delete', parameters);
    assert.equal(claimsOf(asDelete.capability).aarm.scope, 'none');
  });
});

describe('capability expiry', () => {
  let arbiter: TestArbiter;
  let tools: RunningToolServer;
  before(async () => {
    arbiter = await startTestArbiter({ env: { ARBITER_CAPABILITY_TTL_S: '1' } });
    tools = await startToolServer({ arbiterUrl: arbiter.url, port: 0 });
  });
  after(async () => {
    await tools?.close();
    await arbiter?.stop();
  });

  test('a capability used after its TTL is refused as expired', { timeout: 15_000 }, async () => {
    const parameters = { path: '/srv/late.txt' };
    const decision = await decideAction(arbiter, uniqueSession('cap-expiry'), 'files.read', 'read', parameters);
    const claims = claimsOf(decision.capability);
    assert.ok(claims.exp - claims.iat <= 2, `TTL 1 s: exp - iat = ${claims.exp - claims.iat}`);
    // exp is at most 2 s after issuance (1 s, rounded up to the next second): wait past it.
    await sleep(Math.max(0, claims.exp * 1000 - Date.now()) + 250);
    const res = await useTool(tools, 'files.read', decision.capability, parameters);
    assert.equal(res.status, 403);
    assert.equal(res.body.reason, 'expired');
  });
});

describe('the example tool server fails closed', () => {
  test('when Arbiter cannot be reached it answers 503 and runs nothing', async () => {
    const port = await freePort(); // nothing listens there
    const tools = await startToolServer({ arbiterUrl: `http://127.0.0.1:${port}`, port: 0, timeoutMs: 1000 });
    try {
      const res = await useTool(tools, 'files.read', 'a.b.c', { path: '/srv/a' });
      assert.equal(res.status, 503);
      assert.equal(res.body.output, undefined);
    } finally {
      await tools.close();
    }
  });
});

describe('with ARBITER_AUTH=jwt, a capability bound to the PEP it was issued to', () => {
  const ISSUER = 'https://idp.test';
  const AUDIENCE = 'arbiter';
  let arbiter: TestArbiter;
  let dir: string;
  let agentToken: string;
  const bearer: Record<string, { authorization: string }> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-cap-azp-'));
    const idp = await createTestIssuer();
    for (const [sub, tenant] of [
      ['gateway-a', 'acme'],
      ['gateway-b', 'acme'],
    ] as const) {
      const token = await idp.sign({ sub, tenant, roles: ['pep'] }, { issuer: ISSUER, audience: AUDIENCE });
      bearer[sub] = { authorization: `Bearer ${token}` };
    }
    agentToken = await idp.sign(
      { sub: 'agent-1', tenant: 'acme', scope: 'files:read', jti: 'jti-azp-agent' },
      { issuer: ISSUER, audience: `${AUDIENCE}:agent` },
    );
    arbiter = await startTestArbiter({
      env: {
        ...(await jwtEnv(idp, dir, { issuer: ISSUER, audience: AUDIENCE })),
      },
    });
  });
  after(async () => {
    await arbiter.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('another PEP of the tenant can neither verify nor redeem it, and does not use it up', async () => {
    const parameters = { path: '/srv/a.txt' };
    const issued = await issueCapability(
      {
        holder: 'gateway-a',
        tenant: 'acme',
        sessionId: 's-azp',
        actionId: 'act-azp',
        tool: 'files.read',
        operation: 'read',
        parametersHash: hashOf(parameters),
        receiptId: 'rcpt-azp',
        scope: 'read',
        now: new Date(),
      },
      arbiter.signingKey,
    );
    const body = { capability: issued.token, tool: 'files.read', parameters, scope: 'read' };
    for (const redeem of [false, true]) {
      const other = await arbiter.post('/v1/capabilities/verify', { ...body, redeem }, bearer['gateway-b']);
      assert.equal(other.status, 200, JSON.stringify(other.body));
      assert.deepEqual(other.body, { valid: false, reason: 'wrong_caller' });
    }
    const own = await arbiter.post('/v1/capabilities/verify', { ...body, redeem: true }, bearer['gateway-a']);
    assert.equal(own.body.valid, true, JSON.stringify(own.body));
    const again = await arbiter.post('/v1/capabilities/verify', { ...body, redeem: true }, bearer['gateway-a']);
    assert.deepEqual(again.body, { valid: false, reason: 'already_used' });
  });

  test('a decision binds its capability to the PEP that asked; a replay by another PEP comes without it', async () => {
    const request = {
      action: { id: 'act-bound', tool: 'files.read', operation: 'read', parameters: { path: '/srv/b.txt' } },
      session: { id: uniqueSession('cap-bound') },
      identity: { agent_token: agentToken },
    };
    const first = await arbiter.post('/v1/decide', request, bearer['gateway-a']);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.decision, 'ALLOW');
    const claims = JSON.parse(Buffer.from(first.body.capability.split('.')[1], 'base64url').toString('utf8'));
    assert.equal(claims.azp, 'gateway-a');
    const replay = await arbiter.post('/v1/decide', request, bearer['gateway-b']);
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    assert.equal(replay.body.decision, 'ALLOW');
    assert.equal(replay.body.capability, undefined, 'another PEP of the tenant is not handed the capability');
    const own = await arbiter.post('/v1/decide', request, bearer['gateway-a']);
    assert.equal(own.body.capability, first.body.capability);
  });
});
