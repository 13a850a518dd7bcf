/**
 * Who is asking (AARM R6): the caller that sent the request, and the agent the action is
 * for. With ARBITER_AUTH=off both are taken as sent and marked unverified; with jwt both
 * come only from verified tokens.
 */
import type { ReceiptIdentity } from '../receipts/types.js';
import type { DecideRequest } from './envelope.js';
import { DEFAULT_TENANT, ROLES, type Role, type TokenVerifier } from './identity.js';

export interface Caller {
  subject: string;
  tenant: string;
  roles: ReadonlySet<Role>;
  /** Approver groups (the `groups` claim); empty without auth. */
  groups: readonly string[];
  verified: boolean;
}

/** With ARBITER_AUTH=off every caller is a local developer: all roles, the default tenant. */
export const UNAUTHENTICATED_CALLER: Caller = {
  subject: 'anonymous',
  tenant: DEFAULT_TENANT,
  roles: new Set(ROLES),
  groups: [],
  verified: false,
};

/** What policy sees as `input.identity`. */
export interface InputIdentity {
  agent?: string;
  human?: string;
  service?: string;
  role?: string;
  tenant: string;
  scopes: string[];
  delegation: unknown[];
  verified: boolean;
}

export interface AgentResolution {
  receipt: ReceiptIdentity;
  input: InputIdentity;
  /** Present when the identity is not acceptable: the decision is DENY, policy is not asked. */
  refusal?: { policy_id: string; reason: string };
  /** What the revocation list is checked for. */
  revocation?: { jti?: string; sub?: string };
}

const REFUSALS: Record<string, string> = {
  missing: 'the action carries no agent token',
  malformed: 'the agent token is malformed',
  expired: 'the agent token has expired',
  not_yet_valid: 'the agent token is not valid yet',
  too_old: 'the agent token is older than the maximum age',
  bad_signature: 'the agent token signature does not verify',
  unknown_key: 'the agent token is signed by an unknown key',
  wrong_issuer: 'the agent token has the wrong issuer',
  wrong_audience: 'the agent token has the wrong audience',
  jwks_unavailable: 'the keys that verify agent tokens could not be fetched',
};

/** The optional ids, without undefined members (receipts are canonical JSON). */
function definedIds(ids: { agent?: string; human?: string; service?: string; role?: string }) {
  return Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined)) as typeof ids;
}

export async function resolveAgent(
  verifier: TokenVerifier | undefined,
  caller: Caller,
  identity: DecideRequest['identity'],
): Promise<AgentResolution> {
  if (!verifier) {
    const ids = definedIds({
      agent: identity.agent,
      human: identity.human,
      service: identity.service,
      role: identity.role,
    });
    return {
      receipt: { ...ids, verified: false, method: 'none' },
      input: { ...ids, tenant: caller.tenant, scopes: [], delegation: [], verified: false },
      ...(identity.agent === undefined && {
        refusal: { policy_id: 'aarm.identity.missing', reason: 'the action names no agent identity' },
      }),
    };
  }
  const verified = await verifier.verifyAgent(identity.agent_token);
  if (!verified.ok) {
    return {
      receipt: { verified: false, method: 'jwt', problem: verified.problem },
      input: { tenant: caller.tenant, scopes: [], delegation: [], verified: false },
      refusal: {
        policy_id: `aarm.identity.${verified.problem}`,
        reason: REFUSALS[verified.problem] ?? verified.message,
      },
    };
  }
  const a = verified.value;
  const claims = {
    ...definedIds({ agent: a.agent, human: a.human, service: a.service, role: a.role }),
    tenant: a.tenant,
    scopes: a.scopes,
    delegation: a.delegation,
  };
  const receipt: ReceiptIdentity = {
    ...claims,
    token_hash: a.tokenHash,
    ...(a.jti !== undefined && { jti: a.jti }),
    verified: true,
    method: 'jwt',
  };
  const input: InputIdentity = { ...claims, verified: true };
  const revocation = { ...(a.jti !== undefined && { jti: a.jti }), sub: a.agent };
  // Plain ids beside a token must agree with it: a forged "agent" field never wins.
  if (identity.agent !== undefined && identity.agent !== a.agent) {
    const refusal = { policy_id: 'aarm.identity.mismatch', reason: 'identity.agent does not match the agent token' };
    return { receipt, input, revocation, refusal };
  }
  if (a.tenant !== caller.tenant) {
    const refusal = {
      policy_id: 'aarm.identity.tenant',
      reason: "the agent token belongs to another tenant than the caller's",
    };
    return { receipt, input, revocation, refusal };
  }
  return { receipt, input, revocation };
}
