/**
 * The context store (AARM R2): what a session has done so far, kept as a running
 * summary so a decision costs the same on the first action and the ten-thousandth.
 */
import type { Decision, Receipt, ReceiptAction } from '../receipts/types.js';

export const CLASSIFICATIONS = ['PUBLIC', 'INTERNAL', 'CONFIDENTIAL', 'RESTRICTED'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export interface HistoryEntry {
  action_id: string;
  tool: string;
  decision: Decision;
  at: string;
}

/** Exactly what policy sees as `input.context`: the session before the current action. */
export interface SessionSummary {
  action_count: number;
  tools_used: Record<string, number>;
  decisions: Record<Decision, number>;
  data_classes: string[];
  max_classification: Classification;
  /** The most recent actions, oldest first, at most ARBITER_HISTORY_SIZE. */
  history: HistoryEntry[];
}

/** Fixed when the session opens; later calls cannot rewrite it. */
export interface SessionMeta {
  id: string;
  intent?: string;
  started_at: string;
  agent?: string;
  human?: string;
}

/** A STEP_UP or DEFER waiting for a human or for more context. */
export interface PendingRecord {
  id: string;
  kind: 'approval' | 'deferral';
  session_id: string;
  /** The exact action waiting: its parameter hash binds any later approval to it. */
  action: Omit<ReceiptAction, 'modified_parameters' | 'modified_parameters_hash'>;
  identity: Receipt['identity'];
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
}

/** What the first decision of an action id returned: replayed for retries (idempotency). */
export interface StoredDecision {
  parameters_hash: string;
  response: Record<string, unknown>;
}

export interface SessionState {
  meta: SessionMeta | undefined;
  summary: SessionSummary;
  /** seq of the session's last receipt; 0 for a new session. The commit's concurrency token. */
  seq: number;
  /** receiptHash() of the last receipt, null for a new session. */
  head: string | null;
  /** Present when the action id asked about was already decided in this session. */
  prior: StoredDecision | undefined;
}

export interface Commit {
  sessionId: string;
  /** The seq read by load(); the commit is refused when the session has moved on since. */
  expectedSeq: number;
  /** Written only when the session has none yet. */
  meta: SessionMeta;
  summary: SessionSummary;
  receipt: Receipt;
  receiptHash: string;
  /** Set when the caller gave an action id: later calls with it get `decision` back. */
  idempotency?: { actionId: string; decision: StoredDecision };
  pending?: PendingRecord;
}

export type CommitResult = 'committed' | 'conflict' | 'duplicate';

export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /** Everything a decision needs, in one round trip. */
  load(sessionId: string, actionId?: string): Promise<SessionState>;
  /** Appends the receipt, moves the chain head and replaces the summary, all or nothing. */
  commit(commit: Commit): Promise<CommitResult>;
  getReceipt(receiptId: string): Promise<Receipt | undefined>;
  /** The session's receipts in chain order. */
  listReceipts(sessionId: string): Promise<Receipt[]>;
  getPending(id: string): Promise<PendingRecord | undefined>;
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function emptySummary(): SessionSummary {
  return {
    action_count: 0,
    tools_used: {},
    decisions: { ALLOW: 0, DENY: 0, MODIFY: 0, STEP_UP: 0, DEFER: 0 },
    data_classes: [],
    max_classification: 'PUBLIC',
    history: [],
  };
}
