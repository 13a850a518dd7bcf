import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { base64url, decodeJwt, SignJWT } from 'jose';
import {
  createTokenVerifier,
  DEFAULT_TENANT,
  ROLES,
  type IdentityProblem,
  type TokenVerifier,
  type TokenVerifierOptions,
  type Verified,
} from '../../services/decision/src/intercept/identity.js';
import { combinedJwks, createTestIssuer, serveJwks, writeJwks, type TestIssuer } from '../support/tokens.js';

const ISS = 'https://issuer.test';
const AUD = 'arbiter';
/** The default agent audience: `<caller audience>:agent`. */
const AGENT_AUD = 'arbiter:agent';
const now = () => Math.floor(Date.now() / 1000);
const sha256 = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

let dir: string;
let issuer: TestIssuer; // kid "main", in the file
let impostor: TestIssuer; // kid "main" too, but another key
let stranger: TestIssuer; // a kid nobody published
let jwksFile: string;
let verifier: TokenVerifier;

function options(extra: Partial<TokenVerifierOptions> = {}): TokenVerifierOptions {
  return {
    jwksFile,
    issuer: ISS,
    audience: AUD,
    maxAgeSeconds: 3600,
    clockToleranceSeconds: 0,
    fetchTimeoutMs: 1000,
    ...extra,
  };
}

/** An agent token from `issuer` with the configured iss and the agent audience. */
function sign(claims: Record<string, unknown>, opts: Parameters<TestIssuer['sign']>[1] = {}, by: TestIssuer = issuer) {
  return by.sign(claims, { issuer: ISS, audience: AGENT_AUD, ...opts });
}

/** A caller token from `issuer` with the configured iss and aud. */
function signCaller(claims: Record<string, unknown>, opts: Parameters<TestIssuer['sign']>[1] = {}, by = issuer) {
  return sign(claims, { audience: AUD, ...opts }, by);
}

function assertProblem<T>(result: Verified<T>, problem: IdentityProblem, token?: string): void {
  assert.equal(result.ok, false, `expected ${problem}, got a verified token`);
  if (result.ok) return;
  assert.equal(result.problem, problem, `expected ${problem}, got ${result.problem}: ${result.message}`);
  assert.ok(result.message.length > 0);
  if (token !== undefined) {
    assert.ok(!result.message.includes(token), 'the message must not hold the token');
    for (const part of token.split('.')) if (part.length > 8) assert.ok(!result.message.includes(part));
  }
}

function value<T>(result: Verified<T>): T {
  if (!result.ok) assert.fail(`expected a verified token, got ${result.problem}: ${result.message}`);
  return result.value;
}

function unsigned(header: Record<string, unknown>, payload: Record<string, unknown>, signature = ''): string {
  const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(payload)}.${signature}`;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arbiter-identity-'));
  issuer = await createTestIssuer({ kid: 'main' });
  impostor = await createTestIssuer({ kid: 'main' });
  stranger = await createTestIssuer({ kid: 'stranger', alg: 'ES256' });
  jwksFile = await issuer.writeJwksFile(dir);
  verifier = createTokenVerifier(options());
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('agent tokens', () => {
  test('a valid token gives the full identity: scopes from both forms, the act chain, the default tenant', async () => {
    const token = await sign({
      sub: 'agent-7',
      human: 'alice@example.com',
      service: 'billing',
      role: 'assistant',
      scope: 'mail.read  files.write mail.read',
      scopes: ['calendar', 'files.write'],
      act: { sub: 'orchestrator', client_id: 'c-1', act: { sub: 'alice-ui', act: { sub: 'gateway' } } },
      jti: 'tok-1',
    });
    const claims = decodeJwt(token);
    const identity = value(await verifier.verifyAgent(token));
    assert.deepEqual(identity, {
      agent: 'agent-7',
      tenant: DEFAULT_TENANT,
      human: 'alice@example.com',
      service: 'billing',
      role: 'assistant',
      scopes: ['calendar', 'files.write', 'mail.read'],
      delegation: [{ sub: 'orchestrator', client_id: 'c-1' }, { sub: 'alice-ui' }, { sub: 'gateway' }],
      jti: 'tok-1',
      tokenHash: sha256(token),
      issuedAt: new Date(claims.iat! * 1000).toISOString(),
      expiresAt: new Date(claims.exp! * 1000).toISOString(),
    });
    assert.match(identity.tokenHash, /^sha256:[0-9a-f]{64}$/);
  });

  test('a minimal token: tenant from its claim, no optional fields, empty scopes and delegation', async () => {
    const es = await createTestIssuer({ alg: 'ES256', kid: 'es' });
    const file = await writeJwks(join(dir, 'es.json'), es.jwks());
    const v = createTokenVerifier(options({ jwksFile: file, issuer: undefined, audience: undefined }));
    const token = await es.sign({ sub: 'a', tenant: 'acme' });
    const identity = value(await v.verifyAgent(token));
    assert.equal(identity.agent, 'a');
    assert.equal(identity.tenant, 'acme');
    assert.deepEqual(identity.scopes, []);
    assert.deepEqual(identity.delegation, []);
    for (const key of ['human', 'service', 'role', 'jti'] as const) assert.equal(key in identity, false);
  });

  test('a "__proto__" claim in an act level stays a plain key', async () => {
    const token = await sign({ sub: 'a', act: JSON.parse('{"sub":"b","__proto__":{"polluted":true}}') });
    const [link] = value(await verifier.verifyAgent(token)).delegation;
    assert.equal(Object.getPrototypeOf(link), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('missing: no token at all', async () => {
    assertProblem(await verifier.verifyAgent(undefined), 'missing');
    assertProblem(await verifier.verifyAgent(''), 'missing');
  });

  test('expired: exp in the past', async () => {
    const token = await sign({ sub: 'a' }, { expiresIn: -60 });
    assertProblem(await verifier.verifyAgent(token), 'expired', token);
  });

  test('expired: by the injected clock', async () => {
    const token = await sign({ sub: 'a' }, { expiresIn: 60 });
    const v = createTokenVerifier(options({ now: () => new Date(Date.now() + 10 * 60_000) }));
    assertProblem(await v.verifyAgent(token), 'expired', token);
  });

  test('clock tolerance lets a just-expired token through', async () => {
    const token = await sign({ sub: 'a' }, { expiresIn: -5 });
    const v = createTokenVerifier(options({ clockToleranceSeconds: 30 }));
    assert.equal(value(await v.verifyAgent(token)).agent, 'a');
  });

  test('not_yet_valid: nbf in the future, or iat in the future', async () => {
    const nbf = await sign({ sub: 'a' }, { notBefore: 120 });
    assertProblem(await verifier.verifyAgent(nbf), 'not_yet_valid', nbf);
    const iat = await sign({ sub: 'a' }, { issuedAt: now() + 600, expiresIn: 900 });
    assertProblem(await verifier.verifyAgent(iat), 'not_yet_valid', iat);
  });

  test('too_old: iat further back than maxAgeSeconds, though exp is still ahead', async () => {
    const token = await sign({ sub: 'a' }, { issuedAt: now() - 7200, expiresIn: 600 });
    assertProblem(await verifier.verifyAgent(token), 'too_old', token);
  });

  test('a token without iat is malformed when a maximum age is set, and fine when it is not', async () => {
    const token = await sign({ sub: 'a', iat: undefined });
    assert.equal('iat' in decodeJwt(token), false);
    assertProblem(await verifier.verifyAgent(token), 'malformed', token);
    const v = createTokenVerifier(options({ maxAgeSeconds: 0 }));
    const identity = value(await v.verifyAgent(token));
    assert.equal(identity.issuedAt, undefined);
  });

  test('wrong_issuer: another iss, or none', async () => {
    const other = await sign({ sub: 'a' }, { issuer: 'https://evil.test' });
    assertProblem(await verifier.verifyAgent(other), 'wrong_issuer', other);
    const none = await issuer.sign({ sub: 'a' }, { audience: AGENT_AUD });
    assertProblem(await verifier.verifyAgent(none), 'wrong_issuer', none);
  });

  test('wrong_audience: another aud', async () => {
    const token = await sign({ sub: 'a' }, { audience: 'someone-else' });
    assertProblem(await verifier.verifyAgent(token), 'wrong_audience', token);
  });

  test('bad_signature: signed by another key under the published kid', async () => {
    const token = await sign({ sub: 'a' }, {}, impostor);
    assertProblem(await verifier.verifyAgent(token), 'bad_signature', token);
  });

  test('bad_signature: a valid token with its payload swapped', async () => {
    const good = await sign({ sub: 'a' });
    const evil = await sign({ sub: 'root' });
    const [h, , s] = good.split('.');
    const forged = `${h}.${evil.split('.')[1]}.${s}`;
    assertProblem(await verifier.verifyAgent(forged), 'bad_signature', forged);
  });

  test('unknown_key: a kid that is not in the key set', async () => {
    const token = await sign({ sub: 'a' }, {}, stranger);
    assertProblem(await verifier.verifyAgent(token), 'unknown_key', token);
  });

  test('alg none and HS256 are refused, even with a published kid', async () => {
    const none = unsigned({ alg: 'none', kid: 'main' }, { sub: 'a', iss: ISS, aud: AUD, iat: now(), exp: now() + 60 });
    const r1 = await verifier.verifyAgent(none);
    assert.equal(r1.ok, false);
    assert.ok(!r1.ok && ['bad_signature', 'malformed'].includes(r1.problem), JSON.stringify(r1));

    // HS256 keyed with the published public key's bytes: the classic algorithm-confusion attack.
    const secret = new TextEncoder().encode(JSON.stringify(issuer.jwks().keys[0]));
    const hs = await new SignJWT({ sub: 'a' })
      .setProtectedHeader({ alg: 'HS256', kid: 'main' })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(secret);
    const r2 = await verifier.verifyAgent(hs);
    assert.equal(r2.ok, false);
    assert.ok(!r2.ok && ['bad_signature', 'malformed'].includes(r2.problem), JSON.stringify(r2));
  });

  test('malformed: garbage, broken segments, a header that is not JSON', async () => {
    for (const garbage of [
      'not-a-jwt',
      'a.b',
      'a.b.c.d',
      '....',
      'eyJ.eyJ.',
      'x y.z.w',
      `${base64url.encode('{')}.${base64url.encode('{}')}.AA`,
    ]) {
      assertProblem(await verifier.verifyAgent(garbage), 'malformed');
    }
  });

  test('malformed: over 16 KiB, even when properly signed', async () => {
    const token = await sign({ sub: 'a', padding: 'x'.repeat(17 * 1024) });
    assert.ok(token.length > 16 * 1024);
    assertProblem(await verifier.verifyAgent(token), 'malformed', token);
  });

  test('malformed: sub missing, empty or not a string', async () => {
    for (const claims of [{}, { sub: '' }, { sub: 42 }]) {
      const token = await sign(claims);
      assertProblem(await verifier.verifyAgent(token), 'malformed', token);
    }
  });

  test('malformed: act without sub, act not an object, act nested deeper than 10', async () => {
    const nest = (depth: number): Record<string, unknown> => {
      let act: Record<string, unknown> | undefined;
      for (let i = depth; i >= 1; i--) act = { sub: `actor-${i}`, ...(act && { act }) };
      return act!;
    };
    for (const act of [{ client_id: 'c' }, { sub: 'b', act: { sub: 7 } }, ['x'], 'someone', nest(11)]) {
      const token = await sign({ sub: 'a', act });
      assertProblem(await verifier.verifyAgent(token), 'malformed', token);
    }
    const ten = value(await verifier.verifyAgent(await sign({ sub: 'a', act: nest(10) })));
    assert.equal(ten.delegation.length, 10);
    assert.equal(ten.delegation[0]!.sub, 'actor-1');
    assert.equal(ten.delegation[9]!.sub, 'actor-10');
  });

  test('malformed: tenant, roles, scope, scopes, human of the wrong type', async () => {
    for (const claims of [
      { tenant: 7 },
      { tenant: '' },
      { roles: 'pep' },
      { scope: ['a'] },
      { scopes: 'a b' },
      { scopes: [1] },
      { human: { name: 'x' } },
    ]) {
      const token = await sign({ sub: 'a', ...claims });
      assertProblem(await verifier.verifyAgent(token), 'malformed', token);
    }
  });

  test('messages never carry other claims', async () => {
    const token = await sign({ sub: 'agent-x', human: 'secret-human-value', act: { nope: 'secret-act-value' } });
    const r = await verifier.verifyAgent(token);
    assertProblem(r, 'malformed', token);
    assert.ok(!r.ok && !/secret-/.test(r.message));
    assert.ok(!r.ok && r.message.includes('agent-x'));
  });

  test('a kid-less token is tried against every matching key', async () => {
    const second = await createTestIssuer({ kid: 'second' });
    const file = await writeJwks(join(dir, 'two.json'), combinedJwks(issuer, second));
    const v = createTokenVerifier(options({ jwksFile: file }));
    const token = await sign({ sub: 'a' }, { header: { kid: undefined } }, second);
    assert.equal(value(await v.verifyAgent(token)).agent, 'a');
    const forged = await sign({ sub: 'a' }, { header: { kid: undefined } }, impostor);
    assertProblem(await v.verifyAgent(forged), 'bad_signature', forged);
  });
});

describe('caller tokens', () => {
  test('Bearer parsing: the scheme in any case, extra spaces', async () => {
    const token = await signCaller({ sub: 'pep-1', roles: ['pep'] });
    for (const header of [`Bearer ${token}`, `bearer ${token}`, `BEARER   ${token}  `]) {
      const caller = value(await verifier.verifyCaller(header));
      assert.equal(caller.subject, 'pep-1');
      assert.equal(caller.tokenHash, sha256(token));
    }
  });

  test('missing or unusable Authorization headers', async () => {
    assertProblem(await verifier.verifyCaller(undefined), 'missing');
    assertProblem(await verifier.verifyCaller(''), 'missing');
    assertProblem(await verifier.verifyCaller('Bearer'), 'missing');
    assertProblem(await verifier.verifyCaller('Bearer   '), 'missing');
    const token = await signCaller({ sub: 'a' });
    assertProblem(await verifier.verifyCaller(`Basic ${token}`), 'malformed', token);
    assertProblem(await verifier.verifyCaller(token), 'malformed', token);
    assertProblem(await verifier.verifyCaller(`Bearer ${token} extra`), 'malformed', token);
  });

  test('roles: known ones kept, unknown ones ignored; tenant and jti carried', async () => {
    const token = await signCaller({
      sub: 'ops',
      roles: ['pep', 'admin', 'root', 'pep', 'Auditor'],
      tenant: 't1',
      jti: 'j-9',
    });
    const caller = value(await verifier.verifyCaller(`Bearer ${token}`));
    assert.deepEqual([...caller.roles].sort(), ['admin', 'pep']);
    assert.equal(caller.tenant, 't1');
    assert.equal(caller.jti, 'j-9');
    const bare = value(await verifier.verifyCaller(`Bearer ${await signCaller({ sub: 'x' })}`));
    assert.equal(bare.roles.size, 0);
    assert.equal(bare.tenant, DEFAULT_TENANT);
    assert.equal(bare.jti, undefined);
    assert.deepEqual([...ROLES], ['pep', 'approver', 'auditor', 'admin']);
  });

  test('roles that are not an array of strings are malformed', async () => {
    for (const roles of ['pep', { pep: true }, ['pep', 1]]) {
      const token = await signCaller({ sub: 'x', roles });
      assertProblem(await verifier.verifyCaller(`Bearer ${token}`), 'malformed', token);
    }
  });

  test('the same checks as agent tokens apply', async () => {
    const expired = await signCaller({ sub: 'x' }, { expiresIn: -10 });
    assertProblem(await verifier.verifyCaller(`Bearer ${expired}`), 'expired', expired);
    const forged = await signCaller({ sub: 'x' }, {}, impostor);
    assertProblem(await verifier.verifyCaller(`Bearer ${forged}`), 'bad_signature', forged);
    const big = await signCaller({ sub: 'x', padding: 'y'.repeat(17 * 1024) });
    assertProblem(await verifier.verifyCaller(`Bearer ${big}`), 'malformed', big);
  });
});

describe('caller and agent tokens are told apart by their audience', () => {
  test("an agent token is never a caller's, whatever roles it carries", async () => {
    const agentAdmin = await sign({ sub: 'agent-7', roles: ['admin'], tenant: 'acme' });
    assert.equal(value(await verifier.verifyAgent(agentAdmin)).agent, 'agent-7', 'a valid agent token');
    assertProblem(await verifier.verifyCaller(`Bearer ${agentAdmin}`), 'wrong_audience', agentAdmin);
  });

  test("a caller token is never an agent's", async () => {
    const pep = await signCaller({ sub: 'gateway', roles: ['pep'] });
    assert.equal(value(await verifier.verifyCaller(`Bearer ${pep}`)).subject, 'gateway');
    assertProblem(await verifier.verifyAgent(pep), 'wrong_audience', pep);
  });

  test('a token issued for both audiences is neither', async () => {
    const both = await issuer.sign({ sub: 'x', roles: ['admin'], aud: [AUD, AGENT_AUD] }, { issuer: ISS });
    assertProblem(await verifier.verifyCaller(`Bearer ${both}`), 'wrong_audience', both);
    assertProblem(await verifier.verifyAgent(both), 'wrong_audience', both);
  });

  test("agentAudience names the agent audience; it may not be the callers'", async () => {
    const v = createTokenVerifier(options({ agentAudience: 'agents.example' }));
    assert.equal(value(await v.verifyAgent(await sign({ sub: 'a' }, { audience: 'agents.example' }))).agent, 'a');
    const defaulted = await sign({ sub: 'a' });
    assertProblem(await v.verifyAgent(defaulted), 'wrong_audience', defaulted);
    assert.throws(() => createTokenVerifier(options({ agentAudience: AUD })), /must differ/);
  });
});

describe('construction', () => {
  test('exactly one key source', () => {
    assert.throws(() => createTokenVerifier(options({ jwksFile: undefined })), /exactly one/);
    assert.throws(() => createTokenVerifier(options({ jwksUrl: 'http://127.0.0.1:1/jwks' })), /exactly one/);
  });

  test('an unreadable or invalid key file is a clear error', async () => {
    assert.throws(() => createTokenVerifier(options({ jwksFile: join(dir, 'absent.json') })), /cannot be read/);
    const notJson = join(dir, 'bad.json');
    await writeFile(notJson, '{ nope');
    assert.throws(() => createTokenVerifier(options({ jwksFile: notJson })), /not valid JSON/);
    const notJwks = join(dir, 'notjwks.json');
    await writeFile(notJwks, JSON.stringify({ key: [] }));
    assert.throws(() => createTokenVerifier(options({ jwksFile: notJwks })), /not a JSON Web Key Set/);
    const secretKey = join(dir, 'oct.json');
    await writeFile(secretKey, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
    assert.throws(() => createTokenVerifier(options({ jwksFile: secretKey })), /symmetric/);
  });

  test('an invalid URL or timeout is refused', () => {
    assert.throws(() => createTokenVerifier(options({ jwksFile: undefined, jwksUrl: 'not a url' })), /not a valid URL/);
    assert.throws(() => createTokenVerifier(options({ jwksFile: undefined, jwksUrl: 'file:///etc/jwks' })), /http/);
    assert.throws(
      () => createTokenVerifier(options({ jwksFile: undefined, jwksUrl: 'http://127.0.0.1/', fetchTimeoutMs: 1.5 })),
      /fetchTimeoutMs/,
    );
  });
});

describe('JWKS file rotation', () => {
  test('a new key written into the file is picked up without a new verifier; re-reads are rate limited', async () => {
    const rotDir = await mkdtemp(join(dir, 'rot-'));
    const file = await issuer.writeJwksFile(rotDir);
    const v = createTokenVerifier(options({ jwksFile: file }));
    assert.equal(value(await v.verifyAgent(await sign({ sub: 'old' }))).agent, 'old');

    const next = await createTestIssuer({ kid: 'next' });
    const tokenNext = await sign({ sub: 'new' }, {}, next);
    await writeJwks(file, combinedJwks(issuer, next));
    assert.equal(value(await v.verifyAgent(tokenNext)).agent, 'new');
    assert.equal(value(await v.verifyAgent(await sign({ sub: 'old' }))).agent, 'old', 'the overlap keeps the old key');

    // Within a second of that re-read, another new kid is not looked for again...
    const third = await createTestIssuer({ kid: 'third' });
    const tokenThird = await sign({ sub: 'third' }, {}, third);
    await writeJwks(file, combinedJwks(next, third));
    assertProblem(await v.verifyAgent(tokenThird), 'unknown_key', tokenThird);
    // ...after it, it is; and the key dropped from the file stops verifying once the file is re-read.
    await sleep(1100);
    assert.equal(value(await v.verifyAgent(tokenThird)).agent, 'third');
    assertProblem(await v.verifyAgent(await sign({ sub: 'old' })), 'unknown_key');
  });

  test('a file broken during a rotation keeps the keys already loaded', async () => {
    const rotDir = await mkdtemp(join(dir, 'broken-'));
    const file = await issuer.writeJwksFile(rotDir);
    const v = createTokenVerifier(options({ jwksFile: file }));
    await writeFile(file, '{"keys": [');
    const tokenStranger = await sign({ sub: 's' }, {}, stranger);
    assertProblem(await v.verifyAgent(tokenStranger), 'unknown_key', tokenStranger);
    assert.equal(value(await v.verifyAgent(await sign({ sub: 'still' }))).agent, 'still');
  });
});

describe('JWKS URL', () => {
  test('keys are fetched over HTTP and cached', async () => {
    const server = await serveJwks(() => issuer.jwks());
    try {
      const v = createTokenVerifier(options({ jwksFile: undefined, jwksUrl: server.url }));
      assert.equal(server.hits(), 0);
      assert.equal(value(await v.verifyAgent(await sign({ sub: 'a' }))).agent, 'a');
      assert.equal(
        value(await v.verifyCaller(`Bearer ${await signCaller({ sub: 'b', roles: ['pep'] })}`)).subject,
        'b',
      );
      assert.equal(server.hits(), 1);
      assertProblem(await v.verifyAgent(await sign({ sub: 'a' }, {}, impostor)), 'bad_signature');
    } finally {
      await server.close();
    }
  });

  test('jwks_unavailable: the server is down', async () => {
    const server = await serveJwks(() => issuer.jwks());
    await server.close();
    const v = createTokenVerifier(options({ jwksFile: undefined, jwksUrl: server.url }));
    const token = await sign({ sub: 'a' });
    assertProblem(await v.verifyAgent(token), 'jwks_unavailable', token);
    assertProblem(await v.verifyCaller(`Bearer ${token}`), 'jwks_unavailable', token);
  });

  test('jwks_unavailable: the server does not answer within fetchTimeoutMs', async () => {
    const hanging: Server = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = hanging.address() as AddressInfo;
      const v = createTokenVerifier(
        options({ jwksFile: undefined, jwksUrl: `http://127.0.0.1:${port}/jwks`, fetchTimeoutMs: 200 }),
      );
      const started = Date.now();
      const token = await sign({ sub: 'a' });
      const r = await v.verifyAgent(token);
      assertProblem(r, 'jwks_unavailable', token);
      assert.ok(Date.now() - started < 2000, 'bounded by fetchTimeoutMs');
    } finally {
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });

  test('jwks_unavailable: the server answers something that is not a key set', async () => {
    const server = await serveJwks(() => ({ hello: 'world' }));
    try {
      const v = createTokenVerifier(options({ jwksFile: undefined, jwksUrl: server.url }));
      assertProblem(await v.verifyAgent(await sign({ sub: 'a' })), 'jwks_unavailable');
    } finally {
      await server.close();
    }
  });

  test('an unknown kid triggers a refetch that finds a rotated key (after the cooldown)', async () => {
    const next = await createTestIssuer({ kid: 'next-url' });
    let published = issuer.jwks();
    const server = await serveJwks(() => published);
    try {
      const eager = createTokenVerifier(options({ jwksFile: undefined, jwksUrl: server.url, jwksCooldownMs: 0 }));
      const patient = createTokenVerifier(options({ jwksFile: undefined, jwksUrl: server.url }));
      assert.equal(value(await eager.verifyAgent(await sign({ sub: 'a' }))).agent, 'a');
      assert.equal(value(await patient.verifyAgent(await sign({ sub: 'a' }))).agent, 'a');
      assert.equal(server.hits(), 2);

      published = combinedJwks(issuer, next);
      const token = await sign({ sub: 'rotated' }, {}, next);
      assert.equal(value(await eager.verifyAgent(token)).agent, 'rotated');
      assert.equal(server.hits(), 3);
      // With the default 30 s cooldown, the same unknown kid right after a fetch is not refetched.
      assertProblem(await patient.verifyAgent(token), 'unknown_key', token);
      assert.equal(server.hits(), 3);
      // A kid that is nowhere stays unknown after the refetch.
      assertProblem(await eager.verifyAgent(await sign({ sub: 's' }, {}, stranger)), 'unknown_key');
      assert.equal(server.hits(), 4);
    } finally {
      await server.close();
    }
  });
});
