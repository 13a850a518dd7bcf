/**
 * Capability tokens (AARM R9): issued with real Ed25519 keys, verified with jose, redeemed
 * once, exchanged for a downstream credential. Nothing is mocked but the clock.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import {
  CAPABILITY_SCOPES,
  CAPABILITY_TYP,
  capabilityHeldBy,
  catalogOperation,
  checkUnredeemed,
  DEFAULT_CAPABILITY_TTL_SECONDS,
  grantCapability,
  HmacCredentialBroker,
  issueCapability,
  MemoryCapabilityRedemptions,
  NO_SCOPE,
  redeemCapability,
  scopeForOperation,
  scopesOf,
  verifyCapability,
  verifyCapabilityRequest,
  verifyDownstreamCredential,
  type CapabilityClaims,
  type CapabilityRedemptions,
  type CapabilityScope,
  type CapabilityVerifyDeps,
  type IssueCapabilityArgs,
} from '../../services/decision/src/capabilities/index.js';
import { hashOf } from '../../services/decision/src/receipts/canonical.js';
import { ArbiterError } from '../../services/decision/src/errors.js';
import {
  generateSigningKey,
  publicJwk,
  publicKeysFromJwks,
  type SigningKey,
} from '../../services/decision/src/receipts/keys.js';
import { signReceipt } from '../../services/decision/src/receipts/sign.js';

const T0 = new Date('2026-05-04T10:00:00.250Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const PARAMS = { path: '/srv/report.csv', options: { encoding: 'utf8', lines: 10 } };

const key = generateSigningKey();
const keys = new Map([[key.kid, key.publicKey]]);

function issueArgs(overrides: Partial<IssueCapabilityArgs> = {}): IssueCapabilityArgs {
  return {
    agent: 'agent-1',
    tenant: 'default',
    sessionId: 's-1',
    actionId: 'act-1',
    tool: 'files.read',
    operation: 'read',
    parametersHash: hashOf(PARAMS),
    receiptId: 'rcpt-1',
    scope: 'read',
    ttlSeconds: 60,
    now: T0,
    ...overrides,
  };
}

const issue = (overrides: Partial<IssueCapabilityArgs> = {}, signingKey: SigningKey = key) =>
  issueCapability(issueArgs(overrides), signingKey);

const verify = (token: string, overrides: Partial<Parameters<typeof verifyCapability>[0]> = {}) =>
  verifyCapability({ token, tool: 'files.read', parameters: PARAMS, scope: 'read', now: at(1000), keys, ...overrides });

function segments(token: string): { header: any; payload: any; signature: string } {
  const [h, p, s] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString()),
    signature: s!,
  };
}
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('scopeForOperation: exact scopes, unions, "none" when unknown, missing or contradicted', () => {
  it('maps each of the seven operations onto the scope of the same name', () => {
    assert.deepEqual([...CAPABILITY_SCOPES], ['read', 'write', 'delete', 'execute', 'send', 'grant', 'pay']);
    for (const op of CAPABILITY_SCOPES) assert.equal(scopeForOperation(op), op);
    assert.equal(scopeForOperation('grant', 'grant'), 'grant');
    assert.equal(scopeForOperation(undefined, 'pay'), 'pay');
    assert.equal(scopeForOperation('write', 'pay'), NO_SCOPE);
  });
  it('gives "none" for a missing or unknown operation', () => {
    assert.equal(scopeForOperation(undefined), NO_SCOPE);
    for (const op of ['admin', 'READ', 'query', '', 'read,write']) assert.equal(scopeForOperation(op), NO_SCOPE);
  });
  it('takes the catalogue operation when none is declared, and "none" when they disagree', () => {
    assert.equal(scopeForOperation(undefined, 'read'), 'read');
    assert.equal(scopeForOperation('write', 'write'), 'write');
    assert.equal(scopeForOperation('read', 'write'), NO_SCOPE);
    assert.equal(scopeForOperation('read', 'mystery'), NO_SCOPE);
    assert.equal(scopeForOperation('frobnicate', 'read'), NO_SCOPE);
  });
  it('gives a tool catalogued with several operations their union, whichever of them is declared', () => {
    for (const declared of [undefined, 'send', 'read'])
      assert.equal(scopeForOperation(declared, ['send', 'read']), 'read send');
    assert.equal(scopeForOperation(undefined, ['pay', 'grant', 'pay']), 'grant pay');
    assert.equal(scopeForOperation(undefined, ['write']), 'write');
    // Declared outside the union, or a union with an unknown or no member: none.
    assert.equal(scopeForOperation('delete', ['read', 'send']), NO_SCOPE);
    assert.equal(scopeForOperation(undefined, ['read', 'admin']), NO_SCOPE);
    assert.equal(scopeForOperation('read', []), NO_SCOPE);
  });
  it('reads the operation of a catalogued tool from the policy data; another shape gives no scope', () => {
    const tools = {
      'db.query': { operation: 'read' },
      'files.sync': { operation: ['read', 'send'] },
      weird: { operation: 7 },
      mixed: { operation: ['read', 7] },
    };
    const data = { aarm: { catalog: { tools } } };
    assert.equal(catalogOperation(data, 'db.query'), 'read');
    assert.deepEqual(catalogOperation(data, 'files.sync'), ['read', 'send']);
    assert.deepEqual(catalogOperation(data, 'weird'), []);
    assert.deepEqual(catalogOperation(data, 'mixed'), []);
    assert.equal(scopeForOperation('read', catalogOperation(data, 'weird')), NO_SCOPE);
    assert.equal(catalogOperation(data, 'toString'), undefined);
    assert.equal(catalogOperation(undefined, 'db.query'), undefined);
  });
  it('reads a scope back into the scopes it authorises, and nothing else', () => {
    assert.deepEqual(scopesOf('none'), []);
    assert.deepEqual(scopesOf('pay'), ['pay']);
    assert.deepEqual(scopesOf('read send grant'), ['read', 'send', 'grant']);
    assert.deepEqual(scopesOf('grant read send'), undefined);
    for (const bad of [
      'send read',
      'read read',
      'read  send',
      'read admin',
      '',
      ' read',
      'READ',
      7,
      ['read'],
      undefined,
    ])
      assert.equal(scopesOf(bad), undefined, String(bad));
  });
});

describe('issueCapability', () => {
  it('writes the header, the registered claims and the aarm claim', async () => {
    const issued = await issue();
    const { header, payload } = segments(issued.token);
    assert.deepEqual(header, { alg: 'EdDSA', typ: CAPABILITY_TYP, kid: key.kid });
    assert.equal(payload.iss, 'arbiter');
    assert.equal(payload.sub, 'agent-1');
    assert.equal(payload.aud, 'files.read');
    assert.equal(payload.jti, issued.jti);
    assert.equal(Buffer.from(issued.jti, 'base64url').length, 16);
    assert.equal(payload.iat, Math.floor(T0.getTime() / 1000));
    assert.equal(payload.nbf, payload.iat);
    assert.deepEqual(payload.aarm, {
      tool: 'files.read',
      scope: 'read',
      operation: 'read',
      params: hashOf(PARAMS),
      receipt: 'rcpt-1',
      session: 's-1',
      action: 'act-1',
      tenant: 'default',
    });
    assert.equal(issued.expiresAt, new Date(payload.exp * 1000).toISOString());
  });

  it('lives at least its TTL and less than one second more; 60 s by default', async () => {
    const { ttlSeconds: _drop, ...noTtl } = issueArgs();
    const issued = await issueCapability(noTtl, key);
    const { payload } = segments(issued.token);
    const life = payload.exp * 1000 - T0.getTime();
    assert.ok(
      life >= DEFAULT_CAPABILITY_TTL_SECONDS * 1000 && life < (DEFAULT_CAPABILITY_TTL_SECONDS + 1) * 1000,
      `life ${life}`,
    );
  });

  it('gives every capability its own jti, and leaves sub out when no agent is known', async () => {
    const a = await issue();
    const b = await issue({ agent: undefined });
    assert.notEqual(a.jti, b.jti);
    assert.equal('sub' in segments(b.token).payload, false);
    assert.equal((await verify(b.token)).valid, true);
  });

  it('refuses a TTL outside 1…3600 s, a malformed hash and an unknown scope', async () => {
    for (const ttlSeconds of [0, -1, 1.5, 3601, Number.NaN]) await assert.rejects(issue({ ttlSeconds }), RangeError);
    await assert.rejects(issue({ parametersHash: 'sha256:abc' }), TypeError);
    await assert.rejects(issue({ scope: 'admin' as CapabilityScope }), TypeError);
    await assert.rejects(issue({ scope: 'send read' as CapabilityScope }), TypeError);
    await assert.rejects(issue({ tool: '' }), TypeError);
  });
});

describe('verifyCapability', () => {
  it('accepts the capability for exactly its tool, parameters and scope, and returns its claims', async () => {
    const issued = await issue();
    const result = await verify(issued.token);
    assert.equal(result.valid, true);
    assert.ok(result.valid);
    assert.equal(result.claims.jti, issued.jti);
    assert.equal(result.claims.aarm.receipt, 'rcpt-1');
    assert.equal((await verify(issued.token, { parameters: undefined, parametersHash: hashOf(PARAMS) })).valid, true);
  });

  it('works offline with the keys of a JWKS (GET /v1/keys)', async () => {
    const issued = await issue();
    const offline = publicKeysFromJwks({ keys: [publicJwk(key.publicKey)] });
    assert.equal((await verify(issued.token, { keys: offline })).valid, true);
  });

  it('hashes canonically: the key order of the parameters does not matter', async () => {
    const issued = await issue({ parametersHash: hashOf({ a: 1, b: { x: [1, 2], y: 'z' } }) });
    const result = await verify(issued.token, { parameters: { b: { y: 'z', x: [1, 2] }, a: 1 } });
    assert.equal(result.valid, true);
  });

  it('refuses other parameters: another value, an extra or missing member, another type, array order', async () => {
    const issued = await issue();
    const others: unknown[] = [
      { ...PARAMS, path: '/etc/shadow' },
      { ...PARAMS, extra: true },
      { path: PARAMS.path },
      { ...PARAMS, options: { ...PARAMS.options, lines: '10' } },
      {},
      [PARAMS],
    ];
    for (const parameters of others)
      assert.deepEqual(await verify(issued.token, { parameters }), { valid: false, reason: 'wrong_parameters' });
    const arrays = await issue({ parametersHash: hashOf({ ids: [1, 2] }) });
    assert.deepEqual(await verify(arrays.token, { parameters: { ids: [2, 1] } }), {
      valid: false,
      reason: 'wrong_parameters',
    });
  });

  it('refuses when no parameters are given, or the hash and the parameters disagree', async () => {
    const issued = await issue();
    assert.deepEqual(await verify(issued.token, { parameters: undefined }), {
      valid: false,
      reason: 'wrong_parameters',
    });
    assert.deepEqual(await verify(issued.token, { parametersHash: hashOf({ other: 1 }) }), {
      valid: false,
      reason: 'wrong_parameters',
    });
    assert.deepEqual(await verify(issued.token, { parameters: { bad: Number.NaN } }), {
      valid: false,
      reason: 'wrong_parameters',
    });
  });

  it('refuses another tool', async () => {
    const issued = await issue();
    assert.deepEqual(await verify(issued.token, { tool: 'files.write' }), { valid: false, reason: 'wrong_tool' });
    assert.deepEqual(await verify(issued.token, { tool: 'files.read ' }), { valid: false, reason: 'wrong_tool' });
  });

  it('scopes match exactly: a read capability never authorises a write, a write never a delete', async () => {
    for (const granted of CAPABILITY_SCOPES) {
      const issued = await issue({ scope: granted });
      for (const asked of CAPABILITY_SCOPES) {
        const result = await verify(issued.token, { scope: asked });
        if (asked === granted) assert.equal(result.valid, true, `${granted} for ${asked}`);
        else assert.deepEqual(result, { valid: false, reason: 'wrong_scope' }, `${granted} for ${asked}`);
      }
    }
  });

  it('a union satisfies a check for each of its scopes and for nothing else', async () => {
    const issued = await issue({ scope: scopeForOperation('read', ['read', 'send']) });
    assert.equal(segments(issued.token).payload.aarm.scope, 'read send');
    for (const asked of CAPABILITY_SCOPES) {
      const result = await verify(issued.token, { scope: asked });
      if (asked === 'read' || asked === 'send') assert.equal(result.valid, true, asked);
      else assert.deepEqual(result, { valid: false, reason: 'wrong_scope' }, asked);
    }
    // The union itself is not a scope one asks for.
    assert.deepEqual(await verify(issued.token, { scope: 'read send' }), { valid: false, reason: 'wrong_scope' });
  });

  it('a capability of scope "none" satisfies no scope check', async () => {
    const issued = await issue({ operation: 'frobnicate', scope: scopeForOperation('frobnicate') });
    for (const asked of CAPABILITY_SCOPES)
      assert.deepEqual(await verify(issued.token, { scope: asked }), { valid: false, reason: 'wrong_scope' });
    assert.deepEqual(await verify(issued.token, { scope: 'none' }), { valid: false, reason: 'wrong_scope' });
    assert.deepEqual(await verify(issued.token, { scope: 'admin' }), { valid: false, reason: 'wrong_scope' });
    // A verifier that asks no scope does not check it (tools that enforce least privilege always ask).
    assert.equal((await verify(issued.token, { scope: undefined })).valid, true);
  });

  it('is refused once expired and before it is valid; the tolerance widens both ends', async () => {
    const issued = await issue({ ttlSeconds: 60 });
    const { exp, nbf } = segments(issued.token).payload;
    assert.equal((await verify(issued.token, { now: new Date(exp * 1000 - 1) })).valid, true);
    assert.deepEqual(await verify(issued.token, { now: new Date(exp * 1000) }), { valid: false, reason: 'expired' });
    assert.deepEqual(await verify(issued.token, { now: at(3_600_000) }), { valid: false, reason: 'expired' });
    assert.equal((await verify(issued.token, { now: new Date(nbf * 1000) })).valid, true);
    assert.deepEqual(await verify(issued.token, { now: new Date(nbf * 1000 - 1) }), {
      valid: false,
      reason: 'not_yet_valid',
    });
    assert.equal(
      (await verify(issued.token, { now: new Date(exp * 1000 + 4000), clockToleranceSeconds: 5 })).valid,
      true,
    );
    assert.equal(
      (await verify(issued.token, { now: new Date(nbf * 1000 - 4000), clockToleranceSeconds: 5 })).valid,
      true,
    );
  });

  it('a capability issued for the future is not yet valid', async () => {
    const issued = await issue({ now: at(120_000) });
    assert.deepEqual(await verify(issued.token, { now: T0 }), { valid: false, reason: 'not_yet_valid' });
  });

  it('refuses a signature by another key under the same kid', async () => {
    const other = generateSigningKey();
    const forged = await issue({}, { kid: key.kid, privateKey: other.privateKey, publicKey: other.publicKey });
    assert.deepEqual(await verify(forged.token), { valid: false, reason: 'bad_signature' });
  });

  it('refuses a key it does not know, and a token without kid', async () => {
    const other = generateSigningKey();
    assert.deepEqual(await verify((await issue({}, other)).token), { valid: false, reason: 'unknown_key' });
    const { payload, signature } = segments((await issue()).token);
    const noKid = `${b64({ alg: 'EdDSA', typ: CAPABILITY_TYP })}.${b64(payload)}.${signature}`;
    assert.deepEqual(await verify(noKid), { valid: false, reason: 'unknown_key' });
  });

  it('refuses a tampered payload or header, whatever was changed', async () => {
    const issued = await issue();
    const { header, payload, signature } = segments(issued.token);
    const h = issued.token.split('.')[0];
    const tampered = [
      { ...payload, exp: payload.exp + 3600 },
      { ...payload, aud: 'files.write', aarm: { ...payload.aarm, tool: 'files.write' } },
      { ...payload, aarm: { ...payload.aarm, scope: 'write' } },
      { ...payload, aarm: { ...payload.aarm, params: hashOf({ path: '/etc/shadow' }) } },
    ];
    for (const p of tampered)
      assert.deepEqual(await verify(`${h}.${b64(p)}.${signature}`), { valid: false, reason: 'bad_signature' });
    // The header is signed too: another typ spelling of the same header breaks the signature.
    const reordered = `${b64({ kid: header.kid, typ: header.typ, alg: header.alg })}.${issued.token.split('.')[1]}.${signature}`;
    assert.deepEqual(await verify(reordered), { valid: false, reason: 'bad_signature' });
    // A flipped signature bit.
    const sig = Buffer.from(signature, 'base64url');
    sig[0]! ^= 1;
    assert.deepEqual(await verify(`${h}.${issued.token.split('.')[1]}.${sig.toString('base64url')}`), {
      valid: false,
      reason: 'bad_signature',
    });
  });

  it('accepts only EdDSA: alg none, HS256 (keyed with the public key), Ed25519 and ES256 headers are refused', async () => {
    const { payload } = segments((await issue()).token);
    const none = `${b64({ alg: 'none', typ: CAPABILITY_TYP, kid: key.kid })}.${b64(payload)}.`;
    assert.deepEqual(await verify(none), { valid: false, reason: 'bad_signature' });
    const publicBytes = key.publicKey.export({ format: 'der', type: 'spki' });
    const hs256 = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: CAPABILITY_TYP, kid: key.kid })
      .sign(new Uint8Array(publicBytes));
    assert.deepEqual(await verify(hs256), { valid: false, reason: 'bad_signature' });
    const ed25519 = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'Ed25519', typ: CAPABILITY_TYP, kid: key.kid })
      .sign(key.privateKey);
    assert.deepEqual(await verify(ed25519), { valid: false, reason: 'bad_signature' });
  });

  it('refuses other JWTs signed by the same key: typ "JWT", no typ, a receipt as JWT, another issuer', async () => {
    const { payload } = segments((await issue()).token);
    const asJwt = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: key.kid })
      .sign(key.privateKey);
    assert.deepEqual(await verify(asJwt), { valid: false, reason: 'not_a_capability' });
    const noTyp = await new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).sign(key.privateKey);
    assert.deepEqual(await verify(noTyp), { valid: false, reason: 'not_a_capability' });
    const receipt = signReceipt({ receipt_id: 'rcpt-1', kind: 'decision', decision: 'ALLOW' } as any, key);
    const receiptJwt = await new SignJWT({ ...receipt, iss: 'arbiter', aud: 'files.read' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'aarm-receipt+jwt', kid: key.kid })
      .sign(key.privateKey);
    assert.deepEqual(await verify(receiptJwt), { valid: false, reason: 'not_a_capability' });
    const otherIssuer = await new SignJWT({ ...payload, iss: 'someone-else' })
      .setProtectedHeader({ alg: 'EdDSA', typ: CAPABILITY_TYP, kid: key.kid })
      .sign(key.privateKey);
    assert.deepEqual(await verify(otherIssuer), { valid: false, reason: 'not_a_capability' });
  });

  it('refuses a correctly signed capability with missing or mistyped claims, or extra header members', async () => {
    const { payload } = segments((await issue()).token);
    const signed = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', typ: CAPABILITY_TYP, kid: key.kid, ...header })
        .sign(key.privateKey);
    const { aarm, ...noAarm } = payload;
    const { jti: _j, ...noJti } = payload;
    const { exp: _e, ...noExp } = payload;
    const broken = [
      noAarm,
      noJti,
      noExp,
      { ...payload, aud: ['files.read'] },
      { ...payload, exp: '9999999999' },
      { ...payload, aarm: { ...aarm, scope: 'admin' } },
      { ...payload, aarm: { ...aarm, scope: 'send read' } },
      { ...payload, aarm: { ...aarm, scope: ['read'] } },
      { ...payload, aarm: { ...aarm, params: 'md5:x' } },
    ];
    for (const claims of broken)
      assert.deepEqual(await verify(await signed(claims)), { valid: false, reason: 'malformed' });
    assert.deepEqual(await verify(await signed(payload, { jku: 'https://evil.example/jwks' })), {
      valid: false,
      reason: 'malformed',
    });
  });

  it('refuses what is not a compact JWS at all', async () => {
    const receipt = JSON.stringify(signReceipt({ receipt_id: 'r' } as any, key));
    for (const token of ['', 'abc', 'a.b', 'a.b.c', '...', receipt, `${'a'.repeat(9000)}.b.c`]) {
      assert.deepEqual(await verify(token), { valid: false, reason: 'malformed' }, token.slice(0, 20));
    }
  });

  it('refuses a capability of another tenant when the tenant is asked', async () => {
    const issued = await issue({ tenant: 'acme' });
    assert.equal((await verify(issued.token, { tenant: 'acme' })).valid, true);
    assert.deepEqual(await verify(issued.token, { tenant: 'globex' }), { valid: false, reason: 'wrong_tenant' });
  });
});

describe('redeemCapability: once only', () => {
  it('the second use is already_used; plain verification stays valid until exp', async () => {
    const redemptions = new MemoryCapabilityRedemptions(() => T0.getTime());
    const issued = await issue();
    const args = {
      token: issued.token,
      tool: 'files.read',
      parameters: PARAMS,
      scope: 'read',
      now: at(1000),
      keys,
      redemptions,
    };
    assert.equal((await redeemCapability(args)).valid, true);
    assert.deepEqual(await redeemCapability(args), { valid: false, reason: 'already_used' });
    assert.deepEqual(await redeemCapability({ ...args, now: at(30_000) }), { valid: false, reason: 'already_used' });
    assert.equal((await verify(issued.token, { now: at(59_000) })).valid, true);
    assert.deepEqual(await verify(issued.token, { now: at(61_000) }), { valid: false, reason: 'expired' });
    assert.deepEqual(await redeemCapability({ ...args, now: at(61_000) }), { valid: false, reason: 'expired' });
  });

  it('a refused attempt does not use the capability up', async () => {
    const redemptions = new MemoryCapabilityRedemptions(() => at(1000).getTime());
    const issued = await issue();
    const args = {
      token: issued.token,
      tool: 'files.read',
      parameters: PARAMS,
      scope: 'read',
      now: at(1000),
      keys,
      redemptions,
    };
    assert.deepEqual(await redeemCapability({ ...args, parameters: { path: '/etc/shadow' } }), {
      valid: false,
      reason: 'wrong_parameters',
    });
    assert.deepEqual(await redeemCapability({ ...args, scope: 'write' }), { valid: false, reason: 'wrong_scope' });
    assert.equal((await redeemCapability(args)).valid, true);
  });

  it('of 10 concurrent redemptions of one capability exactly one is valid', async () => {
    const redemptions = new MemoryCapabilityRedemptions(() => at(1000).getTime());
    const issued = await issue();
    const args = {
      token: issued.token,
      tool: 'files.read',
      parameters: PARAMS,
      scope: 'read',
      now: at(1000),
      keys,
      redemptions,
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => redeemCapability(args)));
    assert.equal(results.filter((r) => r.valid).length, 1);
    assert.equal(results.filter((r) => !r.valid && r.reason === 'already_used').length, 9);
  });

  it('of 10 concurrent redeems of one jti exactly one is first', async () => {
    const redemptions = new MemoryCapabilityRedemptions();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => redemptions.redeem('jti-1', Date.now() + 60_000)),
    );
    assert.equal(results.filter((r) => r === 'first').length, 1);
    assert.equal(results.filter((r) => r === 'again').length, 9);
  });

  it('the in-memory set forgets jtis once their capability has expired', async () => {
    let now = T0.getTime();
    const redemptions = new MemoryCapabilityRedemptions(() => now);
    assert.equal(await redemptions.redeem('a', now + 60_000), 'first');
    assert.equal(await redemptions.redeem('b', now + 1_000), 'first');
    assert.equal(redemptions.size, 2);
    now += 5_000;
    assert.equal(await redemptions.redeem('a', now + 55_000), 'again');
    assert.equal(redemptions.size, 1);
    await assert.rejects(redemptions.redeem('', now), TypeError);
  });
});

describe('verifyCapabilityRequest (POST /v1/capabilities/verify)', () => {
  const deps = (overrides: Partial<CapabilityVerifyDeps> = {}): CapabilityVerifyDeps & { events: unknown[] } => {
    const events: unknown[] = [];
    return {
      capabilityKeys: keys,
      // The redemption set runs on the same clock as verification (as in the service).
      redemptions: new MemoryCapabilityRedemptions(() => at(1000).getTime()),
      clock: () => at(1000),
      onCapabilityCheck: (e) => events.push(e),
      events,
      ...overrides,
    };
  };

  it('answers valid with the claims, then already_used when redeemed twice, and logs each check', async () => {
    const d = deps();
    const issued = await issue();
    const body = { capability: issued.token, tool: 'files.read', parameters: PARAMS, scope: 'read', redeem: true };
    const first = await verifyCapabilityRequest(d, body);
    assert.equal(first.valid, true);
    assert.ok(first.valid);
    assert.equal((first.claims as CapabilityClaims).jti, issued.jti);
    assert.deepEqual(await verifyCapabilityRequest(d, body), { valid: false, reason: 'already_used' });
    assert.deepEqual(d.events, [
      {
        valid: true,
        redeem: true,
        tool: 'files.read',
        scope: 'read',
        jti: issued.jti,
        action: 'act-1',
        session: 's-1',
        tenant: 'default',
      },
      { valid: false, reason: 'already_used', redeem: true, tool: 'files.read', scope: 'read' },
    ]);
  });

  it('without redeem only verifies', async () => {
    const d = deps();
    const issued = await issue();
    const body = { capability: issued.token, tool: 'files.read', parameters: PARAMS };
    assert.equal((await verifyCapabilityRequest(d, body)).valid, true);
    assert.equal((await verifyCapabilityRequest(d, body)).valid, true);
  });

  it('without redeem refuses a capability that was redeemed before (single use for every verifier)', async () => {
    const d = deps();
    const issued = await issue();
    const body = { capability: issued.token, tool: 'files.read', parameters: PARAMS };
    assert.equal((await verifyCapabilityRequest(d, { ...body, redeem: true })).valid, true);
    assert.deepEqual(await verifyCapabilityRequest(d, body), { valid: false, reason: 'already_used' });
  });

  it('answers 503 (store_unavailable) when it cannot tell whether the capability was used', async () => {
    const broken: CapabilityRedemptions = {
      redeem: async () => 'first',
      used: async () => Promise.reject(new Error('redis down')),
    };
    const issued = await issue();
    const body = { capability: issued.token, tool: 'files.read', parameters: PARAMS };
    await assert.rejects(
      verifyCapabilityRequest(deps({ redemptions: broken }), body),
      (err: unknown) => err instanceof ArbiterError && err.code === 'store_unavailable',
    );
  });

  it('refuses a capability bound to another caller of the same tenant, without using it up', async () => {
    const d = deps();
    const issued = await issue({ holder: 'pep-a' });
    const body = { capability: issued.token, tool: 'files.read', parameters: PARAMS, redeem: true };
    for (const redeem of [false, true]) {
      assert.deepEqual(await verifyCapabilityRequest(d, { ...body, redeem }, { tenant: 'default', subject: 'pep-b' }), {
        valid: false,
        reason: 'wrong_caller',
      });
    }
    assert.equal((await verifyCapabilityRequest(d, body, { tenant: 'default', subject: 'pep-a' })).valid, true);
  });

  it('refuses a capability of another tenant than the caller’s, without using it up', async () => {
    const d = deps();
    const issued = await issue({ tenant: 'acme' });
    const body = { capability: issued.token, tool: 'files.read', parameters: PARAMS, redeem: true };
    assert.deepEqual(await verifyCapabilityRequest(d, body, { tenant: 'globex' }), {
      valid: false,
      reason: 'wrong_tenant',
    });
    assert.equal((await verifyCapabilityRequest(d, body, { tenant: 'acme' })).valid, true);
  });

  it('answers 400 for a body it cannot judge: no parameters, unknown scope, "none" as scope, wrong types', async () => {
    const issued = await issue();
    const bad: unknown[] = [
      { capability: issued.token, tool: 'files.read' },
      { capability: issued.token, tool: 'files.read', parameters: PARAMS, scope: 'admin' },
      { capability: issued.token, tool: 'files.read', parameters: PARAMS, scope: 'none' },
      { capability: issued.token, tool: 'files.read', parameters: PARAMS, redeem: 'yes' },
      { capability: '', tool: 'files.read', parameters: {} },
      { tool: 'files.read', parameters: {} },
      [],
    ];
    for (const body of bad) {
      await assert.rejects(
        verifyCapabilityRequest(deps(), body),
        (err: unknown) => err instanceof ArbiterError && err.status === 400,
      );
    }
  });

  it('answers 503 (store_unavailable) when the redemption cannot be recorded', async () => {
    const broken: CapabilityRedemptions = { redeem: async () => Promise.reject(new Error('redis down')) };
    const issued = await issue();
    const body = { capability: issued.token, tool: 'files.read', parameters: PARAMS, redeem: true };
    await assert.rejects(
      verifyCapabilityRequest(deps({ redemptions: broken }), body),
      (err: unknown) => err instanceof ArbiterError && err.code === 'store_unavailable' && err.status === 503,
    );
  });
});

describe('HmacCredentialBroker: a downstream credential limited to the action', () => {
  const secret = randomBytes(32);
  const claimsOf = async (overrides: Partial<IssueCapabilityArgs> = {}) => {
    const result = await verify((await issue(overrides)).token, { scope: undefined });
    assert.ok(result.valid);
    return result.claims;
  };
  const downstream = (credential: string, overrides: Partial<Parameters<typeof verifyDownstreamCredential>[0]> = {}) =>
    verifyDownstreamCredential({
      credential,
      secret,
      audience: 'files-backend',
      tool: 'files.read',
      scope: 'read',
      parameters: PARAMS,
      now: at(2000),
      ...overrides,
    });

  it('exchanges a capability for a credential valid for exactly its tool, scope and parameters', async () => {
    const broker = new HmacCredentialBroker({
      secret,
      audience: 'files-backend',
      ttlSeconds: 30,
      clock: () => at(1000),
    });
    const claims = await claimsOf();
    const exchanged = await broker.exchange(claims);
    assert.equal(exchanged.scope, 'read');
    assert.ok(Date.parse(exchanged.expiresAt) <= claims.exp * 1000);
    const ok = await downstream(exchanged.credential);
    assert.ok(ok.valid);
    assert.equal(ok.claims.cap, claims.jti);
    assert.equal(ok.claims.action, 'act-1');
    assert.deepEqual(await downstream(exchanged.credential, { scope: 'write' }), {
      valid: false,
      reason: 'wrong_scope',
    });
    assert.deepEqual(await downstream(exchanged.credential, { tool: 'files.delete' }), {
      valid: false,
      reason: 'wrong_tool',
    });
    assert.deepEqual(await downstream(exchanged.credential, { parameters: { path: '/etc/shadow' } }), {
      valid: false,
      reason: 'wrong_parameters',
    });
    assert.deepEqual(await downstream(exchanged.credential, { audience: 'payments-backend' }), {
      valid: false,
      reason: 'wrong_audience',
    });
    assert.deepEqual(await downstream(exchanged.credential, { secret: randomBytes(32) }), {
      valid: false,
      reason: 'bad_signature',
    });
    assert.deepEqual(await downstream(exchanged.credential, { now: at(40_000) }), { valid: false, reason: 'expired' });
  });

  it('never outlives the capability', async () => {
    const broker = new HmacCredentialBroker({
      secret,
      audience: 'files-backend',
      ttlSeconds: 3600,
      clock: () => at(1000),
    });
    const claims = await claimsOf({ ttlSeconds: 10 });
    const exchanged = await broker.exchange(claims);
    assert.equal(Date.parse(exchanged.expiresAt), claims.exp * 1000);
    const late = new HmacCredentialBroker({
      secret,
      audience: 'files-backend',
      clock: () => new Date(claims.exp * 1000),
    });
    await assert.rejects(late.exchange(claims), /expired/);
  });

  it('a credential of a union scope serves each of its scopes and nothing else', async () => {
    const broker = new HmacCredentialBroker({ secret, audience: 'files-backend', clock: () => at(1000) });
    const exchanged = await broker.exchange(await claimsOf({ scope: 'read send' }));
    assert.equal(exchanged.scope, 'read send');
    for (const scope of ['read', 'send']) assert.equal((await downstream(exchanged.credential, { scope })).valid, true);
    for (const scope of ['write', 'read send', 'none'])
      assert.deepEqual(await downstream(exchanged.credential, { scope }), { valid: false, reason: 'wrong_scope' });
  });

  it('issues nothing for a capability of scope "none", and refuses a short secret', async () => {
    const broker = new HmacCredentialBroker({ secret, audience: 'files-backend', clock: () => at(1000) });
    await assert.rejects(broker.exchange(await claimsOf({ operation: undefined, scope: 'none' })), /no scope/);
    assert.throws(() => new HmacCredentialBroker({ secret: randomBytes(16), audience: 'x' }), TypeError);
  });
});

describe('binding to the caller that asked (azp)', () => {
  it('is signed into the token and checked only when the verifier names a caller', async () => {
    const issued = await issue({ holder: 'pep-a' });
    assert.equal(segments(issued.token).payload.azp, 'pep-a');
    assert.equal((await verify(issued.token, { holder: 'pep-a' })).valid, true);
    assert.deepEqual(await verify(issued.token, { holder: 'pep-b' }), { valid: false, reason: 'wrong_caller' });
    // Offline verification by the tool itself names no caller.
    assert.equal((await verify(issued.token)).valid, true);
    // Issued without a verified caller (ARBITER_AUTH=off): any caller of the tenant.
    assert.equal((await verify((await issue()).token, { holder: 'pep-b' })).valid, true);
  });

  it('capabilityHeldBy hands a bound capability only to its caller, and garbage to nobody', async () => {
    const bound = await issue({ holder: 'pep-a' });
    assert.equal(capabilityHeldBy(bound.token, 'pep-a'), true);
    assert.equal(capabilityHeldBy(bound.token, 'pep-b'), false);
    assert.equal(capabilityHeldBy((await issue()).token, 'pep-b'), true);
    assert.equal(capabilityHeldBy('not.a.token', 'pep-a'), false);
  });

  it('checkUnredeemed: valid until redeemed, then already_used, and never uses anything up', async () => {
    const redemptions = new MemoryCapabilityRedemptions(() => at(1000).getTime());
    const issued = await issue();
    const args = { token: issued.token, tool: 'files.read', parameters: PARAMS, now: at(1000), keys, redemptions };
    assert.equal((await checkUnredeemed(args)).valid, true);
    assert.equal((await checkUnredeemed(args)).valid, true);
    assert.equal(await redemptions.used(issued.jti), false);
    assert.equal((await redeemCapability(args)).valid, true);
    assert.equal(await redemptions.used(issued.jti), true);
    assert.deepEqual(await checkUnredeemed(args), { valid: false, reason: 'already_used' });
    // A refused check does not even ask the store.
    assert.deepEqual(await checkUnredeemed({ ...args, tool: 'db.drop' }), { valid: false, reason: 'wrong_tool' });
  });
});

describe('grantCapability: what a decision grants', () => {
  const deps = {
    signingKey: key,
    capabilityTtlSeconds: 30,
    policy: { data: { aarm: { catalog: { tools: { 'db.query': { operation: 'read' } } } } } },
  };
  const grant = {
    agent: 'agent-1',
    tenant: 'default',
    sessionId: 's-1',
    actionId: 'act-1',
    tool: 'db.query',
    operation: 'read',
    parametersHash: hashOf({ sql: 'select 1', limit: 5000 }),
    receiptId: 'rcpt-1',
    now: T0,
  };
  const verifyGrant = (token: string, parameters: unknown, scope = 'read') =>
    verifyCapability({ token, tool: 'db.query', parameters, scope, now: at(1000), keys });

  it('ALLOW: bound to the parameters as asked, with the TTL and the receipt block', async () => {
    const granted = await grantCapability(deps, { ...grant, decision: 'ALLOW' });
    assert.ok(granted);
    assert.equal((await verifyGrant(granted.token, { limit: 5000, sql: 'select 1' })).valid, true);
    assert.deepEqual(granted.receipt, {
      jti: granted.jti,
      scope: 'read',
      params: grant.parametersHash,
      expires_at: granted.expiresAt,
    });
    assert.equal(segments(granted.token).payload.exp - segments(granted.token).payload.iat, 31);
  });

  it('MODIFY: bound to the modified parameters, not to those asked', async () => {
    const modified = { sql: 'select 1', limit: 100 };
    const granted = await grantCapability(deps, { ...grant, decision: 'MODIFY', modifiedParameters: modified });
    assert.ok(granted);
    assert.equal((await verifyGrant(granted.token, modified)).valid, true);
    assert.deepEqual(await verifyGrant(granted.token, { sql: 'select 1', limit: 5000 }), {
      valid: false,
      reason: 'wrong_parameters',
    });
    assert.equal(granted.receipt.params, hashOf(modified));
  });

  it('binds the capability to the caller that asked, when one is named', async () => {
    const granted = await grantCapability(deps, { ...grant, decision: 'ALLOW', holder: 'pep-a' });
    assert.ok(granted);
    assert.equal(segments(granted.token).payload.azp, 'pep-a');
    const unbound = await grantCapability(deps, { ...grant, decision: 'ALLOW' });
    assert.equal(segments(unbound!.token).payload.azp, undefined);
  });

  it('DENY, STEP_UP and DEFER grant nothing', async () => {
    for (const decision of ['DENY', 'STEP_UP', 'DEFER'])
      assert.equal(await grantCapability(deps, { ...grant, decision }), undefined);
  });

  it('grant and pay get scopes of their own, and a tool doing several operations their union', async () => {
    const catalogued = {
      ...deps,
      policy: {
        data: {
          aarm: {
            catalog: {
              tools: {
                'drive.share': { operation: 'grant' },
                'payments.transfer': { operation: 'pay' },
                'files.sync': { operation: ['send', 'read'] },
              },
            },
          },
        },
      },
    };
    const cases: [string, string | undefined, string][] = [
      ['drive.share', 'grant', 'grant'],
      ['drive.share', undefined, 'grant'],
      ['drive.share', 'write', 'none'],
      ['payments.transfer', 'pay', 'pay'],
      ['payments.transfer', 'write', 'none'],
      ['files.sync', 'read', 'read send'],
      ['files.sync', undefined, 'read send'],
      ['files.sync', 'write', 'none'],
    ];
    for (const [tool, operation, scope] of cases) {
      const granted = await grantCapability(catalogued, { ...grant, tool, operation, decision: 'ALLOW' });
      assert.ok(granted);
      assert.equal(granted.scope, scope, `${tool} declared ${operation}`);
      assert.equal(granted.receipt.scope, scope);
      const params = { sql: 'select 1', limit: 5000 };
      for (const asked of CAPABILITY_SCOPES) {
        const result = await verifyCapability({
          token: granted.token,
          tool,
          parameters: params,
          scope: asked,
          now: at(1000),
          keys,
        });
        assert.equal(result.valid, scopesOf(scope)!.includes(asked), `${tool} ${scope} asked ${asked}`);
      }
    }
  });

  it('an operation the catalogue contradicts gets scope "none"', async () => {
    const granted = await grantCapability(deps, { ...grant, decision: 'ALLOW', operation: 'write' });
    assert.ok(granted);
    assert.equal(granted.scope, 'none');
    for (const scope of CAPABILITY_SCOPES) {
      assert.deepEqual(await verifyGrant(granted.token, { sql: 'select 1', limit: 5000 }, scope), {
        valid: false,
        reason: 'wrong_scope',
      });
    }
  });
});
