/**
 * The action boundary, top to bottom (AARM R1). Each step is a call into its own module;
 * each failure leaves as an ArbiterError that the HTTP layer answers with a non-ALLOW:
 *
 *   intercept  validated envelope (http) → normalised action → agent identity
 *   context    the session's running summary, this action id's record and the revocation
 *              list, in one store round trip                        (503 DENY)
 *   replay     an action id decided before: its first answer, only to the same, unrevoked
 *              agent                                                 (403 DENY otherwise)
 *   refuse     an identity that is missing, unverifiable, foreign or revoked, or another
 *              agent than the session's: DENY with a receipt, policy not asked
 *   drift      this action's distance from the session's intent      (provider down: DEFER)
 *   flow       where this action's values come from and go (flow/: catalog kinds, org data,
 *              the session's fingerprints), as input.flow and input.provenance
 *   policy     the compiled WASM on {action, session, identity, context, signals, drift,
 *              flow, provenance, now}                                 (503 DENY)
 *   enforce    the combined decision → patch (re-checked against policy), approval,
 *              deferral, ordering behind waiting deferrals           (patch failure: DENY)
 *   receipt    capability for ALLOW/MODIFY; receipt built and signed; stored by the commit
 *   commit     receipt, outbox entry, chain head, summary, action record, pending record:
 *              one atomic write (503 DENY). context … commit is one step appended by the
 *              session chain (chain/): in the session's turn within this process, and made
 *              again on the new context when another replica committed first
 *   answer     only after the commit: the PEP never hears of a decision we could lose
 */
import { context as otelContext, isSpanContextValid, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import type { ReceiptContent, SessionChain, Signed, StepResult } from './chain/chain.js';
import { grantCapability, type GrantedCapability } from './capabilities/grant.js';
import { capabilityHeldBy } from './capabilities/token.js';
import { newId, sessionTag } from './context/ids.js';
import type { PendingRecord, SessionMeta, SessionState, SessionStore, SessionSummary } from './context/types.js';
import { catalogEntryOf, driftStep, type DriftEngine, type DriftInput } from './drift/index.js';
import { deny, enforceChecked, MAX_WAITING_DEFERRALS, type Enforcement } from './enforce/enforce.js';
import { requestedEvent } from './enforce/pending.js';
import { ArbiterError } from './errors.js';
import {
  actionFlow,
  afterDecision,
  policyContext,
  prepareFlow,
  receiptFlow,
  sessionLevel,
  type ActionFlow,
  type FlowInput,
  type FlowState,
} from './flow/index.js';
import { resolveAgent, type AgentResolution, type Caller } from './intercept/agent.js';
import type { DecideRequest } from './intercept/envelope.js';
import type { TokenVerifier } from './intercept/identity.js';
import { normaliseAction, type NormalisedAction } from './intercept/normalise.js';
import { ENTRYPOINT } from './policy/compile.js';
import type { Policy, PolicyVersion } from './policy/policy.js';
import { hashOf } from './receipts/canonical.js';
import type { SigningKey } from './receipts/keys.js';
import { maskerFor, maskingPaths, maskParameters, type Masker } from './receipts/mask.js';
import type { Producer } from './receipts/header.js';
import type { Notifier } from './notify/webhooks.js';
import type { Metrics } from './telemetry/metrics.js';

export interface DecideDeps {
  /** Intent-drift measurement (AARM R7, docs/drift.md); undefined when ARBITER_DRIFT=off. */
  drift?: DriftEngine | undefined;
  store: SessionStore;
  /** The compiled policy (policy/engine.ts, in worker threads) or a test double (policy/static.ts). */
  policy: Policy;
  signingKey: SigningKey;
  metrics: Metrics;
  clock: () => Date;
  /** Present when ARBITER_AUTH=jwt: agents are then known only through verified tokens. */
  verifier: TokenVerifier | undefined;
  /** Tells operators about new approvals and deferrals (webhooks), off the decision path. */
  notifier: Notifier;
  /** Names this replica in receipts (OPA decision-log labels). */
  producer: Producer;
  historySize: number;
  /** The session chain (chain/): main.ts builds one per process, shared by every service. */
  chain: SessionChain;
  /** ARBITER_CAPABILITY_TTL_S. */
  capabilityTtlSeconds: number;
}

export interface DecideResponse {
  decision: Enforcement['decision'];
  action_id: string;
  reasons: { policy_id: string; reason: string }[];
  parameters?: Record<string, unknown>;
  approval?: { id: string; expires_at: string };
  deferral?: { id: string; expires_at: string; context_needed: string[] };
  /** ALLOW and MODIFY: the capability token for exactly this action (AARM R9). */
  capability?: string;
  /** When drift is measured: this action's distance from the intent, and the session's running measure (AARM R7). */
  drift?: { distance: number; cumulative: number };
  receipt: { id: string; hash: string };
  policy: { revision: string; hash: string };
}

const tracer = trace.getTracer('arbiter');

/**
 * `parent` is the caller's W3C trace context: the span (and so the receipt's trace_id)
 * continues the caller's trace. Without a tracing SDK the span is not recorded, and the
 * receipt carries the caller's own trace and span ids. `requestId` (the access log's, issue
 * 12) goes into the span and the receipt, so a log line, a trace and a receipt meet.
 */
export async function decide(
  deps: DecideDeps,
  caller: Caller,
  request: DecideRequest,
  parent: Context = otelContext.active(),
  requestId?: string,
): Promise<DecideResponse> {
  return tracer.startActiveSpan('aarm.decide', {}, parent, async (span) => {
    try {
      span.setAttributes({
        'aarm.tool': request.action.tool,
        'aarm.session': request.session.id,
        ...(requestId !== undefined && { 'arbiter.request_id': requestId }),
      });
      const sc = span.spanContext();
      const trace = isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : undefined;
      const response = await decideInSpan(deps, caller, request, trace, requestId);
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

async function decideInSpan(
  deps: DecideDeps,
  caller: Caller,
  request: DecideRequest,
  trace: { traceId: string; spanId: string } | undefined,
  requestId: string | undefined,
): Promise<DecideResponse> {
  const started = performance.now();
  const now = deps.clock();
  const tag = sessionTag(caller.tenant, request.session.id);

  // intercept
  const action = normaliseAction(request.action, tag);
  const identity = await resolveAgent(deps.verifier, caller, request.identity);

  // context … commit: one append to the session's chain (chain/), in the session's turn
  const asked: Asked = {
    request,
    tenant: caller.tenant,
    tag,
    action,
    identity,
    now,
    at: now.toISOString(),
    trace,
    requestId,
    holder: caller.verified ? caller.subject : undefined,
  };
  const decided = await deps.chain.append(
    tag,
    {
      actionId: action.id,
      ...(identity.revocation && { revocation: { tenant: caller.tenant, ...identity.revocation } }),
    },
    (state, turn) => decisionStep(deps, asked, state, turn.receiptId),
  );

  // answer
  if (decided.fresh) {
    deps.metrics.decisions.inc({ decision: decided.response.decision });
    deps.metrics.decisionDuration.observe(
      { decision: decided.response.decision },
      (performance.now() - started) / 1000,
    );
    if (decided.pending) deps.notifier.notify(requestedEvent(decided.pending));
  }
  return decided.response;
}

/** What the request brings to the step, fixed before the session is read. */
interface Asked {
  request: DecideRequest;
  tenant: string;
  tag: string;
  action: NormalisedAction;
  identity: AgentResolution;
  /** Taken once per request (STYLE: determinism), whatever the number of attempts. */
  now: Date;
  at: string;
  trace: { traceId: string; spanId: string } | undefined;
  /** The HTTP request's id (X-Request-Id), signed into the receipt. */
  requestId: string | undefined;
  /** The verified caller a capability is bound to (its `azp`); none with auth off. */
  holder: string | undefined;
}

/** fresh: decided now; otherwise the replay of the action id's first answer. */
interface Decided {
  response: DecideResponse;
  fresh: boolean;
  pending?: PendingRecord | undefined;
}

/**
 * The decision as a chain step: replay, refuse, drift, flow, policy, enforce, capability and
 * what the commit writes, all computed from the session as loaded; nothing written here.
 */
async function decisionStep(
  deps: DecideDeps,
  asked: Asked,
  state: SessionState,
  receiptId: string,
): Promise<StepResult<Decided>> {
  const { request, action, identity, now, at } = asked;
  const meta: SessionMeta = state.meta ?? {
    id: request.session.id,
    tenant: asked.tenant,
    ...(request.session.intent !== undefined && { intent: request.session.intent }),
    started_at: at,
    ...(identity.input.agent !== undefined && { agent: identity.input.agent }),
    ...(identity.input.human !== undefined && { human: identity.input.human }),
  };
  const refused = refusal({ identity, state, meta });

  // replay
  if (state.action) {
    if (state.action.parameters_hash !== action.parametersHash || state.action.tool !== action.tool) {
      throw new ArbiterError('conflict', 'action.id was already used in this session for another action');
    }
    // A replay hands back the first answer, capability included: only to the identity it
    // was given to, and not once that identity is revoked or refused.
    if (refused) {
      throw new ArbiterError(
        'forbidden',
        `this action id cannot be replayed: ${refused.reasons[0]?.reason ?? 'refused'}`,
      );
    }
    const first = state.action.response as unknown as DecideResponse;
    // Its capability is bound to the caller it was granted to: another caller of the tenant
    // gets the answer without it.
    const { capability: granted, ...rest } = first;
    const response =
      granted !== undefined && asked.holder !== undefined && !capabilityHeldBy(granted, asked.holder) ? rest : first;
    return { done: { response, fresh: false } };
  }
  // The flow state this decision reads and advances: created with the session (salt, intent).
  const flow = prepareFlow(state.summary, meta.intent);
  const masking = maskingPaths(deps.policy.data);
  // Masked once: the receipt, the pending record and the drift text all take this copy.
  const masker = maskerFor(deps.signingKey);
  const masked = receiptAction(action, masking, masker);

  // drift (AARM R7): this action's distance from the session's intent, on the masked
  // parameters; policy sees it as input.drift. Refused actions are not measured.
  const drift = refused
    ? undefined
    : await deps.metrics.stage('drift', () =>
        driftStep(deps.drift, {
          intent: meta.intent,
          stored: meta.intent_embedding,
          previous: state.summary.drift,
          action: {
            tool: action.tool,
            ...(action.operation !== undefined && { operation: action.operation }),
            parameters: masked.parameters as Record<string, unknown>,
          },
          catalogEntry: catalogEntryOf(deps.policy.data, action.tool),
        }),
      );
  const step: Step = {
    request,
    tag: asked.tag,
    action,
    identity,
    meta,
    state,
    now,
    at,
    masking,
    masker,
    holder: asked.holder,
    masked,
    refused,
    flow,
    context: policyContext(state.summary),
    ...(drift?.input && { drift: drift.input }),
  };

  // policy, enforce
  const { enforcement, version, input, result: policyResult, flow: evaluatedFlow } = await evaluate(deps, step);

  // receipt
  const pending = pendingRecord(step, enforcement, version, receiptId, input);
  const capability = await grantCapability(deps, {
    decision: enforcement.decision,
    ...(identity.input.agent !== undefined && { agent: identity.input.agent }),
    tenant: meta.tenant,
    sessionId: meta.id,
    actionId: action.id,
    tool: action.tool,
    ...(action.operation !== undefined && { operation: action.operation }),
    parametersHash: action.parametersHash,
    ...(enforcement.parameters && { modifiedParameters: enforcement.parameters }),
    ...(asked.holder !== undefined && { holder: asked.holder }),
    receiptId,
    now,
  });
  const respond = (signed: Signed) => answer(action, enforcement, signed, version, pending, capability, drift?.input);

  // commit: what the chain writes with the receipt
  return {
    append: {
      kind: 'decision',
      // A new session's meta keeps its intent's embedding (the meta is written once).
      meta: !state.meta && drift?.intentEmbedding ? { ...meta, intent_embedding: drift.intentEmbedding } : meta,
      at,
      trace: asked.trace,
      content: receiptContent({
        step,
        enforcement,
        version,
        pending,
        input,
        policyResult,
        capability,
        requestId: asked.requestId,
      }),
      summary: {
        ...advanceSummary(
          state.summary,
          step,
          enforcement.decision,
          deps.policy.data,
          deps.historySize,
          pending,
          evaluatedFlow,
        ),
        ...(drift?.state && { drift: drift.state }),
      },
      action: (signed) => ({
        id: action.id,
        tool: action.tool,
        ...(action.operation !== undefined && { operation: action.operation }),
        decision: enforcement.decision,
        parameters_hash: action.parametersHash,
        receipt_id: signed.receipt.receipt_id,
        response: respond(signed) as unknown as Record<string, unknown>,
      }),
      newAction: true,
      indexAction: action.idFromCaller,
      pending: pending ? [pending] : [],
    },
    answer: (signed) => ({ response: respond(signed), fresh: true, pending }),
  };
}

interface Step {
  request: DecideRequest;
  tag: string;
  action: NormalisedAction;
  identity: AgentResolution;
  meta: SessionMeta;
  state: SessionState;
  now: Date;
  at: string;
  /** Extra masking paths from the policy data (`data.aarm.masking.paths`). */
  /** The verified caller that asked (capabilities are bound to it). */
  holder: string | undefined;
  masking: string[];
  /** The deployment's keyed hash for masked receipt values. */
  masker: Masker;
  /** The action as receipts keep it: parameters masked. */
  masked: ReturnType<typeof receiptAction>;
  /** Set when the identity or the session is not acceptable: the decision is this DENY. */
  refused: Enforcement | undefined;
  /** The session's flow state before this action (flow/index.ts prepareFlow). */
  flow: FlowState;
  /** input.context: the summary without its flow internals. */
  context: ReturnType<typeof policyContext>;
  /** input.drift: this action's drift measurement, when drift is measured. */
  drift?: DriftInput;
}

/** Refusals that policy never sees: the identity, or the session, is not acceptable. */
function refusal(step: Pick<Step, 'identity' | 'state' | 'meta'>): Enforcement | undefined {
  const { identity, state, meta } = step;
  if (identity.refusal) return deny(identity.refusal.policy_id, identity.refusal.reason);
  if (state.revoked) return deny('aarm.identity.revoked', 'the agent token or its subject has been revoked');
  if (meta.agent !== undefined && meta.agent !== identity.input.agent) {
    return deny('aarm.session_identity', 'the session belongs to another agent');
  }
  return undefined;
}

/** Deferrals of the session still waiting at `now`. */
export function liveDeferrals(summary: SessionSummary, now: Date): SessionSummary['pending_deferrals'] {
  return summary.pending_deferrals.filter((d) => Date.parse(d.expires_at) > now.getTime());
}

/**
 * AARM R4: a deferred action keeps its place. A later action on the same target waits
 * behind it (deferred too), independent ones proceed; the number of deferrals a session
 * may have waiting is capped, and past the cap a deferral becomes a DENY.
 */
function ordering(step: Step, enforcement: Enforcement): Enforcement {
  const waiting = liveDeferrals(step.state.summary, step.now);
  const target = step.action.target;
  const ahead = target === undefined ? undefined : waiting.find((d) => d.target === target);
  const result: Enforcement =
    ahead && enforcement.decision !== 'DENY'
      ? {
          decision: 'DEFER',
          reasons: [
            { policy_id: 'aarm.deferral.dependent', reason: `waits behind deferral ${ahead.id} on the same target` },
          ],
          deferral: {
            contextNeeded: [`resolution of ${ahead.id}`],
            timeoutSeconds: Math.max(1, Math.ceil((Date.parse(ahead.expires_at) - step.now.getTime()) / 1000)),
          },
          dependsOn: ahead.id,
        }
      : enforcement;
  if (result.decision === 'DEFER' && waiting.length >= MAX_WAITING_DEFERRALS) {
    return deny('aarm.deferral.cascade', `the session already has ${waiting.length} deferred actions waiting`);
  }
  return result;
}

/**
 * The caller's signals; the session's injection score when the caller sent none, marked
 * `injection_source: "scanner"` (docs/detection.md 3.4). Only the service sets that mark:
 * a caller's own is dropped, so policy can tell a measured score from a claimed one.
 */
function signalsOf(step: Step): Record<string, unknown> {
  const { injection_source: _claimed, ...signals } = step.request.signals;
  const score = step.flow.injection.score;
  return score > 0 && !Object.hasOwn(signals, 'injection_score')
    ? { ...signals, injection_score: score, injection_source: 'scanner' }
    : signals;
}

async function evaluate(
  deps: DecideDeps,
  step: Step,
): Promise<{
  enforcement: Enforcement;
  version: PolicyVersion;
  input?: Record<string, unknown> & { flow: FlowInput };
  result?: unknown;
  flow?: ActionFlow;
}> {
  if (step.refused) {
    const version = deps.policy.version;
    if (!version) throw new ArbiterError('policy_unavailable', 'no policy is loaded');
    return { enforcement: step.refused, version };
  }
  const policyData = deps.policy.data;
  const flowOf = (parameters: Record<string, unknown>) =>
    actionFlow({
      flow: step.flow,
      policyData,
      tool: step.action.tool,
      operation: step.action.operation,
      parameters,
      now: step.now,
      actionCount: step.state.summary.action_count,
    });
  const flow = await deps.metrics.stage('flow', () => flowOf(step.action.parameters));
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
    context: step.context,
    signals: signalsOf(step),
    ...(step.drift && { drift: step.drift }),
    flow: flow.flow,
    provenance: flow.provenance,
    now: step.at,
  };
  const { decision, version } = await deps.metrics.stage('evaluate', () => deps.policy.evaluate(input));
  // A MODIFY's parameters are judged with their own flow (a rewritten recipient is a new
  // value), under the revision that asked for the rewrite; if that one is gone, no rewrite stands.
  const recheck = async (i: Record<string, unknown>) => {
    const again = flowOf((i.action as { parameters: Record<string, unknown> }).parameters);
    const evaluated = await deps.policy.evaluateAt(version.revision, {
      ...i,
      flow: again.flow,
      provenance: again.provenance,
    });
    return evaluated?.decision ?? { decision: 'DENY' as const, reasons: [] };
  };
  const enforcement = await enforceChecked(recheck, input, decision, step.action.parameters);
  return { enforcement: ordering(step, enforcement), version, input, result: decision, flow };
}

/**
 * The session after this action: O(1) in the session's length (ARCHITECTURE). An allowed
 * call to a catalogued tool counts at the tool's classification until its outcome reports
 * the real level (docs/detection.md 3.1), so the next decision knows it even before then.
 */
export function advanceSummary(
  summary: SessionSummary,
  step: Pick<Step, 'action' | 'at' | 'now' | 'flow'>,
  decision: Enforcement['decision'],
  policyData: unknown,
  historySize: number,
  pending: PendingRecord | undefined,
  evaluated: ActionFlow | undefined,
): SessionSummary {
  const { action } = step;
  const deferred =
    pending?.kind === 'deferral'
      ? [
          {
            id: pending.id,
            tool: action.tool,
            ...(action.target !== undefined && { target: action.target }),
            expires_at: pending.expires_at,
          },
        ]
      : [];
  const flow = afterDecision(step.flow, evaluated, {
    decision,
    actionId: action.id,
    tool: action.tool,
    policyData,
    now: step.now,
  });
  return {
    ...summary,
    action_count: summary.action_count + 1,
    tools_used: countedOnce(summary.tools_used, action.tool),
    decisions: { ...summary.decisions, [decision]: summary.decisions[decision] + 1 },
    max_classification: sessionLevel(flow),
    history: [...summary.history, { action_id: action.id, tool: action.tool, decision, at: step.at }].slice(
      -historySize,
    ),
    pending_deferrals: [...liveDeferrals(summary, step.now), ...deferred],
    flow,
  };
}

/**
 * A per-tool count with one more for `key`, as an object without a prototype: a tool named
 * `constructor`, `toString` or `__proto__` is counted like any other (issue 12), and the
 * object serialises as before.
 */
function countedOnce(counts: Record<string, number>, key: string): Record<string, number> {
  const next: Record<string, number> = Object.assign(Object.create(null), counts);
  next[key] = (Object.hasOwn(counts, key) ? (counts[key] ?? 0) : 0) + 1;
  return next;
}

function expiry(now: Date, seconds: number): string {
  return new Date(now.getTime() + seconds * 1000).toISOString();
}

function pendingRecord(
  step: Step,
  enforcement: Enforcement,
  version: PolicyVersion,
  receiptId: string,
  input: Record<string, unknown> | undefined,
): PendingRecord | undefined {
  const wait = enforcement.approval ?? enforcement.deferral;
  if (!wait) return undefined;
  const kind = enforcement.approval ? 'approval' : 'deferral';
  return {
    id: newId(kind === 'approval' ? 'apr' : 'dfr', step.tag),
    kind,
    status: 'pending',
    session_id: step.meta.id,
    tenant: step.meta.tenant,
    action: step.masked,
    identity: step.identity.receipt,
    ...(step.holder !== undefined && { requested_by: step.holder }),
    reasons: enforcement.reasons,
    ...(enforcement.approval && { approvers: enforcement.approval.approvers }),
    ...(enforcement.deferral && { context_needed: enforcement.deferral.contextNeeded }),
    ...(enforcement.risk !== undefined && { risk: enforcement.risk }),
    context: step.context,
    ...(step.meta.intent !== undefined && { intent: step.meta.intent }),
    policy: { revision: version.revision, hash: version.hash },
    receipt_id: receiptId,
    created_at: step.at,
    expires_at: expiry(step.now, wait.timeoutSeconds),
    ...(enforcement.approval && {
      quorum: enforcement.approval.quorum,
      four_eyes: enforcement.approval.fourEyes,
      votes: [],
      source: 'step_up' as const,
    }),
    ...(enforcement.deferral && {
      attempts: 0,
      ...(enforcement.dependsOn !== undefined && { depends_on: enforcement.dependsOn }),
      ...(input && { input }),
    }),
  };
}

function receiptAction(action: NormalisedAction, masking: string[], masker: Masker) {
  return {
    id: action.id,
    tool: action.tool,
    ...(action.operation !== undefined && { operation: action.operation }),
    ...(action.target !== undefined && { target: action.target }),
    parameters_hash: action.parametersHash,
    parameters: maskParameters(action.parameters, masking, masker),
  };
}

function receiptContent(args: {
  step: Step;
  enforcement: Enforcement;
  version: PolicyVersion;
  pending: PendingRecord | undefined;
  input: (Record<string, unknown> & { flow: FlowInput }) | undefined;
  policyResult: unknown;
  capability: GrantedCapability | undefined;
  requestId: string | undefined;
}): ReceiptContent {
  const { step, enforcement, version, pending } = args;
  const masked = step.masked;
  return {
    action: {
      ...masked,
      ...(enforcement.parameters && {
        modified_parameters: maskParameters(enforcement.parameters, step.masking, step.masker),
        modified_parameters_hash: hashOf(enforcement.parameters),
      }),
    },
    identity: step.identity.receipt,
    context_hash: hashOf(step.context),
    decision: enforcement.decision,
    reasons: enforcement.reasons,
    policy: { revision: version.revision, hash: version.hash, path: ENTRYPOINT },
    ...(pending?.kind === 'approval' && { approval: { id: pending.id, expires_at: pending.expires_at } }),
    ...(pending?.kind === 'deferral' && {
      deferral: { id: pending.id, expires_at: pending.expires_at, context_needed: pending.context_needed ?? [] },
    }),
    ...(args.input && {
      input: {
        ...args.input,
        action: { ...(args.input.action as object), parameters: masked.parameters },
        flow: receiptFlow(args.input.flow, step.action.parameters, masked.parameters, step.masker),
      },
      result: args.policyResult,
    }),
    ...(args.capability && { capability: args.capability.receipt }),
    ...(args.requestId !== undefined && { request_id: args.requestId }),
  };
}

function answer(
  action: NormalisedAction,
  enforcement: Enforcement,
  signed: Signed,
  version: PolicyVersion,
  pending: PendingRecord | undefined,
  capability: GrantedCapability | undefined,
  drift: DriftInput | undefined,
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
    ...(capability && { capability: capability.token }),
    ...(drift?.status === 'measured' && { drift: { distance: drift.distance, cumulative: drift.cumulative } }),
    receipt: { id: signed.receipt.receipt_id, hash: signed.hash },
    policy: { revision: version.revision, hash: version.hash },
  };
}
