/**
 * The session outside a single decision: opening one with its intent (AARM R2: the
 * original request, fixed once), and recording what an action did once it ran. An
 * outcome is a step appended to the session's chain (chain/), like a decision, with its
 * own chained receipt.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { StepResult } from './chain/chain.js';
import { sessionTag, tagOfId } from './context/ids.js';
import type { ActionRecord, SessionMeta, SessionState, SessionSummary } from './context/types.js';
import type { DecideDeps } from './decide.js';
import { ArbiterError } from './errors.js';
import { afterOutcome, flowSessionView, policyContext, prepareFlow, sessionLevel } from './flow/index.js';
import { resolveAgent, type Caller } from './intercept/agent.js';
import { intentEmbeddingFor } from './drift/index.js';
import { DecideRequestSchema } from './intercept/envelope.js';
import { ENTRYPOINT } from './policy/compile.js';
import { hashOf } from './receipts/canonical.js';
import type { Receipt } from './receipts/types.js';

const sessionId = DecideRequestSchema.shape.session.shape.id;

export const OpenSessionSchema = z.object({
  id: sessionId.optional(),
  intent: z
    .string()
    .min(1)
    .max(16 * 1024),
  identity: DecideRequestSchema.shape.identity,
});

/** Outcome content is scanned, never stored: bounded so one outcome costs little. */
export const MAX_CONTENT_BYTES = 256 * 1024;
export const MAX_FACTS = 32;

const fact = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]);

export const OutcomeSchema = z.object({
  status: z.enum(['success', 'error']),
  output_hash: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>')
    .optional(),
  data_classes: z.array(z.string().min(1).max(64)).max(64).default([]),
  summary: z.string().max(4096).optional(),
  /** Needed only when the action id was chosen by the caller and used in several sessions. */
  session_id: sessionId.optional(),
  /** What the tool returned (a string or JSON): scanned for entities and instructions, never kept. */
  content: z
    .unknown()
    .refine((c) => c === undefined || Buffer.byteLength(JSON.stringify(c) ?? '') <= MAX_CONTENT_BYTES, {
      message: `must be at most ${MAX_CONTENT_BYTES} bytes as JSON`,
    })
    .optional(),
  trust: z.enum(['trusted', 'untrusted']).optional(),
  facts: z
    .record(z.string().min(1).max(64), fact)
    .refine((f) => Object.keys(f).length <= MAX_FACTS, { message: `at most ${MAX_FACTS} facts` })
    .optional(),
  records: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

/**
 * What GET /v1/sessions/{id} shows: the fixed meta, the context policy sees next, and the
 * session part of input.flow. Never the fingerprints or their salt.
 */
export function sessionView(state: SessionState & { meta: SessionMeta }, now: Date = new Date()) {
  const { intent_embedding: _embedding, ...meta } = state.meta;
  return {
    ...meta,
    context: policyContext(state.summary),
    flow: flowSessionView(state.summary, now),
    seq: state.seq,
    head: state.head,
  };
}

export async function openSession(
  deps: DecideDeps,
  caller: Caller,
  body: z.infer<typeof OpenSessionSchema>,
): Promise<ReturnType<typeof sessionView>> {
  const identity = await resolveAgent(deps.verifier, caller, body.identity);
  if (identity.refusal) throw new ArbiterError('unauthenticated', identity.refusal.reason);
  const meta: SessionMeta = {
    id: body.id ?? `ses_${randomUUID()}`,
    tenant: caller.tenant,
    intent: body.intent,
    started_at: deps.clock().toISOString(),
    ...(identity.input.agent !== undefined && { agent: identity.input.agent }),
    ...(identity.input.human !== undefined && { human: identity.input.human }),
  };
  // The intent is embedded once, here (docs/drift.md); a provider failure leaves it to the first action.
  const embedding = await intentEmbeddingFor(deps.drift, meta.intent);
  if (embedding) meta.intent_embedding = embedding;
  const tag = sessionTag(caller.tenant, meta.id);
  if ((await deps.store.openSession(tag, meta)) === 'exists') {
    throw new ArbiterError('conflict', 'the session exists already; its intent and identity cannot be rewritten');
  }
  return sessionView({ ...(await deps.store.load(tag)), meta }, deps.clock());
}

/** The session of an action id: given, embedded in a generated id, or from the index of caller ids. */
async function locateAction(deps: DecideDeps, caller: Caller, actionId: string, session?: string): Promise<string> {
  if (session !== undefined) return sessionTag(caller.tenant, session);
  const embedded = tagOfId(actionId, 'act');
  if (embedded !== undefined) return embedded;
  const indexed = await deps.store.findActionSession(caller.tenant, actionId);
  if (indexed === 'ambiguous') {
    throw new ArbiterError('conflict', 'this action id was used in several sessions: name the session in session_id');
  }
  if (indexed === undefined) throw new ArbiterError('not_found', 'no such action');
  return indexed;
}

export interface OutcomeResponse {
  action_id: string;
  session_id: string;
  status: 'success' | 'error';
  data_classes: string[];
  classification?: string;
  /** Whether the result counted as untrusted content, and what the scanner made of it. */
  trust: 'trusted' | 'untrusted';
  injection?: { score: number; features: string[] };
  /** How many entities the content named (kept only as fingerprints). */
  entities: number;
  receipt: { id: string; hash: string };
  outcome_receipt: Receipt;
}

export async function recordOutcome(
  deps: DecideDeps,
  caller: Caller,
  actionId: string,
  body: z.infer<typeof OutcomeSchema>,
  requestId?: string,
): Promise<OutcomeResponse> {
  const tag = await locateAction(deps, caller, actionId, body.session_id);
  const at = deps.clock().toISOString();
  return deps.chain.append(tag, { actionId }, (state, { receiptId }) =>
    outcomeStep(deps, caller, body, at, state, receiptId, requestId),
  );
}

/** An outcome as a chain step: its receipt, the action record and the session after it. */
function outcomeStep(
  deps: DecideDeps,
  caller: Caller,
  body: z.infer<typeof OutcomeSchema>,
  at: string,
  state: SessionState,
  receiptId: string,
  requestId: string | undefined,
): StepResult<OutcomeResponse> {
  // Another tenant's session reads as absent: ids must not reveal what exists elsewhere.
  if (!state.meta || state.meta.tenant !== caller.tenant || !state.action) {
    throw new ArbiterError('not_found', 'no such action');
  }
  const meta = state.meta;
  const record = state.action;
  if (record.outcome) throw new ArbiterError('conflict', 'an outcome was already recorded for this action');
  const labels = [...new Set(body.data_classes)].sort();
  const outcome = afterOutcome({
    flow: prepareFlow(state.summary, meta.intent),
    policyData: deps.policy.data,
    actionId: record.id,
    tool: record.tool,
    operation: record.operation,
    status: body.status,
    labels,
    ...(body.content !== undefined && { content: body.content }),
    trust: body.trust,
    facts: body.facts,
    records: body.records,
    at,
    actionCount: state.summary.action_count,
  });
  const { classification } = outcome;
  const decisionPolicy =
    (record.response as { policy?: { revision: string; hash: string } }).policy ?? deps.policy.version;
  if (!decisionPolicy) throw new ArbiterError('policy_unavailable', 'no policy is loaded');
  const summary: SessionSummary = {
    ...state.summary,
    outcomes: { ...state.summary.outcomes, [body.status]: state.summary.outcomes[body.status] + 1 },
    data_classes: [...new Set([...state.summary.data_classes, ...labels])].sort(),
    // The outcome's level replaces the action's provisional one (docs/detection.md 3.1).
    max_classification: sessionLevel(outcome.flow),
    flow: outcome.flow,
  };
  const updated: ActionRecord = { ...record, outcome: { status: body.status, receipt_id: receiptId, at } };
  return {
    append: {
      kind: 'outcome',
      meta,
      at,
      content: {
        action: { id: record.id, tool: record.tool, parameters_hash: record.parameters_hash, parameters: null },
        identity: {
          ...(meta.agent !== undefined && { agent: meta.agent }),
          verified: caller.verified,
          method: caller.verified ? 'jwt' : 'none',
        },
        context_hash: hashOf(policyContext(state.summary)),
        decision: record.decision,
        reasons: [],
        policy: { revision: decisionPolicy.revision, hash: decisionPolicy.hash, path: ENTRYPOINT },
        outcome: {
          status: body.status,
          ...(body.output_hash !== undefined && { output_hash: body.output_hash }),
          ...(body.summary !== undefined && { summary_hash: hashOf(body.summary) }),
          data_classes: labels,
          ...(classification !== undefined && { classification }),
          decision_receipt_id: record.receipt_id,
          reported_by: caller.subject,
          unauthorised: !['ALLOW', 'MODIFY'].includes(record.final_decision ?? record.decision),
          // What the content counted as: its hash, never the content (docs/detection.md 3.1).
          ...(body.content !== undefined && { content_hash: hashOf(body.content) }),
          trust: outcome.trust,
          ...(outcome.scan && { injection_score: outcome.scan.score }),
          ...(body.content !== undefined && { entities: outcome.entities }),
          ...(body.facts !== undefined && { facts: Object.keys(body.facts).sort() }),
        },
        ...(requestId !== undefined && { request_id: requestId }),
      },
      summary,
      action: () => updated,
    },
    answer: ({ receipt, hash }) => ({
      action_id: record.id,
      session_id: meta.id,
      status: body.status,
      data_classes: labels,
      ...(classification !== undefined && { classification }),
      trust: outcome.trust,
      ...(outcome.scan && { injection: outcome.scan }),
      entities: outcome.entities,
      receipt: { id: receipt.receipt_id, hash },
      outcome_receipt: receipt,
    }),
  };
}
