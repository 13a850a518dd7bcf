/**
 * The receipt: one signed, chained record per decision, approval, deferral or outcome
 * (AARM R5). Everything but `signature` is signed, as RFC 8785 canonical JSON.
 *
 * Example (abridged):
 * { "version": "1", "receipt_id": "rcpt_…", "kind": "decision", "session_id": "s-1",
 *   "seq": 3, "prev_hash": "sha256:…", "decision": "DENY", …,
 *   "signature": { "alg": "EdDSA", "kid": "…", "value": "base64url" } }
 */
export type Decision = 'ALLOW' | 'DENY' | 'MODIFY' | 'STEP_UP' | 'DEFER';
export const DECISIONS: readonly Decision[] = ['ALLOW', 'DENY', 'MODIFY', 'STEP_UP', 'DEFER'];

export type ReceiptKind = 'decision' | 'approval' | 'deferral' | 'outcome';

export interface Reason {
  policy_id: string;
  reason: string;
}

export interface ReceiptAction {
  id: string;
  tool: string;
  operation?: string;
  target?: string;
  /** "sha256:<hex>" of the canonical parameters as the agent asked for them. */
  parameters_hash: string;
  /** The parameters as evaluated, with credential-like values replaced by their hashes. */
  parameters: unknown;
  /** For MODIFY: the parameters to execute with (masked the same way) and their hash. */
  modified_parameters?: unknown;
  modified_parameters_hash?: string;
}

export interface ReceiptIdentity {
  agent?: string;
  human?: string;
  service?: string;
  role?: string;
  /** false when ARBITER_AUTH=off: the ids were taken as the caller sent them. */
  verified: boolean;
  method: 'none' | 'jwt';
}

export interface ReceiptPolicy {
  revision: string;
  hash: string;
  /** The evaluated entrypoint, as in OPA's decision log. */
  path: string;
}

export interface ReceiptBody {
  version: '1';
  receipt_id: string;
  kind: ReceiptKind;
  session_id: string;
  /** 1 for a session's first receipt, then +1 for each receipt of that session. */
  seq: number;
  /** receiptHash() of the previous receipt of the session; null when seq is 1. */
  prev_hash: string | null;
  /** RFC 3339 with milliseconds, UTC. */
  timestamp: string;
  action: ReceiptAction;
  identity: ReceiptIdentity;
  /** "sha256:<hex>" of the canonical `input.context` the policy saw. */
  context_hash: string;
  decision: Decision;
  reasons: Reason[];
  policy: ReceiptPolicy;
  approval?: { id: string; expires_at: string };
  deferral?: { id: string; expires_at: string; context_needed: string[] };
}

export interface ReceiptSignature {
  alg: 'EdDSA';
  kid: string;
  /** base64url Ed25519 signature over canonicalize(body without `signature`). */
  value: string;
}

export type Receipt = ReceiptBody & { signature: ReceiptSignature };
