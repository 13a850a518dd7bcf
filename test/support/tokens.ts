/**
 * A test-only token issuer: real asymmetric keys, real JWTs, a JWKS as a file or served
 * over real HTTP, so token verification is tested end to end and never mocked.
 */
import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export type TestAlg = 'EdDSA' | 'ES256';

export interface SignOptions {
  /** Seconds from now (a number) or a jose duration ("5m", "-1 min"). Default: 5 minutes. */
  expiresIn?: string | number;
  /** Seconds from now (a number) or a jose duration. Default: no `nbf`. */
  notBefore?: string | number;
  /** `iat` as epoch seconds. Default: now. */
  issuedAt?: number;
  issuer?: string;
  audience?: string;
  /** Merged into the protected header (may override `kid`, `typ`, …). */
  header?: Record<string, unknown>;
}

export interface TestIssuer {
  readonly alg: TestAlg;
  readonly kid: string;
  /** The public key set. */
  jwks(): { keys: JWK[] };
  /**
   * Signs `claims`. `iat`, `exp` and `nbf` come from the options unless `claims` names them;
   * a claim given as `undefined` is left out (so `{ iat: undefined }` makes a token without `iat`).
   */
  sign(claims: Record<string, unknown>, opts?: SignOptions): Promise<string>;
  /** Writes the public key set as `name` (default `jwks.json`) in `dir`, atomically; returns the path. */
  writeJwksFile(dir: string, name?: string): Promise<string>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function relative(value: string | number): string | number {
  return typeof value === 'number' ? nowSeconds() + value : value;
}

export async function createTestIssuer(options: { alg?: TestAlg; kid?: string } = {}): Promise<TestIssuer> {
  const alg = options.alg ?? 'EdDSA';
  const kid = options.kid ?? `test-${randomBytes(6).toString('hex')}`;
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const jwks = () => ({ keys: [{ ...publicJwk }] });
  return {
    alg,
    kid,
    jwks,
    sign: (claims, opts = {}) => signWith(privateKey, alg, kid, claims, opts),
    writeJwksFile: (dir, name = 'jwks.json') => writeJwks(join(dir, name), jwks()),
  };
}

async function signWith(
  key: CryptoKey,
  alg: TestAlg,
  kid: string,
  claims: Record<string, unknown>,
  opts: SignOptions,
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg, kid, ...opts.header } as { alg: string });
  if (!('iat' in claims)) jwt.setIssuedAt(opts.issuedAt ?? nowSeconds());
  if (!('exp' in claims)) jwt.setExpirationTime(relative(opts.expiresIn ?? 300));
  if (!('nbf' in claims) && opts.notBefore !== undefined) jwt.setNotBefore(relative(opts.notBefore));
  if (opts.issuer !== undefined) jwt.setIssuer(opts.issuer);
  if (opts.audience !== undefined) jwt.setAudience(opts.audience);
  return jwt.sign(key);
}

/** Several issuers' public keys in one set (a rotation overlap, a multi-issuer file). */
export function combinedJwks(...issuers: TestIssuer[]): { keys: JWK[] } {
  return { keys: issuers.flatMap((i) => i.jwks().keys) };
}

/** Writes a key set atomically (temp file + rename), as a careful operator's rotation would. */
export async function writeJwks(path: string, jwks: unknown): Promise<string> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(jwks));
  await rename(tmp, path);
  return path;
}

/** Serves `getJwks()` as JSON over real HTTP on 127.0.0.1 (an ephemeral port), counting requests. */
export async function serveJwks(
  getJwks: () => unknown,
): Promise<{ url: string; close(): Promise<void>; hits(): number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    const body = JSON.stringify(getJwks());
    res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    hits: () => hits,
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      })),
  };
}

/** The environment of an Arbiter that verifies callers with this issuer's keys (written into `dir`). */
export async function jwtEnv(
  idp: TestIssuer,
  dir: string,
  claims: { issuer: string; audience: string },
): Promise<Record<string, string>> {
  return {
    ARBITER_AUTH: 'jwt',
    ARBITER_JWKS_FILE: await idp.writeJwksFile(dir),
    ARBITER_JWT_ISSUER: claims.issuer,
    ARBITER_JWT_AUDIENCE: claims.audience,
  };
}
