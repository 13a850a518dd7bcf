/**
 * Who is asking: verifies the caller's bearer token and the agent's own token against a
 * JWKS (a file or a URL), and turns their claims into the identity policy sees.
 *
 * Every failure is a `Verified` with a stable `problem` and a message that is safe to send:
 * it never holds the token, nor any claim but `sub` and `tenant`. Tokens are named
 * elsewhere only by `tokenHash`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { errorMessage } from '../errors.js';

export type Role = 'pep' | 'approver' | 'auditor' | 'admin';
export const ROLES: readonly Role[] = Object.freeze(['pep', 'approver', 'auditor', 'admin'] as const);

export interface VerifiedCaller {
  subject: string;
  roles: ReadonlySet<Role>;
  /** The `groups` claim: the approver groups a policy's `approvers` name. */
  groups: string[];
  tenant: string;
  jti?: string;
  tokenHash: string;
}

/** One RFC 8693 `act` level, without its nested `act`. */
export interface DelegationLink {
  sub: string;
  [claim: string]: unknown;
}

export interface AgentIdentity {
  /** `sub` */
  agent: string;
  /** `tenant` claim, else DEFAULT_TENANT */
  tenant: string;
  /** `human` claim */
  human?: string;
  /** `service` claim */
  service?: string;
  /** `role` claim */
  role?: string;
  /** `scope` (space-separated, RFC 8693 §4.2) and/or `scopes` (string array); sorted, unique */
  scopes: string[];
  /** the `act` chain, outermost first: act, act.act, … */
  delegation: DelegationLink[];
  jti?: string;
  /** "sha256:<hex>" of the raw token string: names the token without holding it */
  tokenHash: string;
  /** RFC 3339, from `iat` */
  issuedAt?: string;
  /** RFC 3339, from `exp` */
  expiresAt?: string;
}

export const DEFAULT_TENANT = 'default';

export type IdentityProblem =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'too_old'
  | 'bad_signature'
  | 'unknown_key'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'jwks_unavailable';

/** `message` is safe to show: it never contains the token. */
export type Verified<T> = { ok: true; value: T } | { ok: false; problem: IdentityProblem; message: string };

export interface TokenVerifier {
  /** Parses `Bearer <jwt>` (the scheme case-insensitively); roles come from the `roles` claim. */
  verifyCaller(authorizationHeader: string | undefined): Promise<Verified<VerifiedCaller>>;
  verifyAgent(token: string | undefined): Promise<Verified<AgentIdentity>>;
}

export interface TokenVerifierOptions {
  /** Exactly one of jwksFile and jwksUrl. */
  jwksFile?: string;
  jwksUrl?: string;
  /** Required `iss` of every token; checked when set (config.ts always sets it). */
  issuer?: string;
  /** Required `aud` of caller tokens; checked when set (config.ts always sets it). */
  audience?: string;
  /**
   * Required `aud` of agent tokens (ARBITER_AGENT_AUDIENCE), distinct from `audience` so an
   * agent's token is never taken as a caller's and the other way round. Default, when
   * `audience` is set: `<audience>:agent`.
   */
  agentAudience?: string;
  /** Tokens older than this (by `iat`) are 'too_old'; when > 0 a token without `iat` is 'malformed'. 0: no age limit. */
  maxAgeSeconds: number;
  clockToleranceSeconds: number;
  /** Bound for one JWKS URL fetch. */
  fetchTimeoutMs: number;
  /**
   * Least time between two key set reloads caused by an unknown `kid` (the re-read of the
   * file, the refetch of the URL). Default: 1 000 for a file, 30 000 (jose's default) for a URL.
   */
  jwksCooldownMs?: number;
  /** Injected clock for the token's time claims. */
  now?: () => Date;
}

/** A token longer than this is refused before anything parses it. */
export const MAX_TOKEN_BYTES = 16 * 1024;
/** `act` nested deeper than this is malformed. */
export const MAX_DELEGATION_DEPTH = 10;

/** Asymmetric signatures only: `none` and HS* never get as far as a key. */
const ALGORITHMS = [
  'EdDSA',
  'Ed25519',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
];

const FILE_COOLDOWN_MS = 1000;
const URL_COOLDOWN_MS = 30_000;

/** Three base64url segments; the signature may be empty (so `alg: none` is refused by name, below). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

type Failure = { ok: false; problem: IdentityProblem; message: string };

function fail(problem: IdentityProblem, message: string): Failure {
  return { ok: false, problem, message };
}

/** The key set could not be loaded: kept apart from token faults so it maps to 'jwks_unavailable'. */
class JwksUnavailable extends Error {
  constructor(cause: unknown) {
    super(`the key set is unavailable: ${describeFetchError(cause)}`, { cause });
    this.name = 'JwksUnavailable';
  }
}

/** A claim has the wrong shape; the message names the claim, never its value. */
class MalformedClaim extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedClaim';
  }
}

function describeFetchError(cause: unknown): string {
  const code = errorCode(cause);
  const inner = cause instanceof Error ? errorCode(cause.cause) : undefined;
  const parts = [errorMessage(cause)];
  if (code !== undefined) parts.push(code);
  if (inner !== undefined) parts.push(inner);
  return parts.join(' / ');
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function isJoseError(err: unknown, code: string): boolean {
  return err instanceof joseErrors.JOSEError && err.code === code;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJwksShape(value: unknown): value is JSONWebKeySet {
  return isObject(value) && Array.isArray(value.keys) && value.keys.every(isObject);
}

/** Checks a parsed key set: its shape, and that it holds public signature keys only. */
function validateKeySet(value: unknown, where: string): JSONWebKeySet {
  if (!isJwksShape(value))
    throw new Error(`${where} is not a JSON Web Key Set (an object with a "keys" array of objects)`);
  value.keys.forEach((key, i) => {
    if (key.kty === 'oct') throw new Error(`${where}: keys[${i}] is a symmetric key; only public keys are accepted`);
    if ('d' in key) throw new Error(`${where}: keys[${i}] is a private key; publish only public keys`);
  });
  return value;
}

/** The file's key set, re-read on an unknown `kid` (at most once per cooldown), so a rotated file is picked up. */
function fileKeySet(path: string, cooldownMs: number): JWTVerifyGetKey {
  const parse = (text: string) => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`the JWKS file ${path} is not valid JSON: ${errorMessage(err)}`);
    }
    return createLocalJWKSet(validateKeySet(json, `the JWKS file ${path}`));
  };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`the JWKS file ${path} cannot be read: ${errorMessage(err)}`);
  }
  let current = parse(text);
  let lastReload = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;

  const reload = (): Promise<void> => {
    pending ??= (async () => {
      lastReload = performance.now();
      try {
        current = parse(await readFile(path, 'utf8'));
      } catch {
        // Half-written or removed during a rotation: keep serving the keys we have.
      }
    })().finally(() => {
      pending = undefined;
    });
    return pending;
  };

  const resolve: JWTVerifyGetKey = async (header, token) => {
    try {
      return await current(header, token);
    } catch (err) {
      if (!isJoseError(err, 'ERR_JWKS_NO_MATCHING_KEY')) throw err;
      if (pending === undefined && performance.now() - lastReload < cooldownMs) throw err;
      await reload();
      return current(header, token);
    }
  };
  return unavailableUnlessKeyMiss(resolve);
}

/** A key set fault that is not about this token's key (a fetch, an unimportable key) is 'jwks_unavailable'. */
function unavailableUnlessKeyMiss(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await getKey(header, token);
    } catch (err) {
      if (isJoseError(err, 'ERR_JWKS_NO_MATCHING_KEY') || isJoseError(err, 'ERR_JWKS_MULTIPLE_MATCHING_KEYS'))
        throw err;
      throw new JwksUnavailable(err);
    }
  };
}

/** jose's remote key set (cached, refetched on an unknown `kid` after its cooldown); fetch faults become JwksUnavailable. */
function urlKeySet(url: string, timeoutMs: number, cooldownMs: number): JWTVerifyGetKey {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`the JWKS URL is not a valid URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('the JWKS URL must be http(s)');
  const remote = createRemoteJWKSet(parsed, { timeoutDuration: timeoutMs, cooldownDuration: cooldownMs });
  return unavailableUnlessKeyMiss(remote);
}

function assertNonNegative(name: string, value: number, integer = false): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a non-negative ${integer ? 'integer' : 'number'}`);
  }
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { jwksFile, jwksUrl } = options;
  if ((jwksFile === undefined || jwksFile === '') === (jwksUrl === undefined || jwksUrl === '')) {
    throw new Error('the token verifier needs exactly one of jwksFile and jwksUrl');
  }
  assertNonNegative('maxAgeSeconds', options.maxAgeSeconds);
  assertNonNegative('clockToleranceSeconds', options.clockToleranceSeconds);
  if (options.jwksCooldownMs !== undefined) assertNonNegative('jwksCooldownMs', options.jwksCooldownMs, true);

  let getKey: JWTVerifyGetKey;
  if (jwksFile) {
    getKey = fileKeySet(jwksFile, options.jwksCooldownMs ?? FILE_COOLDOWN_MS);
  } else {
    assertNonNegative('fetchTimeoutMs', options.fetchTimeoutMs, true);
    if (options.fetchTimeoutMs === 0) throw new Error('fetchTimeoutMs must be positive');
    getKey = urlKeySet(jwksUrl!, options.fetchTimeoutMs, options.jwksCooldownMs ?? URL_COOLDOWN_MS);
  }

  const audiences: Record<TokenKind, string | undefined> = {
    caller: options.audience,
    agent: options.agentAudience ?? (options.audience !== undefined ? `${options.audience}:agent` : undefined),
  };
  if (audiences.agent !== undefined && audiences.agent === audiences.caller) {
    throw new Error('agentAudience must differ from audience: an agent token would also be a caller token');
  }

  const verifyOptions = (kind: TokenKind): JWTVerifyOptions => ({
    algorithms: ALGORITHMS,
    clockTolerance: options.clockToleranceSeconds,
    ...(options.issuer !== undefined && { issuer: options.issuer }),
    ...(audiences[kind] !== undefined && { audience: audiences[kind] }),
    ...(options.maxAgeSeconds > 0 && { maxTokenAge: options.maxAgeSeconds }),
    ...(options.now !== undefined && { currentDate: options.now() }),
  });

  /** Signature and registered claims. Several keys matching a `kid`-less token are each tried. */
  async function verifyJwt(token: string, kind: TokenKind): Promise<JWTPayload> {
    const opts = verifyOptions(kind);
    try {
      return (await jwtVerify(token, getKey, opts)).payload;
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSMultipleMatchingKeys)) throw err;
      for await (const key of err) {
        try {
          return (await jwtVerify(token, key, opts)).payload;
        } catch (inner) {
          if (isJoseError(inner, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED')) continue;
          throw inner;
        }
      }
      throw new joseErrors.JWSSignatureVerificationFailed();
    }
  }

  /** Size, shape, signature, registered claims, then `sub` and `tenant`. */
  async function verifyToken(
    token: string,
    what: TokenKind,
  ): Promise<{ ok: true; payload: JWTPayload; sub: string; tenant: string; hash: string } | Failure> {
    if (token.length > MAX_TOKEN_BYTES || Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
      return fail('malformed', `the ${what} token is longer than ${MAX_TOKEN_BYTES} bytes`);
    }
    if (!COMPACT_JWS.test(token)) return fail('malformed', `the ${what} token is not a compact JWS`);
    let payload: JWTPayload;
    try {
      payload = await verifyJwt(token, what);
    } catch (err) {
      return classify(err, what);
    }
    // A token issued for both audiences would still be both: it is neither.
    const other = audiences[what === 'caller' ? 'agent' : 'caller'];
    if (other !== undefined && audienceOf(payload).includes(other)) {
      return fail(
        'wrong_audience',
        `the ${what} token is also issued for the ${what === 'caller' ? 'agent' : 'caller'} audience`,
      );
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub === '')
      return fail('malformed', `the ${what} token has no "sub" (a non-empty string)`);
    const tenant = payload.tenant ?? DEFAULT_TENANT;
    if (typeof tenant !== 'string' || tenant === '') {
      return fail('malformed', `the ${what} token of ${sub} has a "tenant" that is not a non-empty string`);
    }
    return { ok: true, payload, sub, tenant, hash: tokenHash(token) };
  }

  return {
    async verifyCaller(authorizationHeader) {
      if (authorizationHeader === undefined || authorizationHeader.trim() === '') {
        return fail('missing', 'an Authorization header with a bearer token is required');
      }
      if (authorizationHeader.length > MAX_TOKEN_BYTES + 64) {
        return fail('malformed', `the caller token is longer than ${MAX_TOKEN_BYTES} bytes`);
      }
      // Split by hand, not by a backtracking pattern: the header is attacker-chosen.
      const trimmed = authorizationHeader.trim();
      const gap = trimmed.search(/\s/);
      const scheme = gap < 0 ? trimmed : trimmed.slice(0, gap);
      if (scheme.toLowerCase() !== 'bearer') {
        return fail('malformed', 'the Authorization header must use the Bearer scheme');
      }
      const token = gap < 0 ? '' : trimmed.slice(gap).trim();
      if (token === '') return fail('missing', 'the Authorization header holds no bearer token');
      const checked = await verifyToken(token, 'caller');
      if (!checked.ok) return checked;
      const { payload, sub, tenant, hash } = checked;
      try {
        const roles = rolesOf(payload);
        const groups = groupsOf(payload);
        const jti = optionalString(payload, 'jti');
        return {
          ok: true,
          value: { subject: sub, roles, groups, tenant, ...(jti !== undefined && { jti }), tokenHash: hash },
        };
      } catch (err) {
        if (err instanceof MalformedClaim) return fail('malformed', `the caller token of ${sub}: ${err.message}`);
        throw err;
      }
    },

    async verifyAgent(token) {
      if (token === undefined || token === '') return fail('missing', 'an agent token is required');
      if (typeof token !== 'string') return fail('malformed', 'the agent token must be a string');
      const checked = await verifyToken(token, 'agent');
      if (!checked.ok) return checked;
      const { payload, sub, tenant, hash } = checked;
      try {
        rolesOf(payload); // validated for its shape, as in every token
        const human = optionalString(payload, 'human');
        const service = optionalString(payload, 'service');
        const role = optionalString(payload, 'role');
        const jti = optionalString(payload, 'jti');
        const issuedAt = rfc3339(payload.iat, 'iat');
        const expiresAt = rfc3339(payload.exp, 'exp');
        const identity: AgentIdentity = {
          agent: sub,
          tenant,
          ...(human !== undefined && { human }),
          ...(service !== undefined && { service }),
          ...(role !== undefined && { role }),
          scopes: scopesOf(payload),
          delegation: delegationOf(payload),
          ...(jti !== undefined && { jti }),
          tokenHash: hash,
          ...(issuedAt !== undefined && { issuedAt }),
          ...(expiresAt !== undefined && { expiresAt }),
        };
        return { ok: true, value: identity };
      } catch (err) {
        if (err instanceof MalformedClaim) return fail('malformed', `the agent token of ${sub}: ${err.message}`);
        throw err;
      }
    },
  };
}

/** The two kinds of token, told apart by their audience (CONTRACT §1, "Tokens"). */
type TokenKind = 'caller' | 'agent';

function audienceOf(payload: JWTPayload): string[] {
  const aud = payload.aud;
  return typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
}

/** "sha256:<hex>" of the raw token string. */
export function tokenHash(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/**
 * jose's errors, by `code` (checked against jose 6.2 `dist/webapi/lib/jwt_claims_set.js`,
 * `lib/jws_verify.js`, `jwks/local.js`, `jwks/remote.js`). Note that jose reports an `iat`
 * older than maxTokenAge as ERR_JWT_EXPIRED with claim 'iat', not as a claim failure.
 */
function classify(err: unknown, what: string): Failure {
  const t = `the ${what} token`;
  if (err instanceof JwksUnavailable) return fail('jwks_unavailable', `${t} cannot be checked: ${err.message}`);
  if (!(err instanceof joseErrors.JOSEError)) return fail('malformed', `${t} is malformed`);
  const claim = (err as { claim?: unknown }).claim;
  const reason = (err as { reason?: unknown }).reason;
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return claim === 'iat'
        ? fail('too_old', `${t} was issued longer ago than the accepted maximum age`)
        : fail('expired', `${t} has expired`);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (reason === 'invalid') return fail('malformed', `${t} has a "${String(claim)}" claim of the wrong type`);
      switch (claim) {
        case 'nbf':
          return fail('not_yet_valid', `${t} is not valid yet`);
        case 'iss':
          return fail('wrong_issuer', `${t} is not from the expected issuer`);
        case 'aud':
          return fail('wrong_audience', `${t} is not for this audience`);
        case 'iat':
          return reason === 'missing'
            ? fail('malformed', `${t} has no "iat" claim, which the maximum token age needs`)
            : fail('not_yet_valid', `${t} was issued in the future`);
        default:
          return fail('malformed', `${t} failed the check of its "${String(claim)}" claim`);
      }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return fail('bad_signature', `${t} has an invalid signature`);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return fail('bad_signature', `${t} is not signed with an accepted asymmetric algorithm`);
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return fail('unknown_key', `${t} is signed with a key that is not in the key set`);
    case 'ERR_JWKS_TIMEOUT':
      return fail('jwks_unavailable', `${t} cannot be checked: the key set fetch timed out`);
    default: // ERR_JWS_INVALID, ERR_JWT_INVALID, ERR_JOSE_NOT_SUPPORTED, ERR_JWK_INVALID, …
      return fail('malformed', `${t} is malformed`);
  }
}

function optionalString(payload: JWTPayload, claim: string): string | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new MalformedClaim(`"${claim}" must be a string`);
  return value;
}

function rolesOf(payload: JWTPayload): ReadonlySet<Role> {
  const value = payload.roles;
  if (value === undefined) return new Set();
  if (!Array.isArray(value) || !value.every((r) => typeof r === 'string')) {
    throw new MalformedClaim('"roles" must be an array of strings');
  }
  return new Set(value.filter((r): r is Role => (ROLES as readonly string[]).includes(r)));
}

function groupsOf(payload: JWTPayload): string[] {
  const value = payload.groups;
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((g) => typeof g === 'string')) {
    throw new MalformedClaim('"groups" must be an array of strings');
  }
  return [...new Set(value as string[])].sort();
}

function scopesOf(payload: JWTPayload): string[] {
  const out = new Set<string>();
  const { scope, scopes } = payload;
  if (scope !== undefined) {
    if (typeof scope !== 'string') throw new MalformedClaim('"scope" must be a space-separated string');
    for (const s of scope.split(' ')) if (s !== '') out.add(s);
  }
  if (scopes !== undefined) {
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) {
      throw new MalformedClaim('"scopes" must be an array of strings');
    }
    for (const s of scopes) if (s !== '') out.add(s);
  }
  return [...out].sort();
}

/** The `act` chain, outermost first; each level copied without its own `act`. */
function delegationOf(payload: JWTPayload): DelegationLink[] {
  const chain: DelegationLink[] = [];
  let level: unknown = payload.act;
  while (level !== undefined) {
    if (chain.length >= MAX_DELEGATION_DEPTH) {
      throw new MalformedClaim(`"act" is nested deeper than ${MAX_DELEGATION_DEPTH} levels`);
    }
    if (!isObject(level)) throw new MalformedClaim('"act" must be an object');
    const sub = level.sub;
    if (typeof sub !== 'string' || sub === '')
      throw new MalformedClaim('every "act" level needs a "sub" (a non-empty string)');
    // fromEntries defines own properties, so a "__proto__" claim stays a plain key.
    const link = Object.fromEntries(Object.entries(level).filter(([k]) => k !== 'act')) as DelegationLink;
    chain.push(link);
    level = level.act;
  }
  return chain;
}

function rfc3339(value: unknown, claim: string): string | undefined {
  if (value === undefined) return undefined;
  const date = typeof value === 'number' ? new Date(value * 1000) : undefined;
  if (date === undefined || Number.isNaN(date.getTime()))
    throw new MalformedClaim(`"${claim}" is not a valid NumericDate`);
  return date.toISOString();
}
