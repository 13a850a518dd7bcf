/**
 * Safe defaults at start-up (issue 12, findings 1 and 2), by running `arbiter serve` as an
 * operator would: with ARBITER_AUTH=off the service refuses an address others can reach
 * unless ARBITER_INSECURE_ALLOW_NO_AUTH=true says so (and then it says so loudly in its
 * log); with ARBITER_AUTH=jwt it refuses to start without an issuer and audience to check,
 * or with an agent audience that a caller token could also carry. Each refusal is exit 2
 * and one line naming the variables, before anything listens.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, isLoopbackHost, loadConfig } from '../../services/decision/src/config.js';
import { freePort } from '../support/process.js';
import { createTestIssuer } from '../support/tokens.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'services', 'decision', 'src', 'cli', 'main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `arbiter serve` with `env`. When `whenReady` is given, it is called once /readyz answers
 * 200 on the port, and the process is then stopped with SIGTERM.
 */
function serve(env: Record<string, string>, whenReady?: (url: string) => Promise<void>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        ARBITER_POLICY_POLL_MS: '0',
        ...(process.env.ARBITER_OPA ? { ARBITER_OPA: process.env.ARBITER_OPA } : {}),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A start that hangs instead of failing or answering is itself the bug: bounded.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
    if (whenReady) {
      const url = `http://127.0.0.1:${env.ARBITER_PORT}`;
      void (async () => {
        while (child.exitCode === null) {
          const ready = await fetch(`${url}/readyz`).then(
            (r) => r.status === 200,
            () => false,
          );
          if (ready) {
            try {
              await whenReady(url);
            } finally {
              child.kill('SIGTERM');
            }
            return;
          }
          await sleep(100);
        }
      })().catch(reject);
    }
  });
}

describe('ARBITER_AUTH=off only where nobody else can connect', () => {
  test('on 0.0.0.0 it refuses to start: exit 2, one line that names the ways out', async () => {
    const { code, stdout, stderr } = await serve({
      ARBITER_HOST: '0.0.0.0',
      ARBITER_PORT: String(await freePort()),
    });
    assert.equal(code, 2, stderr);
    assert.equal(stderr.split('\n').filter(Boolean).length, 1, stderr);
    assert.match(stderr, /^arbiter: ARBITER_AUTH=off on 0\.0\.0\.0, which is not a loopback address/);
    for (const name of ['ARBITER_AUTH=jwt', 'ARBITER_HOST=127.0.0.1', 'ARBITER_INSECURE_ALLOW_NO_AUTH=true']) {
      assert.ok(stderr.includes(name), `the message names ${name}`);
    }
    assert.doesNotMatch(stdout, /listening/, 'nothing listened');
  });

  test('the same with auth off spelled out, on an IPv6 wildcard or a host name', () => {
    for (const host of ['::', '10.1.2.3', 'arbiter.internal', '::ffff:10.0.0.1']) {
      assert.throws(
        () => loadConfig({ ARBITER_AUTH: 'off', ARBITER_HOST: host }),
        (err: Error) => err instanceof ConfigError && err.message.includes(`on ${host}, which is not a loopback`),
        host,
      );
    }
  });

  test('loopback addresses stay open for local development (make run), and are not "exposed"', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      assert.equal(isLoopbackHost(host), true, host);
      assert.deepEqual(loadConfig({ ARBITER_HOST: host }).auth, { mode: 'off', exposed: false }, host);
    }
    assert.deepEqual(loadConfig({}).auth, { mode: 'off', exposed: false }, 'the embedded defaults');
  });

  test('ARBITER_INSECURE_ALLOW_NO_AUTH=true starts it anyway, with a loud line in the log', async () => {
    const port = String(await freePort());
    let answered: { status: number; decision: string } | undefined;
    const { code, stdout, stderr } = await serve(
      {
        ARBITER_HOST: '0.0.0.0',
        ARBITER_PORT: port,
        ARBITER_INSECURE_ALLOW_NO_AUTH: 'true',
        ARBITER_LOG_LEVEL: 'warn',
      },
      async (url) => {
        const res = await fetch(`${url}/v1/decide`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            action: { tool: 'files.read', operation: 'read', parameters: { path: '/a' } },
            session: { id: 'insecure-1' },
            identity: { agent: 'agent-1' },
          }),
        });
        answered = { status: res.status, decision: ((await res.json()) as { decision: string }).decision };
      },
    );
    assert.equal(code, 0, stderr);
    assert.equal(answered?.status, 200, 'it served');
    const insecure = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg: string; host?: string })
      .find((entry) => entry.msg.startsWith('INSECURE: ARBITER_AUTH=off on 0.0.0.0'));
    assert.ok(insecure, `no INSECURE line in the log:\n${stdout}`);
    assert.equal(insecure.level, 50, 'logged at error level, above every warning');
    assert.equal(insecure.host, '0.0.0.0');
  });

  test('only "true" or "false" is accepted', () => {
    assert.throws(
      () => loadConfig({ ARBITER_HOST: '0.0.0.0', ARBITER_INSECURE_ALLOW_NO_AUTH: 'yes' }),
      /invalid configuration: ARBITER_INSECURE_ALLOW_NO_AUTH/,
    );
  });
});

describe('ARBITER_AUTH=jwt checks who a token is from and for', () => {
  let dir: string;
  let jwksFile: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-safe-defaults-'));
    jwksFile = await (await createTestIssuer()).writeJwksFile(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const jwt = () => ({
    ARBITER_AUTH: 'jwt',
    ARBITER_JWKS_FILE: jwksFile,
    ARBITER_JWT_ISSUER: 'https://idp.test',
    ARBITER_JWT_AUDIENCE: 'arbiter',
  });

  test('without an issuer or an audience it refuses to start: exit 2, one line naming them', async () => {
    const port = String(await freePort());
    const cases: Array<[string, Record<string, string>, string]> = [
      ['no issuer', { ARBITER_JWT_ISSUER: '' }, 'ARBITER_JWT_ISSUER:'],
      ['no audience', { ARBITER_JWT_AUDIENCE: '' }, 'ARBITER_JWT_AUDIENCE:'],
      ['neither', { ARBITER_JWT_ISSUER: '', ARBITER_JWT_AUDIENCE: '' }, 'ARBITER_JWT_ISSUER and ARBITER_JWT_AUDIENCE:'],
    ];
    for (const [name, without, named] of cases) {
      const env: Record<string, string> = { ...jwt(), ARBITER_HOST: '0.0.0.0', ARBITER_PORT: port };
      for (const key of Object.keys(without)) delete env[key];
      const { code, stderr } = await serve(env);
      assert.equal(code, 2, `${name}: ${stderr}`);
      assert.equal(stderr, `arbiter: ARBITER_AUTH=jwt needs ${named} the iss and aud of every token are checked\n`);
    }
  });

  test("an agent audience equal to the callers' refuses to start: an agent token would be a caller token", async () => {
    const { code, stderr } = await serve({
      ...jwt(),
      ARBITER_AGENT_AUDIENCE: 'arbiter',
      ARBITER_PORT: String(await freePort()),
    });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /^arbiter: ARBITER_AGENT_AUDIENCE must differ from ARBITER_JWT_AUDIENCE/);
  });

  test('configured, it binds any address; agent tokens get their own audience', () => {
    const config = loadConfig({ ...jwt(), ARBITER_HOST: '0.0.0.0' });
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.auth.mode, 'jwt');
    if (config.auth.mode !== 'jwt') return;
    assert.equal(config.auth.issuer, 'https://idp.test');
    assert.equal(config.auth.audience, 'arbiter');
    assert.equal(config.auth.agentAudience, 'arbiter:agent', 'the default: the callers\' audience with ":agent"');
    const named = loadConfig({ ...jwt(), ARBITER_AGENT_AUDIENCE: 'agents.example' });
    assert.equal(named.auth.mode === 'jwt' && named.auth.agentAudience, 'agents.example');
  });
});

describe('the session chain settings are validated with the rest', () => {
  test('a bad value refuses to start: exit 2, one line naming the variable', async () => {
    const { code, stderr } = await serve({
      ARBITER_SESSION_QUEUE_WAIT_MS: '0',
      ARBITER_PORT: String(await freePort()),
    });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /^arbiter: invalid configuration: ARBITER_SESSION_QUEUE_WAIT_MS: .*\n$/);
  });
});
