/**
 * Credential scoping (AARM R9: "JIT issuance with minimal validity, operation-specific
 * scope"). A PEP that has redeemed a capability exchanges its claims for the credential
 * the tool's backend actually accepts, limited to that one action. The broker is the hook:
 * real deployments implement CredentialBroker over their secret manager or STS (Vault
 * dynamic secrets, AWS STS AssumeRole with a session policy, an OAuth 2.0 token exchange
 * per RFC 8693 with a narrowed scope, a database role valid for minutes …) and keep every
 * long-lived secret there, out of the agent's reach.
 *
 * HmacCredentialBroker is the working example: it mints an HS256 JWT that the downstream
 * service verifies with a shared secret (verifyDownstreamCredential), bound to exactly
 * (tool, scope, parameters hash) and expiring no later than the capability.
 */
import { randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { hashOf } from '../receipts/canonical.js';
import { NO_SCOPE, scopeAuthorises, type CapabilityClaims } from './token.js';

export interface DownstreamCredential {
  /** What the tool presents to its backend (here a JWT; elsewhere a password, an STS session token …). */
  credential: string;
  /** RFC 3339; never later than the capability's own expiry. */
  expiresAt: string;
  /** The scope the credential carries: the capability's (one of the seven, or a union "read send"). */
  scope: string;
}

export interface CredentialBroker {
  /**
   * A credential limited to the action the claims describe. Pass only claims returned by a
   * successful verify (or redeem) of the capability; rejects when it cannot issue one, in
   * which case the action does not run.
   */
  exchange(claims: CapabilityClaims): Promise<DownstreamCredential>;
}

export const DOWNSTREAM_TYP = 'aarm-downstream+jwt';
export const DOWNSTREAM_ISSUER = 'arbiter-broker';

export interface HmacCredentialBrokerOptions {
  /** The secret shared with the downstream service: at least 32 bytes. */
  secret: Uint8Array;
  /** Who accepts the credential (the downstream service's name); its `aud`. */
  audience: string;
  /** Upper bound of the credential's life in seconds (default 30); capped by the capability's exp. */
  ttlSeconds?: number;
  clock?: () => Date;
}

export interface DownstreamClaims {
  iss: typeof DOWNSTREAM_ISSUER;
  aud: string;
  sub?: string;
  jti: string;
  iat: number;
  exp: number;
  tool: string;
  scope: string;
  params: string;
  /** The capability it was exchanged for, and the action and receipt behind it (for the backend's audit log). */
  cap: string;
  action: string;
  receipt: string;
  tenant: string;
}

export type DownstreamVerification =
  | { valid: true; claims: DownstreamClaims }
  | {
      valid: false;
      reason:
        | 'malformed'
        | 'bad_signature'
        | 'expired'
        | 'wrong_audience'
        | 'wrong_tool'
        | 'wrong_scope'
        | 'wrong_parameters';
    };

export class HmacCredentialBroker implements CredentialBroker {
  private readonly secret: Uint8Array;
  private readonly audience: string;
  private readonly ttlSeconds: number;
  private readonly clock: () => Date;

  constructor(options: HmacCredentialBrokerOptions) {
    if (!(options.secret instanceof Uint8Array) || options.secret.byteLength < 32) {
      throw new TypeError('HmacCredentialBroker: the secret must be at least 32 bytes');
    }
    if (typeof options.audience !== 'string' || options.audience === '')
      throw new TypeError('HmacCredentialBroker: audience is required');
    const ttl = options.ttlSeconds ?? 30;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 3600)
      throw new RangeError('HmacCredentialBroker: ttlSeconds must be an integer from 1 to 3600');
    this.secret = Uint8Array.from(options.secret);
    this.audience = options.audience;
    this.ttlSeconds = ttl;
    this.clock = options.clock ?? (() => new Date());
  }

  async exchange(claims: CapabilityClaims): Promise<DownstreamCredential> {
    const { aarm } = claims;
    // Nothing to scope a credential to: the capability was not granted an operation.
    if (aarm.scope === NO_SCOPE) throw new Error('capability has no scope: no downstream credential is issued');
    const nowMs = this.clock().getTime();
    const iat = Math.floor(nowMs / 1000);
    const exp = Math.min(claims.exp, Math.ceil(nowMs / 1000) + this.ttlSeconds);
    if (exp * 1000 <= nowMs) throw new Error('capability has expired: no downstream credential is issued');
    const jwt = new SignJWT({
      tool: aarm.tool,
      scope: aarm.scope,
      params: aarm.params,
      cap: claims.jti,
      action: aarm.action,
      receipt: aarm.receipt,
      tenant: aarm.tenant,
    })
      .setProtectedHeader({ alg: 'HS256', typ: DOWNSTREAM_TYP })
      .setIssuer(DOWNSTREAM_ISSUER)
      .setAudience(this.audience)
      .setJti(randomBytes(16).toString('base64url'))
      .setIssuedAt(iat)
      .setExpirationTime(exp);
    if (claims.sub !== undefined) jwt.setSubject(claims.sub);
    const credential = await jwt.sign(this.secret);
    return { credential, expiresAt: new Date(exp * 1000).toISOString(), scope: aarm.scope };
  }
}

/**
 * The downstream side of the example: accepts the credential only for its own audience,
 * the tool it serves, the scope of the operation it is about to perform (one of the
 * credential's scopes) and the exact parameters (or their hash).
 */
export async function verifyDownstreamCredential(args: {
  credential: string;
  secret: Uint8Array;
  audience: string;
  tool: string;
  scope: string;
  parameters?: unknown;
  parametersHash?: string;
  now: Date;
}): Promise<DownstreamVerification> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(args.credential, args.secret, {
      algorithms: ['HS256'],
      typ: DOWNSTREAM_TYP,
      issuer: DOWNSTREAM_ISSUER,
      audience: args.audience,
      currentDate: args.now,
      requiredClaims: ['exp', 'iat', 'jti'],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return { valid: false, reason: 'expired' };
    if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JOSEAlgNotAllowed) {
      return { valid: false, reason: 'bad_signature' };
    }
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud')
      return { valid: false, reason: 'wrong_audience' };
    return { valid: false, reason: 'malformed' };
  }
  const { tool, scope, params } = payload;
  const strings = ['tool', 'scope', 'params', 'cap', 'action', 'receipt', 'tenant', 'jti'];
  if (
    !strings.every((c) => typeof payload[c] === 'string') ||
    (payload.sub !== undefined && typeof payload.sub !== 'string')
  ) {
    return { valid: false, reason: 'malformed' };
  }
  if (tool !== args.tool) return { valid: false, reason: 'wrong_tool' };
  if (!scopeAuthorises(scope as string, args.scope)) return { valid: false, reason: 'wrong_scope' };
  let expected: string | undefined = args.parametersHash;
  if (args.parameters !== undefined) {
    let hashed: string;
    try {
      hashed = hashOf(args.parameters);
    } catch {
      return { valid: false, reason: 'wrong_parameters' };
    }
    if (expected !== undefined && expected !== hashed) return { valid: false, reason: 'wrong_parameters' };
    expected = hashed;
  }
  if (expected === undefined || expected !== params) return { valid: false, reason: 'wrong_parameters' };
  return { valid: true, claims: payload as unknown as DownstreamClaims };
}
