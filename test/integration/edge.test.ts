/**
 * The strict envelope at the edge (issue 12), over a real HTTP server with the shipped
 * policy: however the decide path is spelled, every answer that is not a decision says
 * DENY; bodies that JSON readers would read differently (duplicate keys, prototype keys,
 * numbers beyond the double range, lone surrogates, invalid UTF-8, corrupt compression)
 * are the client's 400, never a decision and never a 5xx; the service refuses to start,
 * with one line and a non-zero exit, on a busy port or a missing policy folder.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { loadConfig } from '../../services/decision/src/config.js';
import { MAX_JSON_ARRAY_LENGTH } from '../../services/decision/src/intercept/envelope.js';
import { StartError, startArbiter } from '../../services/decision/src/main.js';
import { decideBody, startTestArbiter, TEST_REDIS_URL, uniqueSession, type TestArbiter } from '../support/arbiter.js';
import { freePort } from '../support/process.js';
import { sendRaw, type RawAnswer } from '../support/raw-http.js';
import { createTestIssuer, jwtEnv } from '../support/tokens.js';

const DECISIONS = ['ALLOW', 'DENY', 'MODIFY', 'STEP_UP', 'DEFER'];
const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'services', 'decision', 'src', 'cli', 'main.ts');

/** One request with the path and bytes exactly as given, as JSON when it has a body. */
const send = (
  base: string,
  method: string,
  path: string,
  body: string | Buffer | undefined,
  headers: Record<string, string> = {},
): Promise<RawAnswer> =>
  sendRaw(base, method, path, body, { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers });

/** A decide envelope as raw text, so keys can repeat and escapes stay as written. */
const envelope = (session: string, parameters: string, tool = '"email.send"') =>
  `{"action":{"tool":${tool},"operation":"write","parameters":${parameters}},` +
  `"session":{"id":"${session}"},"identity":{"agent":"agent-1","human":"alice"}}`;

describe('every answer on the decide route, however spelled, is a decision or DENY', () => {
  const ISSUER = 'https://idp.edge.test';
  const AUDIENCE = 'arbiter';
  let dir: string;
  let arbiter: TestArbiter;
  const token: Record<'pep' | 'auditor', string> = { pep: '', auditor: '' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-edge-'));
    const idp = await createTestIssuer();
    const caller = (sub: string, roles: string[]) =>
      idp.sign({ sub, roles, tenant: 'acme' }, { issuer: ISSUER, audience: AUDIENCE, expiresIn: '1h' });
    token.pep = await caller('gateway', ['pep']);
    token.auditor = await caller('auditor-1', ['auditor']);
    arbiter = await startTestArbiter({
      env: {
        ...(await jwtEnv(idp, dir, { issuer: ISSUER, audience: AUDIENCE })),
        ARBITER_MAX_BODY_BYTES: '4096',
      },
    });
  });
  after(async () => {
    await arbiter.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** How each spelling is routed: the exact route, or a 404 (after the /v1 caller check when the prefix matches). */
  const spellings: Array<{ path: string; exact: boolean; authChecked: boolean }> = [
    { path: '/v1/decide', exact: true, authChecked: true },
    { path: '/v1/decide?x=1', exact: true, authChecked: true },
    { path: 'http://arbiter.local/v1/decide', exact: true, authChecked: true },
    { path: '/v1/decide/', exact: false, authChecked: true },
    { path: '/v1/decide//', exact: false, authChecked: true },
    { path: '/v1//decide', exact: false, authChecked: true },
    { path: '/v1/decide/.', exact: false, authChecked: true },
    { path: '/v1/%64ecide', exact: false, authChecked: true },
    { path: '/v1/Decide', exact: false, authChecked: true },
    { path: '/V1/DECIDE', exact: false, authChecked: false },
    { path: '/V1/decide/', exact: false, authChecked: false },
  ];

  /** Each way of provoking an answer, and its status on the exact route. */
  const provocations: Array<{
    name: string;
    status: number;
    /** Reached only by the decide handler itself (a 404 on any other spelling). */
    inHandler: boolean;
    send: (path: string, session: string) => Promise<RawAnswer>;
  }> = [
    {
      name: 'no caller token',
      status: 401,
      inHandler: false,
      send: (path, s) => send(arbiter.url, 'POST', path, envelope(s, '{"to":"x@example.com"}')),
    },
    {
      name: 'a caller without the pep role',
      status: 403,
      inHandler: true,
      send: (path, s) =>
        send(arbiter.url, 'POST', path, envelope(s, '{}'), { authorization: `Bearer ${token.auditor}` }),
    },
    {
      name: 'an action id reused for another action',
      status: 409,
      inHandler: true,
      send: async (path, s) => {
        const pep = { authorization: `Bearer ${token.pep}` };
        const first = JSON.stringify({ ...decideBody(s, 'email.send'), action: { id: 'a-1', tool: 'email.send' } });
        assert.equal((await send(arbiter.url, 'POST', '/v1/decide', first, pep)).status, 200);
        const again = JSON.stringify({ ...decideBody(s, 'files.read'), action: { id: 'a-1', tool: 'files.read' } });
        return send(arbiter.url, 'POST', path, again, pep);
      },
    },
    {
      name: 'a body over the limit',
      status: 413,
      inHandler: false,
      send: (path, s) =>
        send(arbiter.url, 'POST', path, envelope(s, JSON.stringify({ body: 'x'.repeat(8000) })), {
          authorization: `Bearer ${token.pep}`,
        }),
    },
    {
      name: 'a body not declared as JSON',
      status: 415,
      inHandler: false,
      send: (path, s) =>
        send(arbiter.url, 'POST', path, envelope(s, '{}'), {
          authorization: `Bearer ${token.pep}`,
          'content-type': 'text/plain',
        }),
    },
    {
      name: 'a body that is not JSON',
      status: 400,
      inHandler: false,
      send: (path) => send(arbiter.url, 'POST', path, '{"action": ', { authorization: `Bearer ${token.pep}` }),
    },
    {
      name: 'a duplicate key',
      status: 400,
      inHandler: false,
      send: (path, s) =>
        send(arbiter.url, 'POST', path, envelope(s, '{"to":"x@example.com","to":"y@example.com"}'), {
          authorization: `Bearer ${token.pep}`,
        }),
    },
    {
      name: 'an envelope missing its tool',
      status: 400,
      inHandler: true,
      send: (path, s) =>
        send(arbiter.url, 'POST', path, JSON.stringify({ action: {}, session: { id: s } }), {
          authorization: `Bearer ${token.pep}`,
        }),
    },
    {
      name: 'a GET',
      status: 404,
      inHandler: false,
      send: (path) => send(arbiter.url, 'GET', path, undefined, { authorization: `Bearer ${token.pep}` }),
    },
    {
      name: 'a valid request',
      status: 200,
      inHandler: true,
      send: (path, s) =>
        send(arbiter.url, 'POST', path, JSON.stringify(decideBody(s, 'email.send', { to: 'x@example.com' })), {
          authorization: `Bearer ${token.pep}`,
        }),
    },
  ];

  for (const spelling of spellings) {
    test(`${spelling.path}: ${provocations.length} provocations, each a decision or DENY`, async () => {
      for (const p of provocations) {
        const status = spelling.exact
          ? p.status
          : p.status === 401
            ? spelling.authChecked
              ? 401
              : 404
            : p.inHandler
              ? 404
              : p.status;
        const res = await p.send(spelling.path, uniqueSession('edge'));
        assert.equal(res.status, status, `${p.name}: ${JSON.stringify(res.body)}`);
        if (res.status === 200) {
          assert.ok(DECISIONS.includes(res.body.decision), p.name);
          assert.ok(res.body.receipt.id, p.name);
        } else {
          assert.equal(res.body.decision, 'DENY', `${p.name}: ${JSON.stringify(res.body)}`);
          assert.equal(typeof res.body.error.code, 'string', p.name);
        }
      }
    });
  }

  test('the verify route: its errors say DENY too, however spelled', async () => {
    for (const path of ['/v1/capabilities/verify', '/v1/capabilities/verify/', '/V1/Capabilities/Verify']) {
      const res = await send(arbiter.url, 'POST', path, '{"capability":"x","capability":"y"}', {
        authorization: `Bearer ${token.pep}`,
      });
      assert.equal(res.status, 400, path);
      assert.equal(res.body.decision, 'DENY', path);
      const unauthenticated = await send(arbiter.url, 'POST', path, '{}');
      assert.equal(unauthenticated.status, path.startsWith('/v1/') ? 401 : 404, path);
      assert.equal(unauthenticated.body.decision, 'DENY', path);
    }
  });

  test('other routes are exact too, and their 4xx answers stay plain errors', async () => {
    const auditor = { authorization: `Bearer ${token.auditor}` };
    const odd = await send(arbiter.url, 'GET', '/v1/Policy', undefined, auditor);
    assert.equal(odd.status, 404);
    assert.equal(odd.body.decision, undefined);
    assert.equal((await send(arbiter.url, 'GET', '/v1/policy', undefined, auditor)).status, 200);
    assert.equal((await send(arbiter.url, 'GET', '/healthz/', undefined)).status, 404);
    // A malformed %-escape in a path parameter is the client's 400, not a 500.
    const malformed = await send(arbiter.url, 'GET', '/v1/receipts/%E0', undefined, auditor);
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'invalid_request');
  });
});

describe('bodies that readers would read differently are refused with 400 DENY', () => {
  let arbiter: TestArbiter;
  before(async () => {
    // Room for 1,001 recipients; still far below the decompressed bomb below.
    arbiter = await startTestArbiter({ env: { ARBITER_MAX_BODY_BYTES: '32768' } });
  });
  after(() => arbiter.stop());

  const refused = async (
    body: string | Buffer,
    code: string,
    message: RegExp,
    headers: Record<string, string> = {},
  ) => {
    const res = await send(arbiter.url, 'POST', '/v1/decide', body, headers);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.decision, 'DENY');
    assert.equal(res.body.error.code, code);
    assert.match(res.body.error.message, message);
    assert.equal(res.body.receipt, undefined, 'no decision was made');
  };
  const allowed = async (body: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await send(arbiter.url, 'POST', '/v1/decide', body, headers);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.decision, 'ALLOW');
    return res.body;
  };

  test('a repeated tool: "db.drop" then "files.read" is refused, not decided as files.read', async () => {
    const body =
      `{"action":{"tool":"db.drop","operation":"write","parameters":{"database":"production"},"tool":"email.send"},` +
      `"session":{"id":"${uniqueSession('dup')}"},"identity":{"agent":"agent-1"}}`;
    await refused(body, 'invalid_request', /^action\.tool: the key appears more than once$/);
  });

  test('duplicate keys at any depth are named by their path', async () => {
    const s = uniqueSession('dup');
    await refused(envelope(s, '{"a":{"b":{"c":1,"c":2}}}'), 'invalid_request', /^action\.parameters\.a\.b\.c: /);
    await refused(
      envelope(s, '{"list":[{"x":1},{"x":1,"x":2}]}'),
      'invalid_request',
      /^action\.parameters\.list\.1\.x: /,
    );
    await refused(
      envelope(s, '{"to":"a","t\\u006f":"b"}'),
      'invalid_request',
      /^action\.parameters\.to: .*more than once/,
    );
    const twoSessions = `{"action":{"tool":"email.send"},"session":{"id":"${s}"},"session":{"id":"other"}}`;
    await refused(twoSessions, 'invalid_request', /^session: the key appears more than once/);
    // The same key in sibling objects is no duplicate.
    await allowed(envelope(uniqueSession('sib'), '{"to":"x@example.com","cc":[{"to":1},{"to":2}]}'));
  });

  test('prototype keys anywhere are refused, naming the key', async () => {
    const s = uniqueSession('proto');
    await refused(
      envelope(s, '{"to":"x@example.com","__proto__":{"admin":true}}'),
      'invalid_request',
      /^action\.parameters\.__proto__: prototype keys are refused$/,
    );
    await refused(envelope(s, '{"a":[{"__proto__":{}}]}'), 'invalid_request', /^action\.parameters\.a\.0\.__proto__: /);
    await refused(envelope(s, '{"\\u005f_proto__":1}'), 'invalid_request', /^action\.parameters\.__proto__: /);
    await refused(
      envelope(s, '{"constructor":{"prototype":{"x":1}}}'),
      'invalid_request',
      /^action\.parameters\.constructor\.prototype: /,
    );
    const inSignals = `{"action":{"tool":"email.send"},"session":{"id":"${s}"},"signals":{"__proto__":{"injection_score":0}}}`;
    await refused(inSignals, 'invalid_request', /^signals\.__proto__: /);
    await refused(
      `{"__proto__":{},"action":{"tool":"email.send"},"session":{"id":"${s}"}}`,
      'invalid_request',
      /^__proto__: /,
    );
    // A key merely named constructor, or prototype elsewhere, reaches no prototype.
    await allowed(envelope(uniqueSession('ctor'), '{"to":"x@example.com","constructor":"Ada","prototype":{"a":1}}'));
  });

  test('numbers beyond the double range are refused; large ones within it are not', async () => {
    const s = uniqueSession('num');
    await refused(
      envelope(s, '{"n":1e400}'),
      'invalid_request',
      /^action\.parameters\.n: the number is beyond the range of a double$/,
    );
    await refused(envelope(s, '{"n":[1,-1E+309]}'), 'invalid_request', /^action\.parameters\.n\.1: /);
    await refused(envelope(s, `{"n":${'9'.repeat(400)}}`), 'invalid_request', /^action\.parameters\.n: /);
    await refused(
      `{"action":{"tool":"email.send"},"session":{"id":"${s}"},"signals":{"injection_score":1e999}}`,
      'invalid_request',
      /^signals\.injection_score: /,
    );
    await allowed(envelope(uniqueSession('num'), '{"to":"x@example.com","n":1.7976931348623157e308,"m":-5e-324}'));
  });

  test('unpaired surrogates are refused, in values and in keys; pairs are fine', async () => {
    const s = uniqueSession('sur');
    await refused(
      envelope(s, '{"to":"\\ud800"}'),
      'invalid_request',
      /^action\.parameters\.to: the string holds an unpaired UTF-16 surrogate$/,
    );
    await refused(envelope(s, '{"to":"x\\udc00y"}'), 'invalid_request', /^action\.parameters\.to: /);
    await refused(envelope(s, '{"to":"\\udc00\\ud800"}'), 'invalid_request', /^action\.parameters\.to: /);
    await refused(envelope(s, '{"\\ud800":1}'), 'invalid_request', /^action\.parameters: a key holds an unpaired/);
    await refused(
      `{"action":{"tool":"email.send"},"session":{"id":"${s}","intent":"\\uDBFF"}}`,
      'invalid_request',
      /^session\.intent: /,
    );
    await allowed(envelope(uniqueSession('sur'), '{"to":"x@example.com","subject":"\\ud83d\\ude00 😀"}'));
  });

  test('bytes that are not UTF-8, or a charset other than UTF-8, are refused', async () => {
    const s = uniqueSession('utf');
    const [head, tail] = envelope(s, '{"to":"@@"}').split('@@') as [string, string];
    await refused(
      Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(tail)]),
      'invalid_json',
      /UTF-8/,
    );
    const res = await send(arbiter.url, 'POST', '/v1/decide', envelope(s, '{}'), {
      'content-type': 'application/json; charset=latin1',
    });
    assert.equal(res.status, 415);
    assert.equal(res.body.decision, 'DENY');
  });

  test('corrupt or truncated compression is the client fault (400), not 500', async () => {
    const s = uniqueSession('gz');
    const gz = { 'content-encoding': 'gzip' };
    await refused(Buffer.from('this is not gzip'), 'invalid_request', /could not be decompressed/, gz);
    const whole = gzipSync(envelope(s, '{"to":"x@example.com"}'));
    await refused(whole.subarray(0, whole.length - 12), 'invalid_request', /could not be decompressed/, gz);
    await refused(Buffer.from('not deflate'), 'invalid_request', /could not be decompressed/, {
      'content-encoding': 'deflate',
    });
    // A well-formed gzip body is still read.
    await allowed(gzipSync(envelope(uniqueSession('gz'), '{"to":"x@example.com"}')), gz);
    // The limit bounds the decompressed size: a small bomb is 413.
    const bomb = gzipSync(envelope(s, JSON.stringify({ to: 'x@example.com', pad: ' '.repeat(100_000) })));
    assert.ok(bomb.length < 8192);
    const big = await send(arbiter.url, 'POST', '/v1/decide', bomb, gz);
    assert.equal(big.status, 413);
    assert.equal(big.body.decision, 'DENY');
    const unknown = await send(arbiter.url, 'POST', '/v1/decide', Buffer.from('x'), { 'content-encoding': 'compress' });
    assert.equal(unknown.status, 415);
    assert.equal(unknown.body.decision, 'DENY');
  });

  test('an array past the per-member cap is refused naming its path; one at the cap is decided', async () => {
    const recipients = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => `u${i}@x.io`));
    await refused(
      envelope(uniqueSession('cap'), `{"subject":"hi","to":${recipients(MAX_JSON_ARRAY_LENGTH + 1)}}`),
      'invalid_request',
      new RegExp(`^action\\.parameters\\.to: the array has more than ${MAX_JSON_ARRAY_LENGTH} elements$`),
    );
    const res = await send(
      arbiter.url,
      'POST',
      '/v1/decide',
      envelope(uniqueSession('cap'), `{"subject":"hi","to":${recipients(MAX_JSON_ARRAY_LENGTH)}}`),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    assert.ok(DECISIONS.includes(res.body.decision));
    assert.match(res.body.receipt.hash, /^sha256:/);
  });

  test('a capability is not valid for parameters that carry __proto__', async () => {
    const parameters = { to: 'x@example.com' };
    const decided = await allowed(JSON.stringify(decideBody(uniqueSession('cap'), 'email.send', parameters)));
    const verify = (params: string) =>
      send(
        arbiter.url,
        'POST',
        '/v1/capabilities/verify',
        `{"capability":${JSON.stringify(decided.capability)},"tool":"email.send","parameters":${params}}`,
      );
    const plain = await verify(JSON.stringify(parameters));
    assert.equal(plain.status, 200);
    assert.equal(plain.body.valid, true, 'the capability itself is good');
    for (const smuggled of [
      '{"to":"x@example.com","__proto__":{"bcc":"attacker@example.net"}}',
      '{"to":"x@example.com","constructor":{"prototype":{"bcc":"attacker@example.net"}}}',
      '{"to":"x@example.com","to":"attacker@example.net"}',
    ]) {
      const res = await verify(smuggled);
      assert.equal(res.status, 400, smuggled);
      assert.notEqual(res.body.valid, true);
      assert.equal(res.body.decision, 'DENY');
      assert.match(res.body.error.message, /^parameters\.(__proto__|constructor\.prototype|to): /);
    }
  });

  test('outcomes and sessions are read by the same strict reader', async () => {
    const opened = await send(arbiter.url, 'POST', '/v1/sessions', '{"intent":"a","intent":"b"}');
    assert.equal(opened.status, 400);
    assert.match(opened.body.error.message, /^intent: /);
    assert.equal(opened.body.decision, undefined, 'not a decision route');
    const outcome = await send(
      arbiter.url,
      'POST',
      '/v1/actions/act_x/outcome',
      '{"status":"success","facts":{"__proto__":{}}}',
    );
    assert.equal(outcome.status, 400);
    assert.match(outcome.body.error.message, /^facts\.__proto__: /);
  });
});

describe('start-up refuses what cannot work, in one line', () => {
  const runCli = (env: Record<string, string>): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          ARBITER_LOG_LEVEL: 'silent',
          ARBITER_POLICY_POLL_MS: '0',
          ...(process.env.ARBITER_OPA ? { ARBITER_OPA: process.env.ARBITER_OPA } : {}),
          ...env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // A start that hangs instead of failing is itself the bug: bounded, and reported as such.
      const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(guard);
        resolve({ code, stderr });
      });
    });

  let busy: Server;
  let busyPort: number;
  let scratch: string;
  before(async () => {
    busyPort = await freePort();
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(busyPort, '127.0.0.1', resolve));
    scratch = mkdtempSync(join(tmpdir(), 'arbiter-edge-start-'));
  });
  after(async () => {
    await new Promise((resolve) => busy.close(resolve));
    rmSync(scratch, { recursive: true, force: true });
  });

  for (const store of ['memory', 'redis'] as const) {
    test(`a port already in use: exit 1 and one clear line (${store} store, nothing left running)`, async () => {
      const { code, stderr } = await runCli({
        ARBITER_PORT: String(busyPort),
        ...(store === 'redis' && { ARBITER_REDIS_URL: TEST_REDIS_URL }),
      });
      assert.equal(code, 1, stderr);
      assert.equal(
        stderr,
        `arbiter: cannot listen on 127.0.0.1:${busyPort}: the address is already in use (EADDRINUSE)\n`,
      );
    });
  }

  test('a policy folder that does not exist, or is a file: exit 1 and one clear line', async () => {
    const missing = join(scratch, 'no-such-policy');
    const port = String(await freePort());
    const gone = await runCli({ ARBITER_PORT: port, ARBITER_POLICY_DIR: `${join(ROOT, 'rego')}:${missing}` });
    assert.equal(gone.code, 1, gone.stderr);
    assert.equal(
      gone.stderr,
      `arbiter: cannot load the policy: policy folder (ARBITER_POLICY_DIR) ${missing} does not exist\n`,
    );
    const file = join(scratch, 'data.json');
    writeFileSync(file, '{}');
    const notFolder = await runCli({ ARBITER_PORT: port, ARBITER_POLICY_DIR: file });
    assert.equal(notFolder.code, 1, notFolder.stderr);
    assert.match(notFolder.stderr, /^arbiter: cannot load the policy: .* is not a folder\n$/);
  });

  test('in process, the same failures are a StartError (the policy folder check as arbiter serve asks it)', async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      ARBITER_POLICY_POLL_MS: '0',
      ...(process.env.ARBITER_OPA && { ARBITER_OPA: process.env.ARBITER_OPA }),
    };
    await assert.rejects(
      startArbiter(loadConfig({ ...env, ARBITER_PORT: String(busyPort) }), { logger: pino({ level: 'silent' }) }),
      (err: unknown) => err instanceof StartError && /EADDRINUSE/.test(err.message),
    );
    await assert.rejects(
      startArbiter(loadConfig({ ...env, ARBITER_SIGNING_KEY: join(scratch, 'no-key.pem') }), {
        logger: pino({ level: 'silent' }),
      }),
      (err: unknown) => err instanceof StartError && /^cannot load the keys: .*no-key\.pem/.test(err.message),
    );
    const missing = join(scratch, 'gone');
    await assert.rejects(
      startArbiter(loadConfig({ ...env, ARBITER_PORT: '0', ARBITER_POLICY_DIR: missing }), {
        logger: pino({ level: 'silent' }),
        requirePolicyFolders: true,
      }),
      (err: unknown) => err instanceof StartError && err.message.endsWith(`${missing} does not exist`),
    );
  });
});
