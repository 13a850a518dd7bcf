/**
 * The action boundary, top to bottom (AARM R1). Each step is a call into its own module;
 * each failure leaves as an ArbiterError that the HTTP layer answers with a non-ALLOW:
 *
 *   intercept  validated envelope → identity → normalised action     (400, or DENY)
 *   context    the session's running summary, one store round trip  (503 DENY)
 *   policy     the compiled WASM on {action, session, identity, context, signals, now}
 *                                                                    (503 DENY)
 *   enforce    the combined decision → patch, approval, deferral     (patch failure: DENY)
 *   receipt    build and sign; it is stored by the commit below
 *   commit     receipt, chain head, summary, pending record: one atomic write (503 DENY);
 *              refused if the session moved on since `context`, then re-evaluated
 *   answer     only after the commit: the PEP never hears of a decision we could lose
 */
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { newId } from './context/ids.js';
import type { PendingRecord, SessionMeta, SessionState, SessionStore, SessionSummary } from './context/types.js';
import { deny, enforce, type Enforcement } from './enforce/enforce.js';
import { ArbiterError } from './errors.js';
import type { DecideRequest } from './intercept/envelope.js';
import { normaliseAction, type NormalisedAction } from './intercept/normalise.js';
import type { PolicyEngine, PolicyVersion } from './policy/engine.js';
import { hashOf } from './receipts/canonical.js';
import type { SigningKey } from './receipts/keys.js';
import { maskParameters } from './receipts/mask.js';
import { receiptHash, signReceipt } from './receipts/sign.js';
import type { Receipt, ReceiptBody, ReceiptIdentity } from './receipts/types.js';
import type { Metrics } from './telemetry/metrics.js';
import { ENTRYPOINT } from './policy/compile.js';

export interface DecideDeps {
  store: SessionStore;
  policy: PolicyEngine;
  signingKey: SigningKey;
  metrics: Metrics;
  clock: () => Date;
  historySize: number;
  commitRetries: number;
}

export interface DecideResponse {
  decision: Enforcement['decision'];
  action_id: string;
  reasons: { policy_id: string; reason: string }[];
  parameters?: Record<string, unknown>;
  approval?: { id: string; expires_at: string };
  deferral?: { id: string; expires_at: string; context_needed: string[] };
  receipt: { id: string; hash: string };
  policy: { revision: string; hash: string };
}

const tracer = trace.getTracer('arbiter');

interface Identity {
  receipt: ReceiptIdentity;
  /** What policy sees as input.identity. */
  input: { agent?: string; human?: string; service?: string; role?: string; scopes: string[]; delegation: unknown[] };
}

/** With ARBITER_AUTH=off the caller's ids are taken as given, and receipts say so. */
function unverifiedIdentity(identity: DecideRequest['identity']): Identity {
  const ids = {
    ...(identity.agent !== undefined && { agent: identity.agent }),
    ...(identity.human !== undefined && { human: identity.human }),
    ...(identity.service !== undefined && { service: identity.service }),
    ...(identity.role !== undefined && { role: identity.role }),
  };
  return { receipt: { ...ids, verified: false, method: 'none' }, input: { ...ids, scopes: [], delegation: [] } };
}

/** The session after this action: O(1) in the session's length (ARCHITECTURE). */
export function advanceSummary(
  summary: SessionSummary,
  entry: { actionId: string; tool: string; decision: Enforcement['decision']; at: string },
  historySize: number,
): SessionSummary {
  return {
    ...summary,
    action_count: summary.action_count + 1,
    tools_used: { ...summary.tools_used, [entry.tool]: (summary.tools_used[entry.tool] ?? 0) + 1 },
    decisions: { ...summary.decisions, [entry.decision]: summary.decisions[entry.decision] + 1 },
    history: [
      ...summary.history,
      { action_id: entry.actionId, tool: entry.tool, decision: entry.decision, at: entry.at },
    ].slice(-historySize),
  };
}

/** Decisions that policy never sees: the session or the identity itself is not acceptable. */
function precheck(identity: Identity, meta: SessionMeta | undefined): Enforcement | undefined {
  if (!identity.input.agent) return deny('aarm.identity', 'the action names no agent identity');
  if (meta?.agent !== undefined && meta.agent !== identity.input.agent) {
    return deny('aarm.session_identity', 'the session belongs to another agent');
  }
  return undefined;
}

function expiry(now: Date, seconds: number): string {
  return new Date(now.getTime() + seconds * 1000).toISOString();
}

export async function decide(deps: DecideDeps, request: DecideRequest): Promise<DecideResponse> {
  return tracer.startActiveSpan('aarm.decide', async (span) => {
    try {
      span.setAttributes({ 'aarm.tool': request.action.tool, 'aarm.session': request.session.id });
      const response = await decideInSpan(deps, request);
      span.setAttributes({
        'aarm.decision': response.decision,
        'aarm.action_id': response.action_id,
        'aarm.receipt_id': response.receipt.id,
        'aarm.policy.revision': response.policy.revision,
      });
      return response;
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof ArbiterError ? err.code : 'internal' });
      throw err;
    } finally {
      span.end();
    }
  });
}

async function decideInSpan(deps: DecideDeps, request: DecideRequest): Promise<DecideResponse> {
  const { metrics } = deps;
  const started = performance.now();
  const now = deps.clock();
  const at = now.toISOString();

  // intercept
  const action = normaliseAction(request.action);
  const identity = unverifiedIdentity(request.identity);
  const idempotencyKey = action.idFromCaller ? action.id : undefined;

  for (let attempt = 0; attempt < deps.commitRetries; attempt++) {
    // context
    const state = await metrics.stage('context', () => deps.store.load(request.session.id, idempotencyKey));
    if (state.prior) {
      if (state.prior.parameters_hash !== action.parametersHash) {
        throw new ArbiterError('conflict', 'action.id was already used in this session for other parameters');
      }
      return state.prior.response as unknown as DecideResponse;
    }
    const meta: SessionMeta = state.meta ?? {
      id: request.session.id,
      ...(request.session.intent !== undefined && { intent: request.session.intent }),
      started_at: at,
      ...(identity.input.agent !== undefined && { agent: identity.input.agent }),
      ...(identity.input.human !== undefined && { human: identity.input.human }),
    };

    // policy, enforce
    const { enforcement, version } = await evaluate(deps, { request, action, identity, meta, state, at });

    // receipt
    const receiptId = newId('rcpt', request.session.id);
    const pending = pendingRecord(enforcement, { request, action, identity, meta, state, now, version, receiptId });
    const receipt = await metrics.stage('sign', () =>
      signReceipt(
        receiptBody({ request, action, identity, state, at, version, enforcement, pending, receiptId }),
        deps.signingKey,
      ),
    );
    const hash = receiptHash(receipt);
    const response = answer(action, enforcement, receipt, hash, version, pending);

    // commit
    const result = await metrics.stage('commit', () =>
      deps.store.commit({
        sessionId: request.session.id,
        expectedSeq: state.seq,
        meta,
        summary: advanceSummary(
          state.summary,
          { actionId: action.id, tool: action.tool, decision: enforcement.decision, at },
          deps.historySize,
        ),
        receipt,
        receiptHash: hash,
        ...(idempotencyKey !== undefined && {
          idempotency: {
            actionId: idempotencyKey,
            decision: { parameters_hash: action.parametersHash, response: response as unknown as Record<string, unknown> },
          },
        }),
        ...(pending && { pending }),
      }),
    );
    if (result === 'committed') {
      metrics.decisions.inc({ decision: response.decision });
      metrics.decisionDuration.observe({ decision: response.decision }, (performance.now() - started) / 1000);
      return response;
    }
    // 'conflict': another decision of this session committed first, so ours was judged on
    // a stale context; 'duplicate': a retry of this action id won the race. Either way,
    // read again: the next load sees the new context or the first answer.
    metrics.commitConflicts.inc();
  }
  throw new ArbiterError('contention');
}

interface Step {
  request: DecideRequest;
  action: NormalisedAction;
  identity: Identity;
  meta: SessionMeta;
  state: SessionState;
  at: string;
}

async function evaluate(deps: DecideDeps, step: Step): Promise<{ enforcement: Enforcement; version: PolicyVersion }> {
  const refused = precheck(step.identity, step.state.meta);
  if (refused) {
    const version = deps.policy.version;
    if (!version) throw new ArbiterError('policy_unavailable', 'no policy is loaded');
    return { enforcement: refused, version };
  }
  const input = {
    action: {
      id: step.action.id,
      tool: step.action.tool,
      operation: step.action.operation,
      target: step.action.target,
      parameters: step.action.parameters,
    },
    session: { id: step.meta.id, intent: step.meta.intent, started_at: step.meta.started_at },
    identity: step.identity.input,
    context: step.state.summary,
    signals: step.request.signals,
    now: step.at,
  };
  const { decision, version } = await deps.metrics.stage('evaluate', () => deps.policy.evaluate(input));
  return { enforcement: enforce(decision, step.action.parameters), version };
}

function pendingRecord(
  enforcement: Enforcement,
  step: Omit<Step, 'at'> & { now: Date; version: PolicyVersion; receiptId: string },
): PendingRecord | undefined {
  const wait = enforcement.approval ?? enforcement.deferral;
  if (!wait) return undefined;
  const kind = enforcement.approval ? 'approval' : 'deferral';
  return {
    id: newId(kind === 'approval' ? 'apr' : 'dfr', step.request.session.id),
    kind,
    session_id: step.request.session.id,
    action: {
      id: step.action.id,
      tool: step.action.tool,
      ...(step.action.operation !== undefined && { operation: step.action.operation }),
      ...(step.action.target !== undefined && { target: step.action.target }),
      parameters_hash: step.action.parametersHash,
      parameters: maskParameters(step.action.parameters),
    },
    identity: step.identity.receipt,
    reasons: enforcement.reasons,
    ...(enforcement.approval && { approvers: enforcement.approval.approvers }),
    ...(enforcement.deferral && { context_needed: enforcement.deferral.contextNeeded }),
    ...(enforcement.risk !== undefined && { risk: enforcement.risk }),
    context: step.state.summary,
    ...(step.meta.intent !== undefined && { intent: step.meta.intent }),
    policy: { revision: step.version.revision, hash: step.version.hash },
    receipt_id: step.receiptId,
    created_at: step.now.toISOString(),
    expires_at: expiry(step.now, wait.timeoutSeconds),
  };
}

function receiptBody(
  step: Omit<Step, 'meta'> & {
    version: PolicyVersion;
    enforcement: Enforcement;
    pending: PendingRecord | undefined;
    receiptId: string;
  },
): ReceiptBody {
  const { action, enforcement, pending } = step;
  return {
    version: '1',
    receipt_id: step.receiptId,
    kind: 'decision',
    session_id: step.request.session.id,
    seq: step.state.seq + 1,
    prev_hash: step.state.head,
    timestamp: step.at,
    action: {
      id: action.id,
      tool: action.tool,
      ...(action.operation !== undefined && { operation: action.operation }),
      ...(action.target !== undefined && { target: action.target }),
      parameters_hash: action.parametersHash,
      parameters: maskParameters(action.parameters),
      ...(enforcement.parameters && {
        modified_parameters: maskParameters(enforcement.parameters),
        modified_parameters_hash: hashOf(enforcement.parameters),
      }),
    },
    identity: step.identity.receipt,
    context_hash: hashOf(step.state.summary),
    decision: enforcement.decision,
    reasons: enforcement.reasons,
    policy: { revision: step.version.revision, hash: step.version.hash, path: ENTRYPOINT },
    ...(pending?.kind === 'approval' && { approval: { id: pending.id, expires_at: pending.expires_at } }),
    ...(pending?.kind === 'deferral' && {
      deferral: { id: pending.id, expires_at: pending.expires_at, context_needed: pending.context_needed ?? [] },
    }),
  };
}

function answer(
  action: NormalisedAction,
  enforcement: Enforcement,
  receipt: Receipt,
  hash: string,
  version: PolicyVersion,
  pending: PendingRecord | undefined,
): DecideResponse {
  return {
    decision: enforcement.decision,
    action_id: action.id,
    reasons: enforcement.reasons,
    ...(enforcement.parameters && { parameters: enforcement.parameters }),
    ...(pending?.kind === 'approval' && { approval: { id: pending.id, expires_at: pending.expires_at } }),
    ...(pending?.kind === 'deferral' && {
      deferral: { id: pending.id, expires_at: pending.expires_at, context_needed: pending.context_needed ?? [] },
    }),
    receipt: { id: receipt.receipt_id, hash },
    policy: { revision: version.revision, hash: version.hash },
  };
}
