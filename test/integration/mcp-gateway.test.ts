/**
 * The MCP gateway (the reference PEP) end to end: a real Arbiter with the shipped policy, a
 * real upstream MCP server built with the SDK, the gateway between them, and a real MCP
 * client, all linked with the SDK's in-memory transport. What is asserted is what reaches
 * the upstream (or does not) and what the client gets back.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import {
  CAPABILITY_META_KEY,
  createGateway,
  outputHash,
  wrapperMetaTool,
  type GatewayOptions,
} from '../../services/mcp-gateway/src/gateway.js';
import { tokenFile } from '../../services/mcp-gateway/src/token-file.js';
import { startTestArbiter, uniqueSession, type TestArbiter } from '../support/arbiter.js';
import { createTestIssuer, jwtEnv, type TestIssuer } from '../support/tokens.js';

interface Received {
  tool: string;
  arguments: Record<string, unknown>;
  meta: Record<string, unknown> | undefined;
}

const TOOLS: Tool[] = [
  { name: 'files.read', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } },
  { name: 'db.query', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } },
  { name: 'db.drop', inputSchema: { type: 'object' }, annotations: { destructiveHint: true } },
  { name: 'payments.transfer', inputSchema: { type: 'object' } },
  { name: 'credentials.rotate', inputSchema: { type: 'object' } },
  // Not in Arbiter's catalogue; claims to be harmless.
  { name: 'notes.purge', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } },
  { name: 'notes.shred', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true, destructiveHint: true } },
];

/** The real tool server: counts and records every call it gets. */
function upstreamServer() {
  const received: Received[] = [];
  const server = new Server({ name: 'tools', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const { name, arguments: args = {}, _meta } = request.params;
    received.push({ tool: name, arguments: args, meta: _meta as Record<string, unknown> | undefined });
    return { content: [{ type: 'text', text: `${name} ran with ${JSON.stringify(args)}` }] };
  });
  return { server, received, count: (tool: string) => received.filter((r) => r.tool === tool).length };
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Bounded polling for something Arbiter will list soon; asserts on content, not on time. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} never appeared`);
}

const text = (result: CallToolResult) =>
  result.content.map((c) => (c.type === 'text' ? c.text : JSON.stringify(c))).join('\n');

/** Upstream ⇄ gateway ⇄ client, all in memory, with a session of its own. */
async function connectGateway(
  arbiterUrl: string,
  cleanups: Array<() => Promise<void>>,
  overrides: Partial<GatewayOptions> = {},
) {
  const sessionId = uniqueSession('mcp');
  const tools = upstreamServer();
  const [upstreamClientSide, upstreamServerSide] = InMemoryTransport.createLinkedPair();
  await tools.server.connect(upstreamServerSide);
  const upstream = new Client({ name: 'gateway-upstream', version: '1.0.0' });
  await upstream.connect(upstreamClientSide);

  const logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const gateway = createGateway({
    arbiterUrl,
    upstream,
    sessionId,
    agent: 'agent-1',
    human: 'alice',
    approvalWaitSeconds: 30,
    requestTimeoutMs: 5000,
    logger: (level, message, fields) => logs.push({ level, message, ...(fields && { fields }) }),
    ...overrides,
  });
  const [clientSide, gatewaySide] = InMemoryTransport.createLinkedPair();
  await gateway.connect(gatewaySide);
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(clientSide);
  cleanups.push(async () => {
    await client.close();
    await gateway.close();
    await upstream.close();
    await tools.server.close();
  });
  const call = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { sessionId, tools, client, call, logs };
}

describe('the MCP gateway in front of a real tool server', () => {
  let arbiter: TestArbiter;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    arbiter = await startTestArbiter();
  });
  after(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await arbiter.stop();
  });

  const setup = (overrides: Partial<GatewayOptions> = {}) => connectGateway(arbiter.url, cleanups, overrides);

  const pendingOf = async (kind: 'approval' | 'deferral', sessionId: string) =>
    eventually(`a pending ${kind} of ${sessionId}`, async () => {
      const listed = await arbiter.get(`/v1/${kind}s?status=pending`);
      assert.equal(listed.status, 200);
      return (listed.body[`${kind}s`] as Array<{ id: string; session_id: string }>).find(
        (r) => r.session_id === sessionId,
      );
    });

  const redeem = async (capability: unknown, tool: string, parameters: Record<string, unknown>) =>
    (await arbiter.post('/v1/capabilities/verify', { capability, tool, parameters, redeem: true })).body;

  /** Real Arbiter for everything, but the verify route answered by `answer` (what the gateway then does). */
  const verifyAnswered = (answer: () => Promise<Response>) =>
    (async (url: string | URL | Request, init?: RequestInit) =>
      String(url).endsWith('/v1/capabilities/verify') ? answer() : fetch(url, init)) as typeof fetch;

  test('tools/list passes the upstream tools through', async () => {
    const { client } = await setup();
    const listed = await client.listTools();
    assert.deepEqual(
      listed.tools.map((t) => t.name),
      TOOLS.map((t) => t.name),
    );
  });

  test('ALLOW runs the tool once with the original arguments and the capability in _meta', async () => {
    const { call, tools } = await setup();
    const result = await call('files.read', { path: '/srv/report.csv' });
    assert.notEqual(result.isError, true, text(result));
    assert.match(text(result), /files\.read ran/);
    assert.equal(tools.count('files.read'), 1);
    const got = tools.received[0]!;
    assert.deepEqual(got.arguments, { path: '/srv/report.csv' });
    const capability = got.meta?.[CAPABILITY_META_KEY];
    assert.equal(typeof capability, 'string', 'the capability reaches the upstream in _meta');
    // The gateway used it up before the upstream ran: it cannot run anything again.
    const verdict = await redeem(capability, 'files.read', { path: '/srv/report.csv' });
    assert.deepEqual(verdict, { valid: false, reason: 'already_used' });
  });

  test('a replayed decide answer whose capability was used never reaches the upstream', async () => {
    let first: string | undefined;
    const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
      const res = await fetch(url, init);
      if (!String(url).endsWith('/v1/decide')) return res;
      // A compromised channel hands back the first ALLOW (and its capability) every time.
      first ??= await res.text();
      return new Response(first, { status: 200 });
    }) as typeof fetch;
    const { call, tools } = await setup({ fetchImpl });
    const once = await call('files.read', { path: '/srv/report.csv' });
    assert.notEqual(once.isError, true, text(once));
    const again = await call('files.read', { path: '/srv/report.csv' });
    assert.equal(again.isError, true);
    assert.match(text(again), /already_used/);
    assert.equal(tools.count('files.read'), 1);
  });

  test('a capability that fails verification, a 503 or an unreachable verify route runs nothing', async () => {
    const answers: Array<[string, () => Promise<Response>]> = [
      ['invalid', async () => Response.json({ valid: false, reason: 'wrong_parameters' })],
      ['503', async () => Response.json({ decision: 'DENY', error: { code: 'store_unavailable' } }, { status: 503 })],
      ['not valid: true', async () => Response.json({ valid: 'yes' })],
      ['unreachable', async () => Promise.reject(new TypeError('fetch failed'))],
    ];
    for (const [label, answer] of answers) {
      const { call, tools } = await setup({ fetchImpl: verifyAnswered(answer) });
      const result = await call('files.read', { path: '/srv/report.csv' });
      assert.equal(result.isError, true, label);
      assert.equal(tools.received.length, 0, label);
    }
  });

  test('the gateway redeems exactly the call it forwards (the original arguments, or MODIFY ones)', async () => {
    const asked: any[] = [];
    const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
      if (String(url).endsWith('/v1/capabilities/verify')) asked.push(JSON.parse(String(init?.body)));
      return fetch(url, init);
    }) as typeof fetch;
    const { call, tools } = await setup({ fetchImpl });
    await call('db.query', { sql: 'select * from orders', limit: 5000 });
    assert.equal(tools.count('db.query'), 1);
    assert.equal(asked.length, 1);
    assert.equal(asked[0].redeem, true);
    assert.equal(asked[0].tool, 'db.query');
    assert.deepEqual(asked[0].parameters, tools.received[0]!.arguments);
  });

  test('the outcome of an allowed call lands in the session receipts', async () => {
    const { call, sessionId } = await setup();
    const result = await call('files.read', { path: '/srv/a.txt' });
    assert.notEqual(result.isError, true, text(result));
    const receipts = await arbiter.get(`/v1/sessions/${sessionId}/receipts`);
    assert.equal(receipts.status, 200);
    const list = receipts.body.receipts as Array<Record<string, any>>;
    const outcome = list.find((r) => r.kind === 'outcome');
    assert.ok(outcome, `an outcome receipt among ${list.map((r) => r.kind).join(', ')}`);
    assert.equal(JSON.stringify(outcome).includes(outputHash(result.content)), true, 'it carries the output hash');
    assert.equal(JSON.stringify(outcome).includes('success'), true);
  });

  test('DENY never reaches the upstream and the client gets isError with the reason', async () => {
    const { call, tools } = await setup();
    const result = await call('db.drop', { database: 'production' });
    assert.equal(result.isError, true);
    assert.match(text(result), /dropping the production database is forbidden/);
    assert.equal(tools.count('db.drop'), 0);
  });

  test('MODIFY reaches the upstream with the modified parameters', async () => {
    const { call, tools } = await setup();
    const result = await call('db.query', { sql: 'select * from orders', limit: 5000 });
    assert.notEqual(result.isError, true, text(result));
    assert.equal(tools.count('db.query'), 1);
    const got = tools.received[0]!;
    assert.deepEqual(got.arguments, { sql: 'select * from orders', limit: 100 });
    const verdict = await redeem(got.meta?.[CAPABILITY_META_KEY], 'db.query', got.arguments);
    assert.deepEqual(verdict, { valid: false, reason: 'already_used' });
  });

  test('STEP_UP waits and runs after an approval given meanwhile', async () => {
    const { call, tools, sessionId } = await setup();
    const running = call('payments.transfer', { amount: 5000, to: 'supplier' });
    const pending = await pendingOf('approval', sessionId);
    assert.equal(tools.count('payments.transfer'), 0, 'nothing runs while the approval is pending');
    const vote = await arbiter.post(`/v1/approvals/${pending.id}`, {
      decision: 'approve',
      approver: 'bob',
      reason: 'invoice checked',
    });
    assert.equal(vote.status, 200, JSON.stringify(vote.body));
    const result = await running;
    assert.notEqual(result.isError, true, text(result));
    assert.equal(tools.count('payments.transfer'), 1);
    const got = tools.received[0]!;
    assert.deepEqual(got.arguments, { amount: 5000, to: 'supplier' });
    assert.equal(typeof got.meta?.[CAPABILITY_META_KEY], 'string');
  });

  test('a denied STEP_UP never runs', async () => {
    const { call, tools, sessionId } = await setup();
    const running = call('payments.transfer', { amount: 5000, to: 'mallory' });
    const pending = await pendingOf('approval', sessionId);
    const vote = await arbiter.post(`/v1/approvals/${pending.id}`, {
      decision: 'deny',
      approver: 'bob',
      reason: 'unknown payee',
    });
    assert.equal(vote.status, 200, JSON.stringify(vote.body));
    const result = await running;
    assert.equal(result.isError, true);
    assert.match(text(result), /denied/);
    assert.equal(tools.count('payments.transfer'), 0);
  });

  test('a STEP_UP still pending when the bounded wait ends never runs', async () => {
    const { call, tools } = await setup({ approvalWaitSeconds: 0 });
    const result = await call('payments.transfer', { amount: 5000, to: 'supplier' });
    assert.equal(result.isError, true);
    assert.match(text(result), /still pending/);
    assert.equal(tools.count('payments.transfer'), 0);
  });

  test('DEFER runs after a resolution', async () => {
    const { call, tools, sessionId } = await setup();
    const running = call('credentials.rotate', { service: 'billing' });
    const pending = await pendingOf('deferral', sessionId);
    assert.equal(tools.count('credentials.rotate'), 0);
    const resolved = await arbiter.post(`/v1/deferrals/${pending.id}/resolve`, {
      context: { maintenance_window: true },
    });
    assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
    const result = await running;
    assert.notEqual(result.isError, true, text(result));
    assert.equal(tools.count('credentials.rotate'), 1);
    assert.deepEqual(tools.received[0]!.arguments, { service: 'billing' });
  });

  test('a DEFER resolved to DENY never runs', async () => {
    const { call, tools, sessionId } = await setup();
    const running = call('credentials.rotate', { service: 'billing' });
    const pending = await pendingOf('deferral', sessionId);
    await arbiter.post(`/v1/deferrals/${pending.id}/resolve`, { context: { maintenance_window: false } });
    const result = await running;
    assert.equal(result.isError, true);
    assert.equal(tools.count('credentials.rotate'), 0);
  });

  test('Arbiter unreachable: isError and no upstream call', async () => {
    const port = await closedPort();
    const { call, tools } = await setup({ arbiterUrl: `http://127.0.0.1:${port}` });
    const result = await call('files.read', { path: '/srv/report.csv' });
    assert.equal(result.isError, true);
    assert.match(text(result), /could not be reached/);
    assert.equal(tools.received.length, 0);
  });

  test('a non-200, a malformed answer or an unknown decision fails closed', async () => {
    const answers: Array<[number, string]> = [
      [503, JSON.stringify({ decision: 'ALLOW', action_id: 'act_x', capability: 'x' })],
      [200, 'not json'],
      [200, JSON.stringify({ decision: 'MAYBE', action_id: 'act_x' })],
      [200, JSON.stringify({ decision: 'ALLOW' })],
      [200, JSON.stringify({ decision: 'MODIFY', action_id: 'act_x', capability: 'x' })],
      [200, JSON.stringify({ decision: 'STEP_UP', action_id: 'act_x' })],
    ];
    for (const [status, body] of answers) {
      const fetchImpl = (async () => new Response(body, { status })) as typeof fetch;
      const { call, tools } = await setup({ fetchImpl });
      const result = await call('files.read', { path: '/srv/report.csv' });
      assert.equal(result.isError, true, `${status} ${body}`);
      assert.equal(tools.received.length, 0, `${status} ${body}`);
    }
  });

  test('a decide request that times out fails closed', async () => {
    const fetchImpl = ((_url: string | URL | Request, init?: RequestInit) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason));
      })) as typeof fetch;
    const { call, tools } = await setup({ fetchImpl, requestTimeoutMs: 50 });
    const result = await call('files.read', { path: '/srv/report.csv' });
    assert.equal(result.isError, true);
    assert.match(text(result), /timed out/);
    assert.equal(tools.received.length, 0);
  });

  test('a failed outcome report changes nothing for the caller but is logged', async () => {
    const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) =>
      String(url).includes('/outcome') ? new Response('{}', { status: 500 }) : fetch(url, init)) as typeof fetch;
    const { call, tools, logs } = await setup({ fetchImpl });
    const result = await call('files.read', { path: '/srv/report.csv' });
    assert.notEqual(result.isError, true, text(result));
    assert.equal(tools.count('files.read'), 1);
    assert.ok(
      logs.some((l) => l.level === 'error' && /outcome/.test(l.message)),
      'the failed report is logged',
    );
  });

  test('meta-tools are resolved before evaluation and the wrapper name is kept for audit', async () => {
    const { call, tools, sessionId } = await setup({ metaTools: { call_tool: wrapperMetaTool() } });
    const denied = await call('call_tool', { name: 'db.drop', arguments: { database: 'production' } });
    assert.equal(denied.isError, true);
    assert.match(text(denied), /dropping the production database is forbidden/);
    assert.equal(tools.count('db.drop'), 0);

    const allowed = await call('call_tool', { name: 'files.read', arguments: { path: '/srv/x' } });
    assert.notEqual(allowed.isError, true, text(allowed));
    assert.equal(tools.count('files.read'), 1);
    assert.deepEqual(tools.received[0]!.arguments, { path: '/srv/x' });

    const receipts = (await arbiter.get(`/v1/sessions/${sessionId}/receipts`)).body.receipts as Array<
      Record<string, any>
    >;
    const decision = receipts.find((r) => r.kind === 'decision' && r.action?.tool === 'files.read');
    assert.ok(decision, 'the decision was taken on the real tool');
    assert.match(JSON.stringify(decision.action), /call_tool/);

    const garbled = await call('call_tool', { arguments: { path: '/srv/x' } });
    assert.equal(garbled.isError, true);
    assert.equal(tools.received.length, 1, 'an unresolvable meta-tool runs nothing');
  });

  test('the agent token and the caller token are sent', async () => {
    const seen: Array<{ url: string; authorization: string | null; session: string | null; body: any }> = [];
    const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
      seen.push({
        url: String(url),
        authorization: new Headers(init?.headers).get('authorization'),
        session: new Headers(init?.headers).get('x-arbiter-session'),
        body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      });
      return new Response(JSON.stringify({ decision: 'DENY', action_id: 'act_x', reasons: [] }), { status: 200 });
    }) as typeof fetch;
    const { call } = await setup({ fetchImpl, agentToken: 'agent.jwt', callerToken: 'pep.jwt' });
    await call('files.read', { path: '/srv/report.csv' });
    assert.equal(seen[0]?.authorization, 'Bearer pep.jwt');
    assert.equal(seen[0]?.body.identity.agent_token, 'agent.jwt');
    // The session id rides in a header as well, for load balancers that hash on it.
    assert.equal(seen[0]?.session, seen[0]?.body.session.id);
    assert.ok(seen[0]?.session);
  });

  test('upstream annotations never make a tool look less dangerous than it may be', async () => {
    const sent: Array<Record<string, unknown>> = [];
    const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
      if (String(url).endsWith('/v1/decide')) sent.push(JSON.parse(String(init?.body)).action);
      return fetch(url, init);
    }) as typeof fetch;
    const { call, tools, sessionId } = await setup({ fetchImpl });
    // readOnlyHint is a claim of harmlessness: no "read" is declared on its word.
    const purged = await call('notes.purge', { all: true });
    assert.equal(Object.hasOwn(sent[0]!, 'operation'), false, JSON.stringify(sent[0]));
    // Uncatalogued, so the shipped default posture applies.
    assert.equal(purged.isError, true, text(purged));
    assert.equal(tools.count('notes.purge'), 0);
    // A destructive hint wins over a read-only one.
    await call('notes.shred', { all: true });
    assert.equal(sent[1]!.operation, 'delete');
    // Catalogued read-only tools keep working: Arbiter's catalogue says what they do.
    const read = await call('files.read', { path: '/srv/a.txt' });
    assert.notEqual(read.isError, true, text(read));
    assert.equal(Object.hasOwn(sent[2]!, 'operation'), false);
    const receipts = (await arbiter.get(`/v1/sessions/${sessionId}/receipts`)).body.receipts as Array<
      Record<string, any>
    >;
    const decision = receipts.find((r) => r.kind === 'decision' && r.action?.tool === 'files.read');
    assert.equal(decision?.capability?.scope, 'read', 'the scope came from the catalogue');
  });
});

describe('the MCP gateway with ARBITER_AUTH=jwt and rotated token files', () => {
  const ISSUER = 'https://idp.test';
  const AUDIENCE = 'arbiter';
  let dir: string;
  let idp: TestIssuer;
  let arbiter: TestArbiter;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'arbiter-mcp-tokens-'));
    idp = await createTestIssuer();
    arbiter = await startTestArbiter({ env: await jwtEnv(idp, dir, { issuer: ISSUER, audience: AUDIENCE }) });
  });
  after(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await arbiter.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The kubelet swaps a projected token in atomically; a rename does the same. */
  const rotate = async (path: string, token: string) => {
    await writeFile(`${path}.tmp`, token);
    await rename(`${path}.tmp`, path);
  };
  const callerToken = (expiresIn: number) =>
    idp.sign({ sub: 'gateway', roles: ['pep'], tenant: 'acme' }, { issuer: ISSUER, audience: AUDIENCE, expiresIn });
  const agentToken = (expiresIn: number) =>
    idp.sign(
      { sub: 'agent-1', tenant: 'acme', jti: `jti-${Math.random()}` },
      { issuer: ISSUER, audience: `${AUDIENCE}:agent`, expiresIn },
    );

  test('a rotated token file is used by the next call once the last read is a second old, without a restart', async () => {
    const callerFile = join(dir, 'caller-token');
    const agentFile = join(dir, 'agent-token');
    await rotate(callerFile, await callerToken(-60));
    await rotate(agentFile, await agentToken(-60));
    let now = 1_000_000;
    const clock = () => now;
    const { call, tools } = await connectGateway(arbiter.url, cleanups, {
      callerToken: tokenFile(callerFile, { now: clock }),
      agentToken: tokenFile(agentFile, { now: clock }),
    });

    const expired = await call('files.read', { path: '/srv/a.txt' });
    assert.equal(expired.isError, true, text(expired));
    assert.match(text(expired), /401/);
    assert.equal(tools.count('files.read'), 0);

    await rotate(callerFile, await callerToken(600));
    await rotate(agentFile, await agentToken(600));
    // Within the interval the files are not read again: I/O stays bounded whatever the call rate.
    now += 999;
    const cached = await call('files.read', { path: '/srv/a.txt' });
    assert.equal(cached.isError, true, text(cached));
    assert.equal(tools.count('files.read'), 0);

    now += 1;
    const fresh = await call('files.read', { path: '/srv/a.txt' });
    assert.notEqual(fresh.isError, true, text(fresh));
    assert.equal(tools.count('files.read'), 1, 'the new tokens were sent and accepted');
  });

  test('a token file that is gone or empty at the next read runs nothing', async () => {
    const callerFile = join(dir, 'caller-token-2');
    await rotate(callerFile, await callerToken(600));
    let now = 0;
    const { call, tools, logs } = await connectGateway(arbiter.url, cleanups, {
      callerToken: tokenFile(callerFile, { now: () => now }),
      agentToken: await agentToken(600),
    });
    const ok = await call('files.read', { path: '/srv/a.txt' });
    assert.notEqual(ok.isError, true, text(ok));

    await rm(callerFile);
    now += 1000;
    const gone = await call('files.read', { path: '/srv/a.txt' });
    assert.equal(gone.isError, true);
    assert.match(text(gone), /caller token could not be read/);
    assert.doesNotMatch(text(gone), new RegExp(dir), 'the path stays in the gateway log, not the agent');

    await rotate(callerFile, '\n');
    now += 1000;
    const empty = await call('files.read', { path: '/srv/a.txt' });
    assert.equal(empty.isError, true);
    assert.equal(tools.count('files.read'), 1);
    assert.ok(logs.some((l) => l.level === 'error' && /empty/.test(String(l.fields?.error))));
  });
});
