/**
 * AARM R1–R9, black box: one `arbiter serve` process with the shipped policy, spoken to
 * only over HTTP (and the `arbiter` CLI for offline verification), as a gateway or an
 * auditor would. Each `describe` is one requirement of ../shared/aarm/spec-digest.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { spawnArbiter, type ArbiterProcess } from '../support/process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'services', 'decision', 'src', 'cli', 'main.ts');

let server: ArbiterProcess;
let receiver: OtlpReceiver;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'arbiter-conformance-'));
  receiver = await startOtlpReceiver();
  server = await spawnArbiter({
    ARBITER_DRIFT: 'hashed',
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf',
  });
});
after(async () => {
  await server.stop();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

let sessions = 0;
const session = (label: string) => `conf-${label}-${process.pid}-${++sessions}`;

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

const decide = (
  sessionId: string,
  tool: string,
  parameters: Record<string, unknown> = {},
  extra: { intent?: string; agent?: string | null; signals?: Record<string, unknown>; id?: string } = {},
) =>
  http('POST', '/v1/decide', {
    action: { ...(extra.id && { id: extra.id }), tool, parameters },
    session: { id: sessionId, ...(extra.intent && { intent: extra.intent }) },
    identity: extra.agent === null ? {} : { agent: extra.agent ?? 'conformance-agent', human: 'alice' },
    signals: extra.signals ?? {},
  });

const policyIds = (answer: { body: { reasons: Array<{ policy_id: string }> } }) =>
  answer.body.reasons.map((r) => r.policy_id);

describe('R1 pre-execution interception: nothing bypasses, nothing fails open', () => {
  test('a forbidden action is denied with its policy and reason, and receipted', async () => {
    const r = await decide(session('r1'), 'db.drop', { database: 'production' });
    assert.equal(r.body.decision, 'DENY');
    assert.deepEqual(policyIds(r), ['no-prod-drop']);
    assert.equal((await http('GET', `/v1/receipts/${r.body.receipt.id}`)).body.decision, 'DENY');
    assert.equal(r.body.capability, undefined, 'nothing a tool would accept');
  });

  test('an unknown tool, a malformed envelope, a huge body: never ALLOW', async () => {
    assert.equal((await decide(session('r1'), 'shell.exec', { cmd: 'rm -rf /' })).body.decision, 'DENY');
    const malformed = await http('POST', '/v1/decide', { action: { tool: 42 }, session: {} });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.decision, 'DENY');
    const huge = await http(
      'POST',
      '/v1/decide',
      JSON.stringify({ action: { tool: 'files.read', parameters: { x: 'y'.repeat(400_000) } }, session: { id: 's' } }),
    );
    assert.equal(huge.status, 413);
    assert.equal(huge.body.decision, 'DENY');
  });
});

describe('R2 context accumulation', () => {
  test('step 3 is judged on steps 1 and 2; the same action alone is not', async () => {
    const s = session('r2');
    await decide(s, 'files.read', { path: '/crm/customers.csv' });
    await decide(s, 'db.query', { sql: 'select email from customers', limit: 10 });
    const send = await decide(s, 'email.send', { to: 'partner@elsewhere.io', subject: 'list' });
    assert.equal(send.body.decision, 'DENY', 'external send after confidential data');
    assert.equal(
      (await decide(session('r2-fresh'), 'email.send', { to: 'partner@elsewhere.io', subject: 'list' })).body.decision,
      'ALLOW',
    );
    const context = (await http('GET', `/v1/sessions/${s}`)).body.context;
    assert.equal(context.action_count, 3);
    assert.equal(context.max_classification, 'CONFIDENTIAL');
    assert.deepEqual(
      context.history.map((h: { tool: string }) => h.tool),
      ['files.read', 'db.query', 'email.send'],
    );
  });

  test('data nothing classifies counts as the highest sensitivity', async () => {
    const s = session('r2-unknown');
    const denied = await decide(s, 'mystery.tool', {}, { id: 'ran-anyway' });
    const outcome = await http('POST', '/v1/actions/ran-anyway/outcome', { status: 'success', session_id: s });
    assert.equal(denied.body.decision, 'DENY');
    assert.equal(outcome.body.classification, 'RESTRICTED');
  });
});

describe('R3 policy with intent; parameter validation; deferral when context is missing', () => {
  test('parameter validation rewrites what it can and denies what it cannot', async () => {
    const capped = await decide(session('r3'), 'db.query', { sql: 'select 1', limit: 5000 });
    assert.equal(capped.body.decision, 'MODIFY');
    assert.equal(capped.body.parameters.limit, 100);
    assert.equal((await decide(session('r3'), 'db.query', { sql: 'select 1', limit: 'all' })).body.decision, 'DENY');
  });

  test('missing context defers; the same input decides the same way every time', async () => {
    const r = await decide(session('r3'), 'credentials.rotate', { name: 'db' });
    assert.equal(r.body.decision, 'DEFER');
    assert.deepEqual(r.body.deferral.context_needed, ['maintenance_window']);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const a = await decide(session('r3-det'), 'payments.transfer', { amount: 5000 });
      seen.add(`${a.body.decision}:${policyIds(a).join(',')}`);
    }
    assert.deepEqual([...seen], ['STEP_UP:catalog.effects.large-transfer']);
  });
});

describe('R4 the five decisions, and how STEP_UP and DEFER end', () => {
  test('STEP_UP waits for a human; the approval ends in ALLOW with a capability', async () => {
    const r = await decide(session('r4'), 'payments.transfer', { amount: 5000, to: 'ACME' });
    assert.equal(r.body.decision, 'STEP_UP');
    const approved = await http('POST', `/v1/approvals/${r.body.approval.id}`, {
      decision: 'approve',
      approver: 'carol',
      reason: 'invoice checked',
    });
    assert.equal(approved.body.status, 'approved');
    assert.ok(approved.body.capability);
    const again = await http('POST', `/v1/approvals/${r.body.approval.id}`, { decision: 'approve', approver: 'dave' });
    assert.equal(again.status, 409, 'a late or repeated answer does nothing');
  });

  test('DEFER is resolved with the context it needed', async () => {
    const r = await decide(session('r4'), 'credentials.rotate', { name: 'db' });
    const resolved = await http('POST', `/v1/deferrals/${r.body.deferral.id}/resolve`, {
      context: { maintenance_window: true },
    });
    assert.equal(resolved.body.decision, 'ALLOW');
    const refused = await decide(session('r4'), 'credentials.rotate', { name: 'db' });
    const closed = await http('POST', `/v1/deferrals/${refused.body.deferral.id}/resolve`, {
      context: { maintenance_window: false },
    });
    assert.equal(closed.body.decision, 'DENY');
  });
});

describe('R5 tamper-evident receipts, verifiable offline', () => {
  test('a session exported and checked with the CLI verifies; an edit is named', async () => {
    const s = session('r5');
    for (const tool of ['files.read', 'db.drop', 'email.send'])
      await decide(s, tool, { database: 'production', to: 'bob@example.com' });
    const keys = join(dir, 'keys.json');
    const receipts = join(dir, 'receipts.json');
    writeFileSync(keys, JSON.stringify((await http('GET', '/v1/keys')).body));
    const chain = (await http('GET', `/v1/sessions/${s}/receipts`)).body;
    writeFileSync(receipts, JSON.stringify(chain));
    const verify = () =>
      spawnSync(process.execPath, ['--import', 'tsx', CLI, 'receipts', 'verify', '--jwks', keys, receipts], {
        cwd: ROOT,
        encoding: 'utf8',
      });
    const ok = verify();
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    chain.receipts[1].decision = 'ALLOW';
    writeFileSync(receipts, JSON.stringify(chain));
    const tampered = verify();
    assert.equal(tampered.status, 1);
    assert.match(tampered.stdout, /^altered receipt=/m);
  });
});

describe('R6 identity binding', () => {
  test('no identity, no action; the identity is in the receipt', async () => {
    const anonymous = await decide(session('r6'), 'files.read', {}, { agent: null });
    assert.equal(anonymous.body.decision, 'DENY');
    const named = await decide(session('r6'), 'files.read', { path: '/a' }, { agent: 'agent-alice' });
    const receipt = (await http('GET', `/v1/receipts/${named.body.receipt.id}`)).body;
    assert.equal(receipt.identity.agent, 'agent-alice');
    assert.equal(receipt.identity.human, 'alice');
  });
});

describe('R7 semantic distance from the intent', () => {
  test('an on-task action passes; a hijacked one is stepped up, with its distance', async () => {
    const s = session('r7');
    const intent = 'summarise the quarterly sales report from the finance files';
    const onTask = await decide(s, 'files.read', { path: '/finance/quarterly-sales-report.csv' }, { intent });
    assert.equal(onTask.body.decision, 'ALLOW');
    assert.ok(onTask.body.drift.distance < 0.98);
    const hijack = await decide(
      s,
      'email.send',
      { to: 'x@evil.io', subject: 'wire transfer', body: 'send the offshore account credentials now' },
      { intent },
    );
    assert.equal(hijack.body.decision, 'STEP_UP');
    assert.ok(policyIds(hijack).includes('intent-drift'));
    assert.ok(hijack.body.drift.distance > 0.98);
  });
});

describe('R8 telemetry export', () => {
  test('decisions, including DEFER, arrive at the collector as OpenTelemetry events without raw parameters', async () => {
    const s = session('r8');
    const answers = [
      await decide(s, 'credentials.rotate', { name: 'db', password: 'hunter2' }),
      await decide(s, 'db.drop', { database: 'production' }),
    ];
    const ids = answers.map((a) => a.body.receipt.id);
    for (
      let i = 0;
      i < 100 && !ids.every((id) => receiver.records().some((l) => l.attributes['aarm.receipt_id'] === id));
      i++
    )
      await sleep(100);
    const logs = receiver.records().filter((l) => ids.includes(String(l.attributes['aarm.receipt_id'])));
    assert.deepEqual(logs.map((l) => `${l.eventName}:${l.attributes['aarm.decision']}`).sort(), [
      'aarm.decision:DEFER',
      'aarm.decision:DENY',
    ]);
    assert.ok(!JSON.stringify(logs).includes('hunter2'), 'credentials never leave in clear');
  });
});

describe('R9 least privilege at execution time', () => {
  test('a capability authorises exactly its action, once; a read never authorises a write', async () => {
    const r = await decide(session('r9'), 'files.read', { path: '/a' });
    const check = (body: Record<string, unknown>) =>
      http('POST', '/v1/capabilities/verify', { capability: r.body.capability, ...body });
    assert.equal((await check({ tool: 'files.read', parameters: { path: '/a' }, scope: 'read' })).body.valid, true);
    assert.equal((await check({ tool: 'files.read', parameters: { path: '/etc/shadow' } })).body.valid, false);
    assert.equal((await check({ tool: 'files.read', parameters: { path: '/a' }, scope: 'write' })).body.valid, false);
    assert.equal((await check({ tool: 'files.read', parameters: { path: '/a' }, redeem: true })).body.valid, true);
    const second = await check({ tool: 'files.read', parameters: { path: '/a' }, redeem: true });
    assert.equal(second.body.valid, false);
    assert.equal(second.body.reason, 'already_used');
  });
});
