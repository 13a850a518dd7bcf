/**
 * Ed25519 keys that sign receipts. The kid is the RFC 7638 thumbprint of the public key, so
 * a verifier can check that a JWKS entry and a kid belong together, and rotation never
 * reuses a kid for a different key.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { canonicalize } from './canonical.js';
import { errorMessage } from '../errors.js';
import { isRecord } from './guards.js';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /**
   * The key of the HMAC that masks secrets in receipts (mask.ts withMaskingKey); when
   * absent, one is derived from privateKey.
   */
  maskingKey?: Buffer;
}

export interface Ed25519Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

export interface Jwks {
  keys: Ed25519Jwk[];
}

/** 32 bytes, base64url without padding (RFC 8037 §2). */
const ED25519_X = /^[A-Za-z0-9_-]{43}$/;

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kid: kidOf(publicKey), privateKey, publicKey };
}

/** Reads a PKCS#8 PEM Ed25519 private key (as written by exportKeyPairPem). */
export function loadSigningKey(pem: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new Error(`signing key is not a PEM private key: ${errorMessage(err)}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`signing key must be Ed25519, not ${privateKey.asymmetricKeyType ?? 'unknown'}`);
  }
  const publicKey = createPublicKey(privateKey);
  return { kid: kidOf(publicKey), privateKey, publicKey };
}

/**
 * The public key of a PEM file holding an Ed25519 public key (SPKI) or private key (PKCS#8):
 * how an operator names a retired key whose receipts must keep verifying.
 */
export function publicKeyFromPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  } catch (err) {
    throw new Error(`verify key is not a PEM key: ${errorMessage(err)}`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`verify key must be Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

/** RFC 7638 JWK thumbprint: base64url(SHA-256) of the required members {crv, kty, x}. */
export function kidOf(publicKey: KeyObject): string {
  return thumbprint(ed25519X(publicKey));
}

export function publicJwk(publicKey: KeyObject): Ed25519Jwk {
  const x = ed25519X(publicKey);
  return { kty: 'OKP', crv: 'Ed25519', x, kid: thumbprint(x), alg: 'EdDSA', use: 'sig' };
}

/**
 * The Ed25519 keys of a JWKS by kid (the declared kid, else the thumbprint). Other key types
 * are skipped: the same JWKS may also carry keys that serve other purposes.
 */
export function publicKeysFromJwks(jwks: unknown): Map<string, KeyObject> {
  if (!isRecord(jwks) || !Array.isArray(jwks.keys)) {
    throw new Error('JWKS must be a JSON object with a "keys" array');
  }
  const keys = new Map<string, KeyObject>();
  jwks.keys.forEach((jwk: unknown, i) => {
    const entry = readJwk(jwk, i);
    if (entry === null) return;
    const known = keys.get(entry.kid);
    if (known !== undefined && !known.equals(entry.key)) {
      throw new Error(`JWKS key ${i}: kid "${entry.kid}" is already used by a different key`);
    }
    keys.set(entry.kid, entry.key);
  });
  return keys;
}

export function exportKeyPairPem(key: SigningKey): { privatePem: string; publicPem: string } {
  return {
    privatePem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function readJwk(jwk: unknown, i: number): { kid: string; key: KeyObject } | null {
  if (!isRecord(jwk) || typeof jwk.kty !== 'string') {
    throw new Error(`JWKS key ${i} is not a JWK (an object with a string "kty")`);
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') return null;
  const { x, kid } = jwk;
  // Only the canonical encoding is accepted, so one key has exactly one thumbprint.
  if (typeof x !== 'string' || !ED25519_X.test(x) || Buffer.from(x, 'base64url').toString('base64url') !== x) {
    throw new Error(`JWKS key ${i}: "x" must be 32 bytes in base64url`);
  }
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
    throw new Error(`JWKS key ${i}: "kid" must be a non-empty string`);
  }
  // Only the public members are imported, whatever else the entry carries.
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  return { kid: kid ?? thumbprint(x), key };
}

function ed25519X(publicKey: KeyObject): string {
  if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== 'ed25519') {
    throw new Error('expected an Ed25519 public key');
  }
  const { x } = publicKey.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new Error('Ed25519 public key has no "x"');
  return x;
}

function thumbprint(x: string): string {
  // RFC 7638 §3.2 asks for sorted members and no whitespace: the JCS form of these strings.
  return createHash('sha256')
    .update(canonicalize({ crv: 'Ed25519', kty: 'OKP', x }))
    .digest('base64url');
}
