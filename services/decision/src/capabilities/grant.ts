/**
 * Granting a capability where a decision is answered: the decide path (ALLOW, MODIFY) and
 * the close of an approval or deferral that ends in ALLOW or MODIFY. One function, so the
 * two places bind the same things: the parameters to execute with (for MODIFY the modified
 * ones), the scope of the operation (checked against the catalogue), the receipt that
 * granted it.
 */
import { hashOf } from '../receipts/canonical.js';
import type { SigningKey } from '../receipts/keys.js';
import {
  catalogOperation,
  issueCapability,
  scopeForOperation,
  type CapabilityScope,
  type IssuedCapability,
  type IssueCapabilityArgs,
} from './token.js';

/** Satisfied by DecideDeps once it has capabilityTtlSeconds. */
export interface CapabilityGrantDeps {
  signingKey: SigningKey;
  /** ARBITER_CAPABILITY_TTL_S (default 60). */
  capabilityTtlSeconds: number;
  /** The loaded policy: its data holds the tool catalogue (data.aarm.catalog.tools[tool].operation). */
  policy: { readonly data: unknown };
}

/** What decide (or the close of an approval or deferral) knows when it answers. */
export interface CapabilityGrant extends Omit<IssueCapabilityArgs, 'scope' | 'ttlSeconds'> {
  /** The decision being answered: only ALLOW and MODIFY grant anything. */
  decision: string;
  /** For MODIFY: the parameters to execute with; the capability is bound to these instead. */
  modifiedParameters?: Record<string, unknown>;
}

/** What a receipt records of a granted capability: names it, never holds the token. */
export interface ReceiptCapability {
  jti: string;
  scope: CapabilityScope;
  /** The parameters hash it is bound to. */
  params: string;
  expires_at: string;
}

export interface GrantedCapability extends IssuedCapability {
  /** The block for the receipt's `capability` member. */
  receipt: ReceiptCapability;
}

/** The capability for an ALLOW or MODIFY; undefined for every other decision. */
export async function grantCapability(
  deps: CapabilityGrantDeps,
  grant: CapabilityGrant,
): Promise<GrantedCapability | undefined> {
  if (grant.decision !== 'ALLOW' && grant.decision !== 'MODIFY') return undefined;
  const params = grant.modifiedParameters !== undefined ? hashOf(grant.modifiedParameters) : grant.parametersHash;
  const issued = await issueCapability(
    {
      ...(grant.agent !== undefined && { agent: grant.agent }),
      ...(grant.holder !== undefined && { holder: grant.holder }),
      tenant: grant.tenant,
      sessionId: grant.sessionId,
      actionId: grant.actionId,
      tool: grant.tool,
      ...(grant.operation !== undefined && { operation: grant.operation }),
      parametersHash: params,
      receiptId: grant.receiptId,
      scope: scopeForOperation(grant.operation, catalogOperation(deps.policy.data, grant.tool)),
      ttlSeconds: deps.capabilityTtlSeconds,
      now: grant.now,
    },
    deps.signingKey,
  );
  return { ...issued, receipt: { jti: issued.jti, scope: issued.scope, params, expires_at: issued.expiresAt } };
}
