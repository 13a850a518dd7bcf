/**
 * The chart's promise about policy, checked against the real service: the policy
 * ConfigMap, laid out on disk the way the kubelet mounts one (timestamped folder, `..data`
 * link, one link per key), is what the service compiles; `kubectl apply` of a changed
 * ConfigMap (the kubelet's atomic swap of `..data`) is picked up by the poller without a
 * restart; a broken update leaves the old policy serving and is visible in /v1/policy
 * and arbiter_policy_reloads_total{result="failed"}.
 */
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../../services/decision/src/config.js';
import { startArbiter, type RunningArbiter } from '../../services/decision/src/main.js';
import { containerEnv, get, render, requireHelm, type Manifest } from './support.js';

let generation = 0;

/** Writes a ConfigMap's data as the kubelet's atomic writer does, swapping `..data` last. */
function project(dir: string, data: Record<string, string>): void {
  const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${generation++}`;
  mkdirSync(join(dir, stamp));
  for (const [name, content] of Object.entries(data)) writeFileSync(join(dir, stamp, name), content);
  let previous: string | undefined;
  try {
    previous = readlinkSync(join(dir, '..data'));
  } catch {
    previous = undefined;
  }
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const entry of readdirSync(dir)) {
    if (!entry.startsWith('..') && !(entry in data)) unlinkSync(join(dir, entry));
  }
  for (const name of Object.keys(data)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // Already linked through ..data from an earlier generation.
    }
  }
  if (previous) rmSync(join(dir, previous), { recursive: true, force: true });
}

const policyData = (objects: Manifest[]) => get(objects, 'ConfigMap', '-policy').data as Record<string, string>;

const decide = (tool: string, parameters: Record<string, unknown>) => ({
  action: { tool, parameters },
  session: { id: `chart-${tool}-${Math.random().toString(36).slice(2)}` },
  identity: { agent: 'chart-test' },
});

/** The requests below carry no tokens: the chart's trial values (auth off, allowed explicitly). */
const TRIAL = ['auth.mode=off', 'auth.insecureAllowNoAuth=true'];

describe('the policy ConfigMap, mounted as the kubelet does, hot-reloads in the real service', () => {
  let dir: string;
  let arbiter: RunningArbiter;
  let objects: Manifest[];

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${arbiter.url}${path}`, {
      method,
      ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) as any };
  };
  const waitForHash = async (not: string) => {
    for (let i = 0; i < 100; i++) {
      const hash = (await call('GET', '/v1/policy')).json().hash as string;
      if (hash !== not) return hash;
      await sleep(50);
    }
    return not;
  };

  before(async () => {
    requireHelm();
    dir = mkdtempSync(join(tmpdir(), 'arbiter-chart-policy-'));
    objects = render({ set: TRIAL });
    project(dir, policyData(objects));
    // The chart's own settings, but this machine's folder, port and opa.
    const { literal } = containerEnv(objects);
    arbiter = await startArbiter(
      loadConfig({
        ...Object.fromEntries(literal),
        PATH: process.env.PATH ?? '',
        ...(process.env.ARBITER_OPA ? { ARBITER_OPA: process.env.ARBITER_OPA } : {}),
        ARBITER_HOST: '127.0.0.1',
        ARBITER_PORT: '0',
        ARBITER_POLICY_DIR: dir,
        ARBITER_POLICY_POLL_MS: '50',
      }),
      { logger: pino({ level: 'silent' }) },
    );
  });
  after(async () => {
    await arbiter?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-values.yaml`, { force: true });
  });

  test("the chart's example policy compiles and decides", async () => {
    assert.equal((await call('GET', '/readyz')).status, 200);
    const drop = (await call('POST', '/v1/decide', decide('db.drop', { database: 'production' }))).json();
    assert.equal(drop.decision, 'DENY');
    assert.deepEqual(
      drop.reasons.map((r: { policy_id: string }) => r.policy_id),
      ['no-prod-drop'],
    );
    const other = (await call('POST', '/v1/decide', decide('email.send', { to: 'bob@example.com' }))).json();
    assert.equal(other.decision, 'DENY', 'the default posture of the example data.json');
  });

  test('an updated ConfigMap is loaded without a restart', async () => {
    const before = (await call('GET', '/v1/policy')).json().hash as string;
    const values = `${dir}-values.yaml`;
    writeFileSync(
      values,
      stringify({
        policy: {
          rego: {
            'email.rego':
              'package aarm.rules.email\n\nfindings contains {"effect": "ALLOW", "policy_id": "email", "reason": "mail is fine"} if input.action.tool == "email.send"\n',
          },
        },
      }),
    );
    const updated = render({ values: [values], set: TRIAL });
    project(dir, policyData(updated));
    const after = await waitForHash(before);
    assert.notEqual(after, before, 'the poller loaded the new policy');
    const res = (await call('POST', '/v1/decide', decide('email.send', { to: 'bob@example.com' }))).json();
    assert.equal(res.decision, 'ALLOW');
    assert.equal(res.policy.hash, after);
  });

  test('a broken update keeps the previous policy serving, and says so', async () => {
    const good = (await call('GET', '/v1/policy')).json();
    project(dir, {
      ...policyData(objects),
      'broken.rego': 'package aarm.rules.broken\n\nfindings contains {"effect": "ALLOW" if {\n',
    });
    let status = good;
    for (let i = 0; i < 100 && !status.last_error; i++) {
      await sleep(50);
      status = (await call('GET', '/v1/policy')).json();
    }
    assert.match(status.last_error?.message ?? '', /broken\.rego/);
    assert.equal(status.hash, good.hash, 'the broken policy did not replace the working one');
    assert.equal((await call('GET', '/readyz')).status, 200, 'still ready: a policy is serving');
    assert.equal((await call('POST', '/v1/decide', decide('email.send', {}))).json().decision, 'ALLOW');
    assert.match((await call('GET', '/metrics')).text, /^arbiter_policy_reloads_total\{result="failed"\} [1-9]/m);
  });
});
