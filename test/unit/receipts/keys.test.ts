import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint } from 'jose';
import {
  exportKeyPairPem,
  generateSigningKey,
  kidOf,
  loadSigningKey,
  publicJwk,
  publicKeysFromJwks,
} from '../../../services/decision/src/receipts/keys.js';

/** RFC 8037 Appendix A.1 key and A.3 thumbprint. */
const RFC8037_JWK = {
  kty: 'OKP',
  crv: 'Ed25519',
  d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
  x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
};
const RFC8037_THUMBPRINT = 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k';

describe('kidOf', () => {
  it('is the RFC 7638 thumbprint of RFC 8037 Appendix A.3', () => {
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: RFC8037_JWK.x }, format: 'jwk' });
    assert.equal(kidOf(publicKey), RFC8037_THUMBPRINT);
  });

  it('agrees with jose for generated keys', async () => {
    const key = generateSigningKey();
    assert.equal(key.kid, kidOf(key.publicKey));
    assert.equal(key.kid, await calculateJwkThumbprint(publicJwk(key.publicKey), 'sha256'));
    assert.notEqual(generateSigningKey().kid, key.kid);
  });

  it('refuses private keys and other key types', () => {
    assert.throws(() => kidOf(generateSigningKey().privateKey), /Ed25519 public key/);
    assert.throws(() => kidOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey), /Ed25519 public key/);
  });
});

describe('loadSigningKey and exportKeyPairPem', () => {
  it('round-trips a generated key through PKCS#8 / SPKI PEM', () => {
    const key = generateSigningKey();
    const { privatePem, publicPem } = exportKeyPairPem(key);
    assert.match(privatePem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(publicPem, /^-----BEGIN PUBLIC KEY-----\n/);
    const loaded = loadSigningKey(privatePem);
    assert.equal(loaded.kid, key.kid);
    assert.ok(loaded.publicKey.equals(key.publicKey));
    assert.ok(createPublicKey(publicPem).equals(key.publicKey));
  });

  it('loads the RFC 8037 key and reproduces its Appendix A.4 signature', () => {
    const pem = createPrivateKey({ key: RFC8037_JWK, format: 'jwk' })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const key = loadSigningKey(pem);
    assert.equal(key.kid, RFC8037_THUMBPRINT);
    const signed = sign(null, Buffer.from('eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc'), key.privateKey);
    assert.equal(
      signed.toString('base64url'),
      'hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg',
    );
  });

  it('says clearly what is wrong with a PEM that is not an Ed25519 private key', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    assert.throws(() => loadSigningKey(ec.toString()), /must be Ed25519, not ec/);
    assert.throws(() => loadSigningKey(rsa.toString()), /must be Ed25519, not rsa/);
    assert.throws(() => loadSigningKey(exportKeyPairPem(generateSigningKey()).publicPem), /not a PEM private key/);
    assert.throws(() => loadSigningKey('not a key'), /not a PEM private key/);
  });
});

describe('publicJwk and publicKeysFromJwks', () => {
  it('publishes the public key as an EdDSA signing JWK whose kid is its thumbprint', () => {
    const key = generateSigningKey();
    const jwk = publicJwk(key.publicKey);
    assert.deepEqual(Object.keys(jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    assert.deepEqual(
      { ...jwk, x: undefined },
      { kty: 'OKP', crv: 'Ed25519', x: undefined, kid: key.kid, alg: 'EdDSA', use: 'sig' },
    );
    assert.ok(createPublicKey({ key: { ...jwk }, format: 'jwk' }).equals(key.publicKey));
  });

  it('reads every Ed25519 key of a JWKS by kid, old and new', () => {
    const old = generateSigningKey();
    const current = generateSigningKey();
    const keys = publicKeysFromJwks(
      JSON.parse(JSON.stringify({ keys: [publicJwk(old.publicKey), publicJwk(current.publicKey)] })),
    );
    assert.deepEqual([...keys.keys()], [old.kid, current.kid]);
    assert.ok(keys.get(old.kid)?.equals(old.publicKey));
    assert.ok(keys.get(current.kid)?.equals(current.publicKey));
  });

  it('skips keys of other types and names a key without kid by its thumbprint', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
    const keys = publicKeysFromJwks({
      keys: [{ ...rsa, kid: 'rsa-1' }, x25519, { kty: 'OKP', crv: 'Ed25519', x: RFC8037_JWK.x }],
    });
    assert.deepEqual([...keys.keys()], [RFC8037_THUMBPRINT]);
  });

  it('imports only the public part of an entry that carries a private key', () => {
    const keys = publicKeysFromJwks({ keys: [{ ...RFC8037_JWK, kid: 'k' }] });
    assert.equal(keys.get('k')?.type, 'public');
  });

  it('accepts the same key listed twice under one kid', () => {
    const jwk = publicJwk(generateSigningKey().publicKey);
    assert.equal(publicKeysFromJwks({ keys: [jwk, jwk] }).size, 1);
  });

  it('throws on garbage', () => {
    const good = publicJwk(generateSigningKey().publicKey);
    const other = publicJwk(generateSigningKey().publicKey);
    const cases: [unknown, RegExp][] = [
      [null, /"keys" array/],
      ['keys', /"keys" array/],
      [[good], /"keys" array/],
      [{ keys: 'x' }, /"keys" array/],
      [{ keys: [42] }, /key 0 is not a JWK/],
      [{ keys: [good, { crv: 'Ed25519' }] }, /key 1 is not a JWK/],
      [{ keys: [{ ...good, x: undefined }] }, /"x" must be 32 bytes/],
      [{ keys: [{ ...good, x: good.x.slice(1) }] }, /"x" must be 32 bytes/],
      [{ keys: [{ ...good, x: `${good.x}=` }] }, /"x" must be 32 bytes/],
      [{ keys: [{ ...good, x: `${good.x.slice(0, 42)}${good.x.endsWith('B') ? 'C' : 'B'}` }] }, /"x" must be 32 bytes/],
      [{ keys: [{ ...good, kid: 7 }] }, /"kid" must be a non-empty string/],
      [{ keys: [{ ...good, kid: '' }] }, /"kid" must be a non-empty string/],
      [{ keys: [good, { ...other, kid: good.kid }] }, /already used by a different key/],
    ];
    for (const [jwks, message] of cases) assert.throws(() => publicKeysFromJwks(jwks), message, JSON.stringify(jwks));
  });
});
