/**
 * Enforcement: the policy's combined decision becomes what the PEP is told. MODIFY gets
 * its parameters rewritten here; anything that cannot be carried out safely becomes DENY.
 */
import fastJsonPatch from 'fast-json-patch';
import type { PolicyDecision } from '../policy/policy.js';
import { hashOf } from '../receipts/canonical.js';
import type { Decision, Reason } from '../receipts/types.js';

const { applyPatch, deepClone } = fastJsonPatch;

/** Bounds on how long a request may wait (AARM: approval 3600 s, deferral 300 s by default). */
export const MAX_APPROVAL_SECONDS = 7 * 24 * 3600;
export const MAX_DEFERRAL_SECONDS = 3600;
/** Deferred actions one session may have waiting at once; past it a deferral is DENY (AARM R4 cascade cap). */
export const MAX_WAITING_DEFERRALS = 8;
/** Resolutions of one deferral that may end in DEFER again before it is DENY. */
export const MAX_DEFERRAL_ATTEMPTS = 3;
const DEFAULT_APPROVAL_SECONDS = 3600;
const DEFAULT_DEFERRAL_SECONDS = 300;

export interface Enforcement {
  decision: Decision;
  reasons: Reason[];
  /** MODIFY only: the parameters to execute with. */
  parameters?: Record<string, unknown>;
  approval?: { approvers: string[]; timeoutSeconds: number; quorum: number; fourEyes: boolean; risk?: string };
  deferral?: { contextNeeded: string[]; timeoutSeconds: number };
  /** A dependent deferral: the deferral of the session it waits behind. */
  dependsOn?: string;
  risk?: string;
}

export function deny(policyId: string, reason: string): Enforcement {
  return { decision: 'DENY', reasons: [{ policy_id: policyId, reason }] };
}

function applyModification(parameters: Record<string, unknown>, patch: PolicyDecision['patch']) {
  try {
    const result = applyPatch(deepClone(parameters), (patch ?? []) as never, true, true).newDocument as unknown;
    // A patch may replace the whole document: the result must still be a parameter object.
    if (result === null || typeof result !== 'object' || Array.isArray(result)) return undefined;
    return result as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function enforce(policy: PolicyDecision, parameters: Record<string, unknown>): Enforcement {
  const reasons = policy.reasons.map(({ policy_id, reason }) => ({ policy_id, reason }));
  const risk = policy.risk !== undefined ? { risk: policy.risk } : {};
  switch (policy.decision) {
    case 'MODIFY': {
      const modified = applyModification(parameters, policy.patch);
      // Never fall back to the original parameters: the policy said they may not run as asked.
      if (!modified) return deny('aarm.patch_failed', 'the MODIFY patch could not be applied to the parameters');
      return { decision: 'MODIFY', reasons, parameters: modified, ...risk };
    }
    case 'STEP_UP':
      return {
        decision: 'STEP_UP',
        reasons,
        approval: {
          approvers: policy.approvers ?? [],
          timeoutSeconds: Math.min(policy.timeout_s ?? DEFAULT_APPROVAL_SECONDS, MAX_APPROVAL_SECONDS),
          quorum: policy.quorum ?? 1,
          fourEyes: policy.four_eyes ?? false,
          ...risk,
        },
        ...risk,
      };
    case 'DEFER':
      return {
        decision: 'DEFER',
        reasons,
        deferral: {
          contextNeeded: policy.context_needed ?? [],
          timeoutSeconds: Math.min(policy.timeout_s ?? DEFAULT_DEFERRAL_SECONDS, MAX_DEFERRAL_SECONDS),
        },
        ...risk,
      };
    case 'ALLOW':
    case 'DENY':
      return { decision: policy.decision, reasons, ...risk };
  }
}

/**
 * enforce(), and for a MODIFY the check that the parameters to execute with pass the policy
 * themselves (issue 4: patched parameters are validated again). Anything but an ALLOW, or a
 * MODIFY that changes nothing more, is a DENY: a rewrite must never produce an action the
 * policy would not have allowed as asked.
 */
export async function enforceChecked(
  evaluate: (input: Record<string, unknown>) => Promise<PolicyDecision>,
  input: Record<string, unknown> & { action: Record<string, unknown> },
  decision: PolicyDecision,
  parameters: Record<string, unknown>,
): Promise<Enforcement> {
  const first = enforce(decision, parameters);
  if (first.decision !== 'MODIFY' || !first.parameters) return first;
  const modified = first.parameters;
  const again = enforce(await evaluate({ ...input, action: { ...input.action, parameters: modified } }), modified);
  const settled =
    again.decision === 'ALLOW' || (again.decision === 'MODIFY' && hashOf(again.parameters) === hashOf(modified));
  if (settled) return first;
  return deny('aarm.modify.revalidation', `the modified parameters are not allowed as they stand (${again.decision})`);
}
