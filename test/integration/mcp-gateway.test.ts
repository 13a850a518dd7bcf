/**
 * The MCP gateway (the reference PEP) end to end: a real Arbiter with the shipped policy, a
 * real upstream MCP server built with the SDK, the gateway between them, and a real MCP
 * client, all linked with the SDK's in-memory transport. What is asserted is what reaches
 * the upstream (or does not) and what the client gets back.
 */
import assert from 'node:assert/strict';
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
import { startTestArbiter, uniqueSession, type TestArbiter } from '../support/arbiter.js';

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

  /** Upstream ⇄ gateway ⇄ client, all in memory, with a session of its own. */
  async function setup(overrides: Partial<GatewayOptions> = {}) {
    const sessionId = uniqueSession('mcp');
    const tools = upstreamServer();
    const [upstreamClientSide, upstreamServerSide] = InMemoryTransport.createLinkedPair();
    await tools.server.connect(upstreamServerSide);
    const upstream = new Client({ name: 'gateway-upstream', version: '1.0.0' });
    await upstream.connect(upstreamClientSide);

    const logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
    const gateway = createGateway({
      arbiterUrl: arbiter.url,
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

  const pendingOf = async (kind: 'approval' | 'deferral', sessionId: string) =>
    eventually(`a pending ${kind} of ${sessionId}`, async () => {
      const listed = await arbiter.get(`/v1/${kind}s?status=pending`);
      assert.equal(listed.status, 200);
      return (listed.body[`${kind}s`] as Array<{ id: string; session_id: string }>).find(
        (r) => r.session_id === sessionId,
      );
    });

  const verify = async (capability: unknown, tool: string, parameters: Record<string, unknown>) =>
    (await arbiter.post('/v1/capabilities/verify', { capability, tool, parameters })).body;

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
    const verdict = await verify(capability, 'files.read', { path: '/srv/report.csv' });
    assert.equal(verdict.valid, true, JSON.stringify(verdict));
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
    const verdict = await verify(got.meta?.[CAPABILITY_META_KEY], 'db.query', got.arguments);
    assert.equal(verdict.valid, true, JSON.stringify(verdict));
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
    const seen: Array<{ url: string; authorization: string | null; body: any }> = [];
    const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
      seen.push({
        url: String(url),
        authorization: new Headers(init?.headers).get('authorization'),
        body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      });
      return new Response(JSON.stringify({ decision: 'DENY', action_id: 'act_x', reasons: [] }), { status: 200 });
    }) as typeof fetch;
    const { call } = await setup({ fetchImpl, agentToken: 'agent.jwt', callerToken: 'pep.jwt' });
    await call('files.read', { path: '/srv/report.csv' });
    assert.equal(seen[0]?.authorization, 'Bearer pep.jwt');
    assert.equal(seen[0]?.body.identity.agent_token, 'agent.jwt');
    assert.equal(seen[0]?.body.action.operation, 'read');
  });
});
