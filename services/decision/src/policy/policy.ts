/**
 * What the lifecycle asks of the policy: evaluate an input with the revision that serves
 * now, or with an earlier one still held (a deferral is resolved under the revision that
 * deferred it), and read that revision's data document (the catalog, masking paths).
 *
 * Two implementations side by side: `PolicyEngine` (engine.ts), the compiled WASM in a pool
 * of worker threads with a deadline per evaluation, and `StaticPolicy` (static.ts), which
 * answers from a function so lifecycle steps can be tested without `opa build`.
 *
 * ```ts
 * const { decision, version } = await policy.evaluate(input);
 * // version is the revision that evaluated it: receipts and answers name exactly that one
 * ```
 */
import { z } from 'zod';
import { ArbiterError } from '../errors.js';
import { DECISIONS } from '../receipts/types.js';

/** What `data.aarm.decision` must look like; anything else is a policy failure (503 DENY). */
const PolicyFinding = z.object({
  policy_id: z.string(),
  reason: z.string(),
  effect: z.enum(DECISIONS as [string, ...string[]]).optional(),
  priority: z.number().optional(),
  risk: z.string().optional(),
});

export const PolicyDecisionSchema = z.object({
  decision: z.enum(DECISIONS as ['ALLOW', 'DENY', 'MODIFY', 'STEP_UP', 'DEFER']),
  reasons: z.array(PolicyFinding),
  patch: z.array(z.record(z.string(), z.unknown())).optional(),
  approvers: z.array(z.string()).optional(),
  quorum: z.number().int().min(1).optional(),
  four_eyes: z.boolean().optional(),
  context_needed: z.array(z.string()).optional(),
  timeout_s: z.number().positive().optional(),
  risk: z.string().optional(),
  default: z.boolean().optional(),
});
export type PolicyDecision = z.infer<typeof PolicyDecisionSchema>;

export interface PolicyVersion {
  revision: string;
  hash: string;
  loadedAt: string;
}

/** One evaluation: the decision and the revision that produced it, never another. */
export interface Evaluation {
  decision: PolicyDecision;
  version: PolicyVersion;
}

export interface Policy {
  /** The revision new decisions are evaluated with; undefined until one has loaded. */
  readonly version: PolicyVersion | undefined;
  /** That revision's data document (every data file, layered): the catalog, masking paths. */
  readonly data: unknown;
  /**
   * Evaluates with the current revision. Rejects with an ArbiterError (`policy_unavailable`,
   * `policy_timeout`, `policy_busy`) when it cannot answer: there is no default decision.
   */
  evaluate(input: Record<string, unknown>): Promise<Evaluation>;
  /**
   * Evaluates with an earlier revision if it is still held; undefined when it is not, and
   * the caller must not fall back to another revision.
   */
  evaluateAt(revision: string, input: Record<string, unknown>): Promise<Evaluation | undefined>;
}

/** The raw result of the entrypoint as a decision, or policy_unavailable. */
export function checkedDecision(raw: unknown): PolicyDecision {
  const parsed = PolicyDecisionSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ArbiterError('policy_unavailable', undefined, {
    cause: new Error(`policy returned a malformed decision: ${parsed.error.issues[0]?.message ?? 'undefined'}`),
  });
}
