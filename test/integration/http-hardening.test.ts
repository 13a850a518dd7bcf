/**
 * The listener's hardening (issue 12, "Also"): HTTPS and mTLS on Arbiter's own port with
 * real certificates made by openssl, the per-caller rate limit answering 429 with DENY, the
 * access log (one line per request, route templates, nothing of the body, query or token),
 * and GET /v1/policy showing compile errors to admins only.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import type { RedisOptions } from 'ioredis';
import { loadConfig, PROJECT_ROOT } from '../../services/decision/src/config.js';
import { connectRedis } from '../../services/decision/src/context/redis-connection.js';
import { TokenBuckets } from '../../services/decision/src/http/rate-limit.js';
import type { RunningArbiter } from '../../services/decision/src/main.js';
import { decideBody, startLoggedArbiter, uniqueSession } from '../support/arbiter.js';
import { answerOf, type RawAnswer } from '../support/raw-http.js';
import { createTestIssuer } from '../support/tokens.js';

interface Tls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** One request over http or https (node's own clients: fetch cannot take a CA or a client certificate). */
function send(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  tls: Tls = {},
): Promise<RawAnswer> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: {
          ...(payload !== undefined && { 'content-type': 'application/json' }),
          ...headers,
        },
        ...tls,
      },
      (res) => answerOf(res).then(resolve, reject),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all by openssl. */
function makeCertificates(dir: string) {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) =>
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
    );
  const leaf = (name: string, caName: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${caName}.crt`,
      '-CAkey',
      `${caName}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    );
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('renewed', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  const read = (f: string) => readFileSync(join(dir, f));
  return {
    path: (f: string) => join(dir, f),
    ca: read('ca.crt'),
    client: { cert: read('client.crt'), key: read('client.key') },
    stranger: { cert: read('stranger.crt'), key: read('stranger.key') },
  };
}

/** A service whose log lines are collected; one evaluation worker is enough here. */
const start = (env: Record<string, string>) => startLoggedArbiter({ ARBITER_EVAL_WORKERS: '1', ...env });

describe('HTTPS on the listener', () => {
  let dir: string;
  let certs: ReturnType<typeof makeCertificates>;
  let tls: RunningArbiter;
  let mtls: RunningArbiter;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-tls-'));
    certs = makeCertificates(dir);
    const files = { ARBITER_TLS_CERT: certs.path('server.crt'), ARBITER_TLS_KEY: certs.path('server.key') };
    tls = (await start(files)).arbiter;
    mtls = (await start({ ...files, ARBITER_TLS_CLIENT_CA: certs.path('ca.crt') })).arbiter;
  });
  after(async () => {
    await tls?.close();
    await mtls?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('with a certificate and key the service answers over HTTPS only', async () => {
    assert.match(tls.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await send(tls.url, 'GET', '/healthz', undefined, {}, { ca: certs.ca });
    assert.equal(health.status, 200);
    const decided = await send(
      tls.url,
      'POST',
      '/v1/decide',
      decideBody(uniqueSession('tls'), 'files.read', { path: '/a' }),
      {},
      { ca: certs.ca },
    );
    assert.equal(decided.status, 200);
    assert.equal(decided.body.decision, 'ALLOW');
    // Plain HTTP to the same port gets no HTTP answer.
    const plain = tls.url.replace('https:', 'http:');
    await assert.rejects(send(plain, 'GET', '/healthz'));
    // The certificate is the one configured: a client trusting another CA refuses it.
    await assert.rejects(
      send(tls.url, 'GET', '/healthz', undefined, {}, { ca: readFileSync(certs.path('other-ca.crt')) }),
      /self-signed|unable to verify|certificate/i,
    );
  });

  test('with a client CA, a client without a certificate from it is refused in the handshake', async () => {
    await assert.rejects(send(mtls.url, 'GET', '/healthz', undefined, {}, { ca: certs.ca }));
    await assert.rejects(send(mtls.url, 'GET', '/healthz', undefined, {}, { ca: certs.ca, ...certs.stranger }));
    const ok = await send(
      mtls.url,
      'POST',
      '/v1/decide',
      decideBody(uniqueSession('mtls'), 'files.read', { path: '/a' }),
      {},
      { ca: certs.ca, ...certs.client },
    );
    assert.equal(ok.status, 200);
    assert.equal(ok.body.decision, 'ALLOW');
  });

  test('a certificate without its key, or a client CA without TLS, does not start', () => {
    assert.throws(
      () => loadConfig({ ARBITER_TLS_CERT: certs.path('server.crt') }),
      /ARBITER_TLS_CERT and ARBITER_TLS_KEY go together/,
    );
    assert.throws(() => loadConfig({ ARBITER_TLS_CLIENT_CA: certs.path('ca.crt') }), /ARBITER_TLS_CLIENT_CA needs/);
  });
});

/** The SHA-256 fingerprint of the certificate the listener presents to a new connection. */
function presented(url: string, ca: Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), ca }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('a renewed certificate on the listener', () => {
  let dir: string;
  let certs: ReturnType<typeof makeCertificates>;
  let service: Awaited<ReturnType<typeof start>>;
  const live = (f: string) => join(dir, 'live', f);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-tls-renew-'));
    certs = makeCertificates(dir);
    mkdirSync(join(dir, 'live'));
    cpSync(certs.path('server.crt'), live('tls.crt'));
    cpSync(certs.path('server.key'), live('tls.key'));
    service = await start({
      ARBITER_TLS_CERT: live('tls.crt'),
      ARBITER_TLS_KEY: live('tls.key'),
      ARBITER_TLS_RELOAD_MS: '100',
    });
  });
  after(async () => {
    await service?.arbiter.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Bounded wait until new connections are presented `fingerprint`. */
  async function presentedBecomes(fingerprint: string): Promise<string> {
    let seen = await presented(service.arbiter.url, certs.ca);
    for (let i = 0; i < 200 && seen !== fingerprint; i++) {
      await sleep(25);
      seen = await presented(service.arbiter.url, certs.ca);
    }
    return seen;
  }

  test('serves new connections with the renewed files, and keeps the one in use when the new ones do not load', async () => {
    const fingerprintOf = (f: string) => new X509Certificate(readFileSync(certs.path(f))).fingerprint256;
    assert.equal(await presented(service.arbiter.url, certs.ca), fingerprintOf('server.crt'));

    cpSync(certs.path('renewed.key'), live('tls.key'));
    cpSync(certs.path('renewed.crt'), live('tls.crt'));
    assert.equal(await presentedBecomes(fingerprintOf('renewed.crt')), fingerprintOf('renewed.crt'));
    assert.ok(service.lines.some((l) => l.msg === 'TLS certificate reloaded: new connections use it'));

    // A certificate whose key is another one's: refused, the renewed one stays, and it is said once.
    // (The two copies above are not atomic: a check between them may have reported a mismatch.)
    const from = service.lines.length;
    const failed = () => service.lines.slice(from).filter((l) => /does not load/.test(l.msg));
    cpSync(certs.path('server.crt'), live('tls.crt'));
    for (let i = 0; i < 200 && failed().length === 0; i++) await sleep(25);
    await sleep(300); // three more checks of the same files
    const failures = failed();
    assert.equal(failures.length, 1, 'one report per distinct failure');
    assert.match(failures[0]!.msg, /the certificate in use stays/);
    assert.equal(await presented(service.arbiter.url, certs.ca), fingerprintOf('renewed.crt'));
    const health = await send(service.arbiter.url, 'GET', '/healthz', undefined, {}, { ca: certs.ca });
    assert.equal(health.status, 200);
  });
});

describe('rate limit and access log with ARBITER_AUTH=off', () => {
  let service: Awaited<ReturnType<typeof start>>;
  before(async () => {
    // Two requests at once, then one every 1000 s: the third is limited, whatever the timing.
    service = await start({ ARBITER_RATE_LIMIT_RPS: '0.001', ARBITER_RATE_LIMIT_BURST: '2' });
  });
  after(async () => {
    await service?.arbiter.close();
  });

  test('the caller (its address) past its burst gets 429 with DENY and Retry-After; probes are not limited', async () => {
    const url = service.arbiter.url;
    const session = uniqueSession('rl');
    const body = decideBody(session, 'files.read', { path: '/secret-path-value' });
    const first = await send(url, 'POST', '/v1/decide', body);
    assert.equal(first.status, 200);
    assert.equal(first.body.decision, 'ALLOW');
    const second = await send(url, 'GET', `/v1/sessions/${session}?access_token=query-secret`, undefined, {
      'x-request-id': 'req-42',
    });
    assert.equal(second.status, 200);
    assert.equal(second.headers['x-request-id'], 'req-42');
    const limited = await send(url, 'POST', '/v1/decide', body);
    assert.equal(limited.status, 429);
    assert.equal(limited.body.decision, 'DENY');
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After in seconds');
    // Not a decision route: 429 without a decision.
    const limitedRead = await send(url, 'GET', `/v1/sessions/${session}`);
    assert.equal(limitedRead.status, 429);
    assert.equal(limitedRead.body.decision, undefined);
    assert.equal((await send(url, 'GET', '/healthz')).status, 200);
    assert.equal((await send(url, 'GET', '/readyz')).status, 200);
  });

  test('one access line per request: template, status, decision, id; never the body, the query or a path value', async () => {
    const lines = service.requests();
    const decides = lines.filter((l) => l.route === '/v1/decide');
    assert.deepEqual(
      decides.map((l) => [l.method, l.status, l.decision]),
      [
        ['POST', 200, 'ALLOW'],
        ['POST', 429, 'DENY'],
      ],
    );
    const read = lines.find((l) => l.request_id === 'req-42');
    assert.ok(read, 'the caller-sent request id is logged');
    assert.equal(read.route, '/v1/sessions/:id');
    assert.equal(read.method, 'GET');
    assert.equal(read.status, 200);
    assert.equal(read.decision, undefined);
    assert.equal(read.subject, undefined, 'nobody is authenticated with auth off');
    assert.equal(typeof read.duration_ms, 'number');
    assert.ok(lines.some((l) => l.route === '/healthz' && l.status === 200));
    const text = JSON.stringify(lines);
    for (const leak of ['secret-path-value', 'query-secret', 'access_token', 'rl-'])
      assert.ok(!text.includes(leak), `${leak} is not logged`);
    // Every other request got its own fresh id.
    const ids = lines.map((l) => l.request_id);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('ARBITER_ACCESS_LOG=off writes no request lines', async () => {
    const quiet = await start({ ARBITER_ACCESS_LOG: 'off' });
    try {
      assert.equal((await send(quiet.arbiter.url, 'GET', '/healthz')).status, 200);
      assert.equal(quiet.requests().length, 0);
    } finally {
      await quiet.arbiter.close();
    }
  });
});

describe('rate limit, access log and /v1/policy with ARBITER_AUTH=jwt', () => {
  const ISSUER = 'https://idp.test';
  const AUDIENCE = 'arbiter';
  let dir: string;
  let service: Awaited<ReturnType<typeof start>>;
  const token: Record<string, string> = {};
  const auth = (who: string) => ({ authorization: `Bearer ${token[who]}` });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbiter-hardening-'));
    const idp = await createTestIssuer({ kid: 'idp-1' });
    const jwksFile = await idp.writeJwksFile(dir);
    const caller = (sub: string, roles: string[]) =>
      idp.sign({ sub, roles, tenant: 'acme' }, { issuer: ISSUER, audience: AUDIENCE, expiresIn: '1h' });
    token.pep = await caller('gateway-1', ['pep']);
    token.pep2 = await caller('gateway-2', ['pep']);
    token.auditor = await caller('auditor-1', ['auditor']);
    token.admin = await caller('admin-1', ['admin']);
    token.agent = await idp.sign(
      { sub: 'agent-7', tenant: 'acme' },
      { issuer: ISSUER, audience: `${AUDIENCE}:agent`, expiresIn: '1h' },
    );
    const extra = join(dir, 'policy');
    execFileSync('mkdir', ['-p', extra]);
    writeFileSync(join(extra, 'extra.rego'), 'package aarm.rules.extra\n\nimport rego.v1\n\nfindings := set()\n');
    service = await start({
      ARBITER_AUTH: 'jwt',
      ARBITER_JWKS_FILE: jwksFile,
      ARBITER_JWT_ISSUER: ISSUER,
      ARBITER_JWT_AUDIENCE: AUDIENCE,
      ARBITER_POLICY_DIR: `${join(PROJECT_ROOT, 'rego')}:${extra}`,
      ARBITER_RATE_LIMIT_RPS: '0.001',
      ARBITER_RATE_LIMIT_BURST: '3',
    });
    // A broken file: the reload fails and the previous policy keeps serving, with the error kept.
    writeFileSync(join(extra, 'broken.rego'), 'package aarm.rules.broken\n\nthis is not rego at all {\n');
    const reload = await send(service.arbiter.url, 'POST', '/v1/policy/reload', undefined, auth('admin'));
    assert.equal(reload.status, 422);
  });
  after(async () => {
    await service?.arbiter.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('GET /v1/policy: admins see the compile error, other callers only revision, hash and loaded_at', async () => {
    const url = service.arbiter.url;
    const admin = await send(url, 'GET', '/v1/policy', undefined, auth('admin'));
    assert.equal(admin.status, 200);
    assert.match(JSON.stringify(admin.body.last_error), /broken\.rego/);
    const auditor = await send(url, 'GET', '/v1/policy', undefined, auth('auditor'));
    assert.equal(auditor.status, 200);
    assert.deepEqual(Object.keys(auditor.body).sort(), ['hash', 'loaded_at', 'revision']);
    assert.equal(auditor.body.hash, admin.body.hash);
    assert.match(auditor.body.hash, /^sha256:/);
  });

  test('each authenticated subject has its own bucket; the access log names it', async () => {
    const url = service.arbiter.url;
    const decide = (who: string) =>
      send(
        url,
        'POST',
        '/v1/decide',
        {
          action: { tool: 'files.read', parameters: { path: '/a' } },
          session: { id: uniqueSession('jwt') },
          identity: { agent_token: token.agent },
        },
        auth(who),
      );
    const answers = [await decide('pep'), await decide('pep'), await decide('pep'), await decide('pep')];
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.decision]),
      [
        [200, 'ALLOW'],
        [200, 'ALLOW'],
        [200, 'ALLOW'],
        [429, 'DENY'],
      ],
    );
    const other = await decide('pep2');
    assert.equal(other.status, 200, 'another subject is not limited by the first one');
    const lines = service.requests().filter((l) => l.route === '/v1/decide');
    assert.deepEqual(
      lines.map((l) => [l.subject, l.tenant, l.status]),
      [
        ['gateway-1', 'acme', 200],
        ['gateway-1', 'acme', 200],
        ['gateway-1', 'acme', 200],
        ['gateway-1', 'acme', 429],
        ['gateway-2', 'acme', 200],
      ],
    );
    const text = JSON.stringify(service.lines);
    for (const t of Object.values(token)) assert.ok(!text.includes(t.split('.')[2]!), 'no token in the log');
  });
});

describe('token buckets', () => {
  test('refill at the rate, hold at most maxCallers buckets and drop idle ones', () => {
    let now = 0;
    const buckets = new TokenBuckets({ rps: 2, burst: 2, maxCallers: 3 }, () => now);
    assert.deepEqual([buckets.take('a'), buckets.take('a')], [{ ok: true }, { ok: true }]);
    assert.deepEqual(buckets.take('a'), { ok: false, retryAfterSeconds: 1 });
    now = 500; // one token back at 2 per second
    assert.deepEqual(buckets.take('a'), { ok: true });
    assert.equal(buckets.take('a').ok, false);
    for (const key of ['b', 'c', 'd', 'e', 'f']) buckets.take(key);
    assert.ok(buckets.size <= 3, `at most 3 buckets, not ${buckets.size}`);
    now = 60_000; // everyone idle long enough to be full again
    for (let i = 0; i < 3; i++) buckets.take('g');
    assert.ok(buckets.size < 3, 'idle buckets are dropped as others are used');
  });
});

describe('the Redis CA', () => {
  test('is given to the Redis connection itself, not to the process', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const client = connectRedis({ url: 'rediss://127.0.0.1:1', timeoutMs: 50, tlsCa: pem });
    const plain = connectRedis({ url: 'redis://127.0.0.1:1', timeoutMs: 50, tlsCa: pem });
    try {
      client.on('error', () => {});
      plain.on('error', () => {});
      assert.equal(((client.options as RedisOptions).tls as { ca?: string } | undefined)?.ca, pem);
      assert.equal((plain.options as RedisOptions).tls, undefined, 'a plain redis:// URL does not turn TLS on');
    } finally {
      client.disconnect();
      plain.disconnect();
    }
    assert.throws(
      () => loadConfig({ ARBITER_REDIS_URL: 'redis://127.0.0.1:6379', ARBITER_REDIS_TLS_CA: '/x' }),
      /ARBITER_REDIS_TLS_CA needs a TLS Redis URL/,
    );
    assert.equal(
      loadConfig({ ARBITER_REDIS_URL: 'rediss://r:6379', ARBITER_REDIS_TLS_CA: '/ca.pem' }).redis?.tlsCaPath,
      '/ca.pem',
    );
  });
});
