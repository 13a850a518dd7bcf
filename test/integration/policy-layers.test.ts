/**
 * Policy data layering through the real service (real opa build, real WASM, real HTTP):
 * folders that repeat a key load, a customer's overrides change decisions, a copy of the
 * project's rego/ works as the policy folder, and a broken data file is named in
 * /v1/policy while every decision is a 503 DENY, with logs that say which of the two
 * situations (no policy at all, or an earlier one serving) the service is in.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  decideBody,
  startLoggedArbiter,
  startTestArbiter,
  uniqueSession,
  type TestArbiter,
} from '../support/arbiter.js';

const REGO = join(import.meta.dirname, '..', '..', 'rego');
const shipped = () => JSON.parse(readFileSync(join(REGO, 'data.json'), 'utf8'));

const scratch = mkdtempSync(join(tmpdir(), 'arbiter-policy-layers-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A fresh folder under the scratch folder, with the given files (name → content). */
function folder(name: string, files: Record<string, string> = {}): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  return dir;
}

async function withArbiter(policyDir: string, run: (arbiter: TestArbiter) => Promise<void>): Promise<void> {
  const arbiter = await startTestArbiter({ env: { ARBITER_POLICY_DIR: policyDir } });
  try {
    await run(arbiter);
  } finally {
    await arbiter.stop();
  }
}

/** The real service with its log captured, for what it tells an operator. */
const startLogged = (policyDir: string) => startLoggedArbiter({ ARBITER_POLICY_DIR: policyDir });

/** A catalogued tool of the customer's own, plain enough that no shipped rule speaks about it. */
const CATALOG = {
  aarm: {
    catalog: {
      tools: {
        'ledger.annotate': {
          operation: 'write',
          classification: 'INTERNAL',
          default_decision: 'ALLOW',
          egress: false,
          description: 'annotate a ledger entry',
        },
      },
    },
    egress: { allowed_domains: ['corp.example', 'example.com'] },
  },
};

describe('policy data layering', () => {
  test('(a) two folders that repeat a key with the same value load', async () => {
    const repeat = folder('repeat', {
      'data.json': JSON.stringify({
        aarm: { egress: shipped().aarm.egress, config: { default_decision: shipped().aarm.config.default_decision } },
      }),
    });
    await withArbiter(`${REGO}:${repeat}`, async (arbiter) => {
      const status = (await arbiter.get('/v1/policy')).body;
      assert.equal(status.last_error, null);
      assert.match(status.hash, /^sha256:/);
      const res = await arbiter.post('/v1/decide', decideBody(uniqueSession('repeat'), 'no.such.tool'));
      assert.equal(res.status, 200);
      assert.equal(res.body.decision, 'DENY');
    });
  });

  test('(b) a customer catalog and overrides layer over the shipped defaults and change the decision', async () => {
    const catalog = folder('catalog', { 'data.json': JSON.stringify(CATALOG) });
    const overrides = folder('overrides');
    await withArbiter(`${REGO}:${catalog}:${overrides}`, async (arbiter) => {
      const data = arbiter.policy.data as any;
      assert.deepEqual(data.aarm.egress.allowed_domains, ['corp.example', 'example.com'], 'the catalog replaced it');
      assert.ok(data.aarm.catalog.tools['db.drop'], 'the shipped tools are still there');
      const before = await arbiter.post('/v1/decide', decideBody(uniqueSession('layers'), 'ledger.annotate'));
      assert.equal(before.body.decision, 'ALLOW');

      writeFileSync(
        join(overrides, 'data.yaml'),
        [
          'aarm:',
          '  catalog:',
          '    tools:',
          '      ledger.annotate:',
          '        default_decision: STEP_UP',
          '        approvers: [finance]',
          '  egress:',
          '    allowed_domains: [overrides.example]',
          '',
        ].join('\n'),
      );
      const reload = await arbiter.post('/v1/policy/reload', undefined);
      assert.equal(reload.status, 200, JSON.stringify(reload.body));
      assert.equal(reload.body.outcome, 'loaded');
      const after = await arbiter.post('/v1/decide', decideBody(uniqueSession('layers'), 'ledger.annotate'));
      assert.equal(after.body.decision, 'STEP_UP');
      assert.ok(after.body.approval?.id, 'an approval is opened');
      assert.deepEqual(
        after.body.reasons.map((r: { policy_id: string }) => r.policy_id),
        ['catalog'],
      );
      const layered = arbiter.policy.data as any;
      assert.deepEqual(layered.aarm.egress.allowed_domains, ['overrides.example']);
      // Merged key by key: the catalog's other fields of the entry stay.
      assert.equal(layered.aarm.catalog.tools['ledger.annotate'].operation, 'write');

      // null removes the key: the tool is no longer catalogued, so the default posture decides.
      writeFileSync(join(overrides, 'data.yaml'), 'aarm:\n  catalog:\n    tools:\n      ledger.annotate: null\n');
      assert.equal((await arbiter.post('/v1/policy/reload', undefined)).body.outcome, 'loaded');
      const removed = await arbiter.post('/v1/decide', decideBody(uniqueSession('layers'), 'ledger.annotate'));
      assert.equal(removed.body.decision, 'DENY');
      assert.equal((arbiter.policy.data as any).aarm.catalog.tools['ledger.annotate'], undefined);
    });
  });

  test('(c) a copy of the project rego/ folder used as the policy folder loads and decides like the original', async () => {
    const copy = join(scratch, 'rego-copy');
    cpSync(REGO, copy, { recursive: true });
    const tools = [...Object.keys(shipped().aarm.catalog.tools), 'no.such.tool'];
    const requests = [
      ...tools.map((tool) => ({ tool, parameters: {} })),
      { tool: 'db.drop', parameters: { database: 'production' } },
      { tool: 'db.query', parameters: { sql: 'select 1', limit: 500 } },
    ];
    const answers = async (arbiter: TestArbiter) => {
      const out = [];
      for (const [i, r] of requests.entries()) {
        const res = await arbiter.post('/v1/decide', decideBody(`copy-${i}`, r.tool, r.parameters));
        assert.equal(res.status, 200, `${r.tool}: ${JSON.stringify(res.body)}`);
        out.push({ tool: r.tool, decision: res.body.decision, reasons: res.body.reasons, patch: res.body.patch });
      }
      return out;
    };
    let original: unknown[] = [];
    await withArbiter(REGO, async (arbiter) => {
      original = await answers(arbiter);
    });
    await withArbiter(copy, async (arbiter) => {
      assert.equal((await arbiter.get('/v1/policy')).body.last_error, null);
      assert.deepEqual(await answers(arbiter), original);
    });
    assert.ok(
      original.some((a: any) => a.decision !== 'ALLOW'),
      'the comparison covers more than one kind of decision',
    );
  });

  test('(d) a broken data file is named in /v1/policy and every decision is a 503 DENY', async () => {
    const broken = folder('broken', {
      'data.json': '{\n  "aarm": {\n    "egress": {"allowed_domains": ["a.example",]}\n  }\n}\n',
    });
    await withArbiter(`${REGO}:${broken}`, async (arbiter) => {
      const status = (await arbiter.get('/v1/policy')).body;
      assert.equal(status.revision, null);
      assert.match(status.last_error.message, new RegExp(`^${broken}/data\\.json:3:48: not valid JSON`));
      const res = await arbiter.post('/v1/decide', decideBody(uniqueSession('broken'), 'files.read'));
      assert.equal(res.status, 503);
      assert.equal(res.body.decision, 'DENY');
      assert.equal(res.body.error.code, 'policy_unavailable');
    });
    const missing = join(scratch, 'not-there');
    await withArbiter(`${REGO}:${missing}`, async (arbiter) => {
      assert.match((await arbiter.get('/v1/policy')).body.last_error.message, new RegExp(`${missing} does not exist`));
      assert.equal((await arbiter.post('/v1/decide', decideBody(uniqueSession('missing'), 'files.read'))).status, 503);
    });
  });

  test('the log says whether any policy serves after a failed build, and names a left-out core copy', async () => {
    const copy = join(scratch, 'rego-copy-logged');
    cpSync(REGO, copy, { recursive: true });
    const extra = folder('extra', { 'data.yaml': '- not\n- an object\n' });
    const { arbiter, lines } = await startLogged(`${copy}:${extra}`);
    const failures = () => lines.filter((l) => l.msg.startsWith('policy build failed'));
    try {
      assert.equal(failures().length, 1);
      assert.equal(
        failures()[0]!.msg,
        'policy build failed; no policy is loaded: every decision answers 503 DENY until a build succeeds',
      );
      assert.match(String(failures()[0]!.error), /data\.yaml/);
      assert.ok(!lines.some((l) => /keeps serving/.test(l.msg)), 'no claim that some policy serves');

      writeFileSync(join(extra, 'data.yaml'), 'aarm:\n  config:\n    defer_timeout_s: 120\n');
      assert.equal((await arbiter.policy.reload()).outcome, 'loaded');
      const revision = arbiter.policy.version!.revision;
      const warnings = lines.filter((l) => l.level === 40 && l.msg.includes('copy of the core library'));
      assert.ok(warnings.length >= 1);
      assert.ok(warnings.every((w) => w.msg.startsWith(`policy folder ${copy} contains a copy of the core library`)));

      writeFileSync(join(extra, 'data.yaml'), 'aarm: {\n');
      assert.equal((await arbiter.policy.reload()).outcome, 'failed');
      assert.equal(failures().length, 2);
      assert.equal(failures()[1]!.msg, `policy build failed; the previous policy (revision ${revision}) keeps serving`);
      assert.equal(failures()[1]!.serving_revision, revision);
      assert.equal(arbiter.policy.version!.revision, revision);
    } finally {
      await arbiter.close();
    }
  });

  test('a folder that does not exist is logged once, not again on every poll', async () => {
    const missing = join(scratch, 'never-there');
    const { arbiter, lines } = await startLogged(`${REGO}:${missing}`);
    try {
      assert.equal((await arbiter.policy.reload()).outcome, 'failed');
      assert.equal((await arbiter.policy.reload()).outcome, 'failed');
      const failures = lines.filter((l) => l.msg.startsWith('policy build failed'));
      assert.equal(failures.length, 1);
      assert.match(String(failures[0]!.error), new RegExp(`${missing} does not exist`));
      assert.match(failures[0]!.msg, /no policy is loaded/);
      mkdirSync(missing);
      assert.equal((await arbiter.policy.reload()).outcome, 'loaded', 'once it exists, it loads');
    } finally {
      await arbiter.close();
    }
  });
});
