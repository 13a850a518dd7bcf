/**
 * Capability tokens (AARM R9, least privilege at execution time; threat T8). An ALLOW or
 * MODIFY comes with a capability: a short-lived JWT, signed by the same Ed25519 key as the
 * receipts, that authorises exactly one action: one tool, one set of parameters (by their
 * canonical hash), one scope, one use. The tool (or a gateway in front of it) checks it
 * before running anything, at POST /v1/capabilities/verify or offline with the keys of
 * GET /v1/keys and `verifyCapability`.
 *
 * Token:
 *   header  { "alg": "EdDSA", "typ": "aarm-capability+jwt", "kid": <RFC 7638 thumbprint> }
 *   claims  { "iss": "arbiter", "sub": <agent>, "aud": <tool>, "azp"?: <the PEP that asked>,
 *             "jti": <128-bit random>,
 *             "iat", "nbf", "exp",
 *             "aarm": { "tool", "scope", "operation"?, "params": "sha256:…", "receipt",
 *                       "session", "action", "tenant" } }
 *
 * Scope rule: exact match (see scopeForOperation and docs/capabilities.md). A capability of
 * scope S satisfies a check for scope S and no other: read never authorises write, write
 * never authorises delete, and no scope is "above" another. A tool the catalogue says does
 * several operations (an array) gets their union, "read send" (distinct scopes in the
 * order of CAPABILITY_SCOPES, space-separated like an OAuth scope string), which satisfies
 * a check for each of them and for nothing else. An unknown, missing or contradicted
 * operation gets the scope "none", which satisfies no scope check at all.
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, errors as joseErrors } from 'jose';
import { hashOf } from '../receipts/canonical.js';
import { isRecord } from '../receipts/guards.js';
import type { SigningKey } from '../receipts/keys.js';
import type { CapabilityRedemptions } from './redemptions.js';

export const CAPABILITY_TYP = 'aarm-capability+jwt';
export const CAPABILITY_ISSUER = 'arbiter';
export const CAPABILITY_ALG = 'EdDSA';

/** The scopes an operation maps onto; a verifier asks for one of these. */
export const CAPABILITY_SCOPES = ['read', 'write', 'delete', 'execute', 'send', 'grant', 'pay'] as const;
export type OperationScope = (typeof CAPABILITY_SCOPES)[number];
/** Given when the operation is missing, unknown or contradicts the catalogue: satisfies no scope check. */
export const NO_SCOPE = 'none';
/** One scope, "none", or a union of scopes ("read send": see scopesOf). */
export type CapabilityScope = OperationScope | typeof NO_SCOPE | `${OperationScope} ${string}`;

export const DEFAULT_CAPABILITY_TTL_SECONDS = 60;
/** Capabilities are for one imminent call: longer lifetimes are refused at issuance. */
export const MAX_CAPABILITY_TTL_SECONDS = 3600;
/** Longer strings are not looked at (ours are well under 2 KiB). */
export const MAX_CAPABILITY_LENGTH = 8192;

const PARAMETERS_HASH = /^sha256:[0-9a-f]{64}$/;
const HEADER_MEMBERS = new Set(['alg', 'typ', 'kid']);

export interface CapabilityAarmClaim {
  tool: string;
  scope: CapabilityScope;
  /** The operation as the action declared it, when it declared one. */
  operation?: string;
  /** "sha256:<hex>" of the RFC 8785 form of the parameters to execute with (for MODIFY: the modified ones). */
  params: string;
  /** The decision receipt that granted it. */
  receipt: string;
  session: string;
  action: string;
  tenant: string;
}

export interface CapabilityClaims {
  iss: typeof CAPABILITY_ISSUER;
  /** The agent, when the decision knew one. */
  sub?: string;
  /** The tool: the only audience that may accept it. */
  aud: string;
  /**
   * The authorised party (as in OIDC): the verified caller (PEP) the decision was answered
   * to. Only it may verify or redeem the capability at Arbiter, or read it back.
   */
  azp?: string;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  aarm: CapabilityAarmClaim;
}

export type CapabilityRefusal =
  | 'malformed'
  | 'bad_signature'
  | 'unknown_key'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_tool'
  | 'wrong_parameters'
  | 'wrong_scope'
  | 'wrong_tenant'
  | 'wrong_caller'
  | 'not_a_capability';

export type CapabilityVerification =
  { valid: true; claims: CapabilityClaims } | { valid: false; reason: CapabilityRefusal };

export type CapabilityRedemption =
  { valid: true; claims: CapabilityClaims } | { valid: false; reason: CapabilityRefusal | 'already_used' };

export interface IssueCapabilityArgs {
  agent?: string;
  /** The verified caller (PEP subject) that asked for the decision: becomes `azp`. */
  holder?: string;
  tenant: string;
  sessionId: string;
  actionId: string;
  tool: string;
  operation?: string;
  /** hashOf(parameters to execute with): for MODIFY the modified parameters. */
  parametersHash: string;
  receiptId: string;
  /** Normally scopeForOperation(operation, catalogue operation). */
  scope: CapabilityScope;
  /** Whole seconds, 1 … MAX_CAPABILITY_TTL_SECONDS; default DEFAULT_CAPABILITY_TTL_SECONDS. */
  ttlSeconds?: number;
  now: Date;
}

export interface IssuedCapability {
  token: string;
  jti: string;
  /** RFC 3339 form of `exp`. */
  expiresAt: string;
  scope: CapabilityScope;
}

export interface VerifyCapabilityArgs {
  token: string;
  /** The tool about to run. */
  tool: string;
  /** The parameters about to be executed; hashed exactly as the decision hashed them. */
  parameters?: unknown;
  /** Or their hash, "sha256:<hex>". One of the two is required; when both are given both must match. */
  parametersHash?: string;
  /** What the call is about to do. Omitted: the scope is not checked (a tool that enforces least privilege always sends it). */
  scope?: string;
  /** When given, a capability of another tenant is refused ('wrong_tenant'). */
  tenant?: string;
  /**
   * The caller asking. When given, a capability bound to another caller (`azp`) is refused
   * ('wrong_caller'); one without `azp` (issued with ARBITER_AUTH=off) passes.
   */
  holder?: string;
  now: Date;
  /** kid → Ed25519 public key, e.g. publicKeysFromJwks(GET /v1/keys). */
  keys: Map<string, KeyObject>;
  /** Accepted clock difference for nbf and exp, in seconds. Default 0 (verifying on Arbiter's own clock). */
  clockToleranceSeconds?: number;
}

/**
 * The scope a capability gets. The operation an action declares is mapped one to one onto
 * the seven scopes; when the policy's tool catalogue states the tool's operation
 * (data.aarm.catalog.tools[tool].operation: one operation, or an array of the operations
 * the tool does) the declared one must be it, or one of them. A catalogued array gives the
 * union of its scopes, whichever of them the action declared: the policy judged the tool
 * as doing all of them. Anything else (no operation, an operation outside the seven, an
 * empty array, a declared operation the catalogue contradicts) gets "none": the
 * capability still names its tool and parameters, but no scope check accepts it. Least
 * privilege fails closed: a guess could only widen it.
 */
export function scopeForOperation(
  operation: string | undefined,
  catalogOperation?: string | readonly string[],
): CapabilityScope {
  const declared = isOperationScope(operation) ? operation : undefined;
  if (operation !== undefined && declared === undefined) return NO_SCOPE;
  if (catalogOperation === undefined) return declared ?? NO_SCOPE;
  const catalogued = typeof catalogOperation === 'string' ? [catalogOperation] : catalogOperation;
  if (catalogued.length === 0 || !catalogued.every(isOperationScope)) return NO_SCOPE;
  if (declared !== undefined && !catalogued.includes(declared)) return NO_SCOPE;
  return unionScope(catalogued);
}

/** The scope that authorises each of `scopes` (at least one): distinct, in the order of CAPABILITY_SCOPES. */
function unionScope(scopes: readonly OperationScope[]): CapabilityScope {
  return CAPABILITY_SCOPES.filter((s) => scopes.includes(s)).join(' ') as CapabilityScope;
}

/**
 * The scopes a capability's scope authorises: [] for "none", one for a single scope, each
 * of a union ("read send"); undefined for anything that is not a scope we issue (a
 * union out of order, with a repeated or unknown member, …).
 */
export function scopesOf(scope: unknown): OperationScope[] | undefined {
  if (scope === NO_SCOPE) return [];
  if (typeof scope !== 'string') return undefined;
  const parts = scope.split(' ');
  if (!parts.every(isOperationScope)) return undefined;
  return unionScope(parts) === scope ? parts : undefined;
}

/** Whether a value is a scope a capability may carry: one of the seven, a union of them, or "none". */
export function isCapabilityScope(value: unknown): value is CapabilityScope {
  return scopesOf(value) !== undefined;
}

/**
 * The catalogue's operation for `tool` in the policy data
 * (data.aarm.catalog.tools[tool].operation), if it states one: a string, or an array of
 * strings. A value of another shape gives [] (no scope at all: the policy denies such an
 * entry anyway).
 */
export function catalogOperation(policyData: unknown, tool: string): string | readonly string[] | undefined {
  let node: unknown = policyData;
  for (const key of ['aarm', 'catalog', 'tools', tool, 'operation']) {
    if (!isRecord(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  if (typeof node === 'string') return node;
  return Array.isArray(node) && node.every((op) => typeof op === 'string') ? node : [];
}

/** Whether a scope may be asked for in a check (the seven; "none" and unions are never asked for). */
export function isOperationScope(value: unknown): value is OperationScope {
  return typeof value === 'string' && (CAPABILITY_SCOPES as readonly string[]).includes(value);
}

/** Whether a capability of scope `granted` passes a check for scope `asked` (one of the seven). */
export function scopeAuthorises(granted: string, asked: string): boolean {
  return isOperationScope(asked) && (scopesOf(granted)?.includes(asked) ?? false);
}

export async function issueCapability(args: IssueCapabilityArgs, key: SigningKey): Promise<IssuedCapability> {
  const ttl = args.ttlSeconds ?? DEFAULT_CAPABILITY_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_CAPABILITY_TTL_SECONDS) {
    throw new RangeError(`capability ttlSeconds must be an integer from 1 to ${MAX_CAPABILITY_TTL_SECONDS}`);
  }
  if (!PARAMETERS_HASH.test(args.parametersHash))
    throw new TypeError('capability parametersHash must be sha256:<64 hex>');
  if (!isCapabilityScope(args.scope)) throw new TypeError(`capability scope "${String(args.scope)}" is not a scope`);
  for (const [name, value] of Object.entries({
    tool: args.tool,
    tenant: args.tenant,
    sessionId: args.sessionId,
    actionId: args.actionId,
    receiptId: args.receiptId,
  })) {
    if (typeof value !== 'string' || value === '') throw new TypeError(`capability ${name} must be a non-empty string`);
  }
  const nowMs = args.now.getTime();
  if (!Number.isFinite(nowMs)) throw new TypeError('capability now must be a valid Date');
  // iat/nbf round down, exp rounds up: a capability lives at least ttlSeconds, at most one second more.
  const iat = Math.floor(nowMs / 1000);
  const exp = Math.ceil((nowMs + ttl * 1000) / 1000);
  const jti = randomBytes(16).toString('base64url');
  const aarm: CapabilityAarmClaim = {
    tool: args.tool,
    scope: args.scope,
    ...(args.operation !== undefined && { operation: args.operation }),
    params: args.parametersHash,
    receipt: args.receiptId,
    session: args.sessionId,
    action: args.actionId,
    tenant: args.tenant,
  };
  // A compact JWS (RFC 7515) signed with node's Ed25519 directly: this runs on every ALLOW,
  // and jose's WebCrypto path costs several times more. verifyCapability uses jose.
  const header = { alg: CAPABILITY_ALG, typ: CAPABILITY_TYP, kid: key.kid };
  const payload = {
    iss: CAPABILITY_ISSUER,
    ...(args.agent !== undefined && { sub: args.agent }),
    aud: args.tool,
    ...(args.holder !== undefined && { azp: args.holder }),
    jti,
    iat,
    nbf: iat,
    exp,
    aarm,
  };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = sign(null, Buffer.from(signingInput, 'ascii'), key.privateKey).toString('base64url');
  return {
    token: `${signingInput}.${signature}`,
    jti,
    expiresAt: new Date(exp * 1000).toISOString(),
    scope: args.scope,
  };
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

const refuse = (reason: CapabilityRefusal): { valid: false; reason: CapabilityRefusal } => ({ valid: false, reason });

/**
 * Checks a capability for one call, in this order: form, algorithm (EdDSA only), type
 * (typ "aarm-capability+jwt"), key, signature, issuer, time, tenant, caller, tool,
 * parameters, scope. Never throws for anything the token holds; the first failed check is the reason.
 */
export async function verifyCapability(args: VerifyCapabilityArgs): Promise<CapabilityVerification> {
  const { token } = args;
  if (typeof token !== 'string' || token.length > MAX_CAPABILITY_LENGTH || token.split('.').length !== 3)
    return refuse('malformed');

  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return refuse('malformed');
  }
  // Only EdDSA: not "none", not an HMAC keyed with a public key, not another curve.
  if (header.alg !== CAPABILITY_ALG) return refuse('bad_signature');
  // A receipt, an agent or caller token, any other JWT: right key perhaps, wrong kind of thing.
  if (header.typ !== CAPABILITY_TYP) return refuse('not_a_capability');
  // We write exactly these; anything more (crit, b64, jku, jwk, x5u …) is not ours.
  if (Object.keys(header).some((k) => !HEADER_MEMBERS.has(k))) return refuse('malformed');
  if (typeof header.kid !== 'string') return refuse('unknown_key');
  const key = args.keys.get(header.kid);
  if (key === undefined) return refuse('unknown_key');

  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(token, key, { algorithms: [CAPABILITY_ALG] }));
  } catch (err) {
    if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JOSEAlgNotAllowed) {
      return refuse('bad_signature');
    }
    return refuse('malformed');
  }

  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return refuse('malformed');
  }
  if (!isRecord(raw)) return refuse('malformed');
  if (raw.iss !== CAPABILITY_ISSUER) return refuse('not_a_capability');
  const claims = readClaims(raw);
  if (claims === undefined) return refuse('malformed');

  const tolerance = (args.clockToleranceSeconds ?? 0) * 1000;
  const nowMs = args.now.getTime();
  if (!Number.isFinite(nowMs) || !Number.isFinite(tolerance) || tolerance < 0)
    throw new TypeError('verifyCapability: bad now or clockToleranceSeconds');
  if (nowMs >= claims.exp * 1000 + tolerance) return refuse('expired');
  if (nowMs < claims.nbf * 1000 - tolerance) return refuse('not_yet_valid');

  if (args.tenant !== undefined && claims.aarm.tenant !== args.tenant) return refuse('wrong_tenant');
  // Another PEP of the same tenant may neither check nor use up what was granted to this one.
  if (args.holder !== undefined && claims.azp !== undefined && claims.azp !== args.holder)
    return refuse('wrong_caller');
  if (claims.aud !== args.tool || claims.aarm.tool !== args.tool) return refuse('wrong_tool');
  if (!parametersMatch(claims.aarm.params, args)) return refuse('wrong_parameters');
  // Exact match, and only the seven can be asked for: "none" (or anything else) matches
  // nothing; a union matches each of its members.
  if (args.scope !== undefined && !scopeAuthorises(claims.aarm.scope, args.scope)) return refuse('wrong_scope');
  return { valid: true, claims };
}

/**
 * verifyCapability, then the once-only redemption of its jti: the first redemption of a
 * valid capability is valid, every later one 'already_used'. A refused capability is not
 * redeemed (a wrong call does not use it up). The jti is held until exp (plus the
 * tolerance), after which verification refuses the capability anyway. Rejects when the
 * redemption record cannot be written: the caller must then not run the action.
 */
export async function redeemCapability(
  args: VerifyCapabilityArgs & { redemptions: CapabilityRedemptions },
): Promise<CapabilityRedemption> {
  const verified = await verifyCapability(args);
  if (!verified.valid) return verified;
  const holdUntil = (verified.claims.exp + (args.clockToleranceSeconds ?? 0)) * 1000;
  const redemption = await args.redemptions.redeem(verified.claims.jti, holdUntil);
  return redemption === 'first' ? verified : { valid: false, reason: 'already_used' };
}

/**
 * verifyCapability, then whether the capability was redeemed already: what a check without
 * redemption answers, so a used capability is never reported valid again. Uses nothing up.
 * Rejects when the redemption record cannot be read: the caller must then not run the action.
 */
export async function checkUnredeemed(
  args: VerifyCapabilityArgs & { redemptions: Required<Pick<CapabilityRedemptions, 'used'>> },
): Promise<CapabilityRedemption> {
  const verified = await verifyCapability(args);
  if (!verified.valid) return verified;
  return (await args.redemptions.used(verified.claims.jti)) ? { valid: false, reason: 'already_used' } : verified;
}

/**
 * Whether `caller` may be handed `token` (a decide replay, a closed approval or deferral):
 * a capability bound to another caller (`azp`) is not shown to it. A token that cannot be
 * read is shown to nobody.
 */
export function capabilityHeldBy(token: string, caller: string): boolean {
  const claims = inspectCapability(token)?.claims;
  if (!isRecord(claims)) return false;
  return claims.azp === undefined || claims.azp === caller;
}

/** The claims without verifying anything: for display and logs only, never for a decision. */
export function inspectCapability(token: string): { header: Record<string, unknown>; claims: unknown } | undefined {
  try {
    const [h, p] = token.split('.');
    return {
      header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
      claims: JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as unknown,
    };
  } catch {
    return undefined;
  }
}

function parametersMatch(bound: string, args: Pick<VerifyCapabilityArgs, 'parameters' | 'parametersHash'>): boolean {
  const given: string[] = [];
  if (args.parametersHash !== undefined) given.push(args.parametersHash);
  if (args.parameters !== undefined) {
    try {
      given.push(hashOf(args.parameters));
    } catch {
      return false; // not JSON data: cannot be what was decided
    }
  }
  // Neither given: nothing to bind the call to, so it is not the call that was decided.
  return given.length > 0 && given.every((h) => h === bound);
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const numericDate = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The claims in the shape we issue them, or undefined. */
function readClaims(raw: Record<string, unknown>): CapabilityClaims | undefined {
  const { sub, aud, azp, jti, iat, nbf, exp, aarm } = raw;
  if (sub !== undefined && !nonEmpty(sub)) return undefined;
  if (azp !== undefined && !nonEmpty(azp)) return undefined;
  if (!nonEmpty(aud) || !nonEmpty(jti) || !numericDate(iat) || !numericDate(nbf) || !numericDate(exp)) return undefined;
  if (!isRecord(aarm)) return undefined;
  const { tool, scope, operation, params, receipt, session, action, tenant } = aarm;
  if (!nonEmpty(tool) || !nonEmpty(receipt) || !nonEmpty(session) || !nonEmpty(action) || !nonEmpty(tenant))
    return undefined;
  if (typeof params !== 'string' || !PARAMETERS_HASH.test(params)) return undefined;
  if (!isCapabilityScope(scope)) return undefined;
  if (operation !== undefined && typeof operation !== 'string') return undefined;
  return {
    iss: CAPABILITY_ISSUER,
    ...(sub !== undefined && { sub }),
    aud,
    ...(azp !== undefined && { azp }),
    jti,
    iat,
    nbf,
    exp,
    aarm: {
      tool,
      scope,
      ...(operation !== undefined && { operation }),
      params,
      receipt,
      session,
      action,
      tenant,
    },
  };
}
