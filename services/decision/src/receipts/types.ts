/**
 * The receipt: one signed, chained record per decision, approval, deferral or outcome
 * (AARM R5). Everything but `signature` is signed, as RFC 8785 canonical JSON.
 *
 * Example (abridged):
 * { "version": "1", "receipt_id": "rcpt_…", "kind": "decision", "session_id": "s-1",
 *   "seq": 3, "prev_hash": "sha256:…", "decision": "DENY", …,
 *   "signature": { "alg": "EdDSA", "kid": "…", "value": "base64url" } }
 */
import type { ReceiptCapability } from '../capabilities/grant.js';

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
  /** The agent token's tenant claim (verified identities only). */
  tenant?: string;
  scopes?: string[];
  /** The RFC 8693 `act` chain of the agent token, outermost first. */
  delegation?: { sub: string; [claim: string]: unknown }[];
  /** "sha256:<hex>" of the agent token: names the token without holding it. */
  token_hash?: string;
  jti?: string;
  /** false when ARBITER_AUTH=off (ids taken as sent) or when the token failed verification. */
  verified: boolean;
  method: 'none' | 'jwt';
  /** Why the identity was not accepted, when it was not (the decision is then DENY). */
  problem?: string;
}

/** On a STEP_UP decision, and on each receipt of kind "approval" (a vote, the end). */
export interface ReceiptApproval {
  id: string;
  expires_at: string;
  status?: string;
  approver?: string;
  vote?: 'approve' | 'deny';
  reason?: string;
  /** Votes cast so far, and how many approvals are needed. */
  votes?: number;
  quorum?: number;
}

/** On a DEFER decision, and on each receipt of kind "deferral" (a resolution, the end). */
export interface ReceiptDeferral {
  id: string;
  expires_at: string;
  context_needed: string[];
  status?: string;
  attempts?: number;
  /** "sha256:<hex>" of the context the resolver supplied. */
  resolution_hash?: string;
  resolved_by?: string;
  escalated_to?: string;
}

/** On kind "outcome": what the PEP reported after the action ran. */
export interface ReceiptOutcome {
  status: 'success' | 'error';
  output_hash?: string;
  /** "sha256:<hex>" of the reported summary text: the text itself may hold personal data. */
  summary_hash?: string;
  data_classes: string[];
  /** The classification the result counted as (reported labels, else the catalog, else RESTRICTED). */
  classification?: string;
  /** The receipt of the decision this outcome belongs to. */
  decision_receipt_id: string;
  /** The caller (PEP) that reported it. */
  reported_by: string;
  /** True when the action ran although it was not allowed: evidence of a PEP that did not enforce. */
  unauthorised: boolean;
  /** "sha256:<hex>" of the canonical reported content (the content itself is never kept). */
  content_hash?: string;
  /** Whether the result counted as untrusted content (docs/detection.md 3.1). */
  trust?: 'trusted' | 'untrusted';
  /** The injection scanner's score of the content (0–1). */
  injection_score?: number;
  /** How many entities the content named (kept only as salted fingerprints). */
  entities?: number;
  /** The keys of the reported facts, sorted (their values are in the session's facts). */
  facts?: string[];
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
  /** OPA decision-log compatibility: the id of this logged event (equal to receipt_id). */
  decision_id: string;
  /** OPA decision-log compatibility: which Arbiter wrote it. */
  labels: { id: string; version: string };
  /** OPA decision-log compatibility: the policy entrypoint ("aarm/decision"). */
  path: string;
  kind: ReceiptKind;
  session_id: string;
  /** The tenant of the session (the caller's `tenant` claim; "default" without auth). */
  tenant: string;
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
  approval?: ReceiptApproval;
  deferral?: ReceiptDeferral;
  outcome?: ReceiptOutcome;
  /** ALLOW/MODIFY decisions, and approvals or deferrals closed in ALLOW/MODIFY: the capability granted (never the token). */
  capability?: ReceiptCapability;
  /** Kind "decision", when policy ran: the input it evaluated, parameters masked as in `action`. */
  input?: unknown;
  /** Kind "decision", when policy ran: what `data.aarm.decision` returned. */
  result?: unknown;
  /** The W3C trace context of the request (the caller's, or Arbiter's span when tracing is on). */
  trace_id?: string;
  span_id?: string;
  /** The request that made this receipt (its X-Request-Id, http/access-log.ts): matches the access log line. */
  request_id?: string;
}

export interface ReceiptSignature {
  alg: 'EdDSA';
  kid: string;
  /** base64url Ed25519 signature over canonicalize(body without `signature`). */
  value: string;
}

export type Receipt = ReceiptBody & { signature: ReceiptSignature };
