/**
 * The context store (AARM R2): what a session has done so far, kept as a running
 * summary so a decision costs the same on the first action and the ten-thousandth.
 * Sessions are addressed by their tag (ids.ts: tenant + session id).
 */
import type { Outbox } from '../receipts/outbox.js';
import { initialDrift, type DriftState, type StoredEmbedding } from '../drift/drift.js';
import type { Decision, Receipt, ReceiptAction } from '../receipts/types.js';
import type { FlowState } from '../flow/state.js';

export const CLASSIFICATIONS = ['PUBLIC', 'INTERNAL', 'CONFIDENTIAL', 'RESTRICTED'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export interface HistoryEntry {
  action_id: string;
  tool: string;
  decision: Decision;
  at: string;
}

/**
 * The session before the current action. Policy sees it as `input.context` without
 * `flow` (flow/index.ts policyContext), whose public part is `input.flow.session`.
 */
export interface SessionSummary {
  action_count: number;
  tools_used: Record<string, number>;
  decisions: Record<Decision, number>;
  outcomes: { success: number; error: number };
  /** Every data class label the session's actions returned (a set, sorted). */
  data_classes: string[];
  /**
   * The highest classification of data the session has seen: what outcomes reported, and
   * the catalog level of allowed actions whose outcome has not arrived yet.
   */
  max_classification: Classification;
  /** The most recent actions, oldest first, at most ARBITER_HISTORY_SIZE. */
  history: HistoryEntry[];
  /** Deferrals of this session still waiting: later actions on the same target wait behind them. */
  pending_deferrals: { id: string; tool: string; target?: string; expires_at: string }[];
  /** Intent drift (AARM R7, docs/drift.md): zeros until an action of the session was measured. */
  drift: DriftState;
  /**
   * Information flow (docs/detection.md 3): created on the session's first decision, so
   * absent before it. Holds the fingerprint salt: never shown, never given to policy.
   */
  flow?: FlowState;
}

/** Fixed when the session opens; later calls cannot rewrite it. */
export interface SessionMeta {
  id: string;
  tenant: string;
  intent?: string;
  started_at: string;
  agent?: string;
  human?: string;
  /** The intent's embedding (docs/drift.md), computed once; never shown in the session view. */
  intent_embedding?: StoredEmbedding;
}

/** One decided action of a session: the idempotency record and what an outcome attaches to. */
export interface ActionRecord {
  id: string;
  tool: string;
  /** The request's operation, for the outcome's inferred trust (a mail read or a mail send). */
  operation?: string;
  decision: Decision;
  parameters_hash: string;
  receipt_id: string;
  /** The answer given, replayed verbatim for a retry of the same action id. */
  response: Record<string, unknown>;
  /** For a STEP_UP or DEFER: what it ended in (ALLOW, MODIFY or DENY) once approved, resolved or expired. */
  final_decision?: Decision;
  outcome?: { status: 'success' | 'error'; receipt_id: string; at: string };
}

export type PendingStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'stale' | 'resolved' | 'escalated';

export interface ApprovalVote {
  approver: string;
  vote: 'approve' | 'deny';
  reason?: string;
  at: string;
}

/** A STEP_UP or DEFER waiting for a human or for more context, and then what it ended in. */
export interface PendingRecord {
  id: string;
  kind: 'approval' | 'deferral';
  status: PendingStatus;
  session_id: string;
  tenant: string;
  /** The exact action waiting: its parameter hash binds any later approval to it. */
  action: Omit<ReceiptAction, 'modified_parameters' | 'modified_parameters_hash'>;
  identity: Receipt['identity'];
  /** The verified caller that asked for the decision: the capability of the closing answer is bound to it. */
  requested_by?: string;
  reasons: { policy_id: string; reason: string }[];
  approvers?: string[];
  context_needed?: string[];
  risk?: string;
  /** The session context at the time of the request: what the approver or resolver judges. */
  context: SessionSummary;
  intent?: string;
  policy: { revision: string; hash: string };
  receipt_id: string;
  created_at: string;
  expires_at: string;
  /** STEP_UP: distinct approvals needed, and whether the agent and its human are barred from approving. */
  quorum?: number;
  four_eyes?: boolean;
  votes?: ApprovalVote[];
  /** DEFER: resolutions tried so far; the deferral it waits behind, when it is a dependent one. */
  attempts?: number;
  depends_on?: string;
  /** Where an escalated deferral went (an approval id), or the deferral an approval came from. */
  escalated_to?: string;
  source?: 'step_up' | 'defer_escalation';
  /**
   * DEFER only, while pending: the policy input as first evaluated, raw parameters included,
   * so a resolution re-evaluates exactly that action. Removed when the deferral closes.
   */
  input?: Record<string, unknown>;
  /** Set once closed: the decision it ended in. */
  final?: {
    decision: Decision;
    reasons: { policy_id: string; reason: string }[];
    parameters?: Record<string, unknown>;
    receipt_id: string;
    at: string;
    /** ALLOW or MODIFY: the capability token for the action (AARM R9). */
    capability?: string;
  };
}

export interface LoadOptions {
  /** Also read this action's record (idempotency, outcomes). */
  actionId?: string;
  /** Also read this approval's or deferral's record. */
  pendingId?: string;
  /** Also check these token ids and subject against the revocation list. */
  revocation?: { tenant: string; jti?: string; sub?: string };
}

export interface SessionState {
  meta: SessionMeta | undefined;
  summary: SessionSummary;
  /** seq of the session's last receipt; 0 for a new session. The commit's concurrency token. */
  seq: number;
  /** receiptHash() of the last receipt, null for a new session. */
  head: string | null;
  action: ActionRecord | undefined;
  pending: PendingRecord | undefined;
  /** True when the token id or the subject asked about is revoked. */
  revoked: boolean;
}

export interface Commit {
  tag: string;
  /** The seq read by load(); the commit is refused when the session has moved on since. */
  expectedSeq: number;
  /** Written only when the session has none yet. */
  meta: SessionMeta;
  summary: SessionSummary;
  receipt: Receipt;
  receiptHash: string;
  /** Written (replacing any earlier version) with the receipt, when given. */
  action?: ActionRecord;
  /** A new action: the commit is refused as 'duplicate' when its id is already taken. */
  newAction: boolean;
  /** Caller-chosen action ids are indexed so an outcome can find their session. */
  indexAction: boolean;
  /** Approval and deferral records written (created or replaced) with the receipt. */
  pending: PendingRecord[];
}

export type CommitResult = 'committed' | 'conflict' | 'duplicate';

export interface Revocation {
  tenant: string;
  jti?: string;
  sub?: string;
  /** The revoked token's `exp` (epoch seconds), when the admin names it: the jti entry ends with the token. */
  exp?: number;
  reason?: string;
  at: string;
}

export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /** Present when receipts are exported: the commit appends every receipt to it. */
  readonly outbox: Outbox | undefined;
  /** Everything a decision needs, in one round trip. */
  load(tag: string, options?: LoadOptions): Promise<SessionState>;
  /** Appends the receipt, moves the chain head and replaces the summary, all or nothing. */
  commit(commit: Commit): Promise<CommitResult>;
  /** Opens a session with no action yet; 'exists' when the tag already has one. */
  openSession(tag: string, meta: SessionMeta): Promise<'created' | 'exists'>;
  getReceipt(receiptId: string): Promise<Receipt | undefined>;
  /** The session's receipts in chain order. */
  listReceipts(tag: string): Promise<Receipt[]>;
  getPending(id: string): Promise<PendingRecord | undefined>;
  /** The tag of the session where a caller-chosen action id was decided; 'ambiguous' if in several. */
  findActionSession(tenant: string, actionId: string): Promise<string | 'ambiguous' | undefined>;
  addRevocation(revocation: Revocation): Promise<void>;
  /**
   * Capabilities (capabilities/redemptions.ts): records a capability's jti as used until
   * expiresAtMs. Atomic: of concurrent calls for one jti, on any replica, exactly one gets 'first'.
   */
  redeemCapability(jti: string, expiresAtMs: number): Promise<'first' | 'again'>;
  /** Whether the capability `jti` was redeemed (and its record has not expired). */
  capabilityRedeemed(jti: string): Promise<boolean>;
  /** A tenant's approvals or deferrals that are still pending, soonest to expire first. */
  listPending(tenant: string, kind: PendingRecord['kind'], limit: number): Promise<PendingRecord[]>;
  /** Ids of pending records whose expiry is at or before `nowMs` (for the expiry sweeper). */
  duePending(nowMs: number, limit: number): Promise<string[]>;
  /** Takes closed records out of the pending indexes. */
  unindexPending(records: Pick<PendingRecord, 'id' | 'tenant'>[]): Promise<void>;
  /** Tells every replica that a pending record changed (wakes long-polls). */
  publish(id: string): Promise<void>;
  /** Called with the id of every pending record that changed, on any replica. Returns an unsubscribe. */
  subscribe(listener: (id: string) => void): () => void;
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function emptySummary(): SessionSummary {
  return {
    action_count: 0,
    tools_used: {},
    decisions: { ALLOW: 0, DENY: 0, MODIFY: 0, STEP_UP: 0, DEFER: 0 },
    outcomes: { success: 0, error: 0 },
    data_classes: [],
    max_classification: 'PUBLIC',
    history: [],
    pending_deferrals: [],
    drift: initialDrift(),
  };
}

/** How long a subject revocation (or a jti revocation without `exp`) is kept by default: 90 days. */
export const DEFAULT_REVOCATION_TTL_SECONDS = 90 * 24 * 3600;

/**
 * A jti revocation with `exp` is kept this long past it: the largest clock tolerance the
 * token verifier accepts (ARBITER_JWT_CLOCK_TOLERANCE_S ≤ 300), so it never lapses while
 * the token could still verify.
 */
export const REVOCATION_EXP_LEEWAY_SECONDS = 300;

/**
 * A revocation's entries: the key each is stored under and when it may be forgotten.
 * Keys are per tenant, with each part percent-encoded so that no tenant, token id or
 * subject can spell another's key (`:` in a tenant, issue 12).
 */
export function revocationEntries(
  r: Revocation,
  ttlSeconds: number,
  nowMs: number,
): { key: string; expiresAtMs: number }[] {
  const at = Date.parse(r.at);
  const long = (Number.isFinite(at) ? at : nowMs) + ttlSeconds * 1000;
  return [
    ...(r.jti !== undefined
      ? [
          {
            key: revocationKey(r.tenant, 'jti', r.jti),
            expiresAtMs: r.exp !== undefined ? (r.exp + REVOCATION_EXP_LEEWAY_SECONDS) * 1000 : long,
          },
        ]
      : []),
    ...(r.sub !== undefined ? [{ key: revocationKey(r.tenant, 'sub', r.sub), expiresAtMs: long }] : []),
  ];
}

/** The keys that a token id and subject of a tenant are looked up under. */
export function revocationKeys(r: { tenant: string; jti?: string; sub?: string }): string[] {
  return [
    ...(r.jti !== undefined ? [revocationKey(r.tenant, 'jti', r.jti)] : []),
    ...(r.sub !== undefined ? [revocationKey(r.tenant, 'sub', r.sub)] : []),
  ];
}

function revocationKey(tenant: string, kind: 'jti' | 'sub', id: string): string {
  return `t:${encodeURIComponent(tenant)}:${kind}:${encodeURIComponent(id)}`;
}

/**
 * The field names of the revocation hash written before per-tenant keys (a jti for every
 * tenant, an ambiguous `sub:<tenant>:<sub>`). Still read, with their old, broader meaning
 * (fail closed), so an upgrade forgets no revocation; nothing writes them any more.
 */
export function legacyRevocationFields(r: { tenant: string; jti?: string; sub?: string }): string[] {
  return [
    ...(r.jti !== undefined ? [`jti:${r.jti}`] : []),
    ...(r.sub !== undefined ? [`sub:${r.tenant}:${r.sub}`] : []),
  ];
}
