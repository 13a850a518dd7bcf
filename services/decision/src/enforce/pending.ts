/**
 * The approval service (STEP_UP) and the deferral service (DEFER), AARM R4. A pending record
 * is bound to the exact action (its parameter hash), the identity captured when it was
 * asked for and the policy revision that decided it. Every change to it (a vote, a
 * resolution, its expiry) is a step appended to the session's chain (chain/) with its own
 * receipt, so two replicas can never both close it, and a late or repeated answer changes
 * nothing. Expiry always ends in DENY.
 */
import type { StepResult } from '../chain/chain.js';
import { newId, tagOfId } from '../context/ids.js';
import type { ActionRecord, PendingRecord, SessionState, SessionSummary } from '../context/types.js';
import { grantCapability } from '../capabilities/grant.js';
import { capabilityHeldBy } from '../capabilities/token.js';
import type { DecideDeps } from '../decide.js';
import { ArbiterError } from '../errors.js';
import type { Caller } from '../intercept/agent.js';
import type { WebhookEvent } from '../notify/webhooks.js';
import { ENTRYPOINT } from '../policy/compile.js';
import { hashOf } from '../receipts/canonical.js';
import { maskerFor, maskingPaths, maskParameters, maskStrings, maskText } from '../receipts/mask.js';
import type { Decision, Reason, ReceiptApproval, ReceiptDeferral } from '../receipts/types.js';
import { enforceChecked, MAX_DEFERRAL_ATTEMPTS, type Enforcement } from './enforce.js';

/** How long a long-poll may wait at most (`?wait=`), so no request is held forever. */
export const MAX_WAIT_SECONDS = 60;

/**
 * What GET /v1/approvals/{id} and /v1/deferrals/{id} show: never the raw parameters kept
 * for re-evaluation, nor the secrets the action's target or the intent spell out.
 */
/**
 * `withCapability`: the caller may run actions (pep, admin); `holder`: the verified caller,
 * who sees the capability only when it is bound to them (or to nobody).
 */
export function pendingView(
  record: PendingRecord,
  now: Date,
  options: { withCapability: boolean; holder?: string | undefined },
) {
  const { input: _input, final, ...kept } = record;
  const shown = {
    ...kept,
    action: maskStrings(kept.action),
    ...(kept.intent !== undefined && { intent: maskText(kept.intent) }),
  };
  const expired = record.status === 'pending' && Date.parse(record.expires_at) <= now.getTime();
  const status = expired ? 'expired' : record.status;
  const decision = expired ? 'DENY' : final?.decision;
  // The capability runs the action: only for the PEP that will run it (and admins), never for approvers or auditors.
  const granted = expired || !options.withCapability ? undefined : final?.capability;
  const capability =
    granted !== undefined && options.holder !== undefined && !capabilityHeldBy(granted, options.holder)
      ? undefined
      : granted;
  const { capability: _token, ...finalShown } = final ?? {};
  return {
    ...shown,
    ...(final && { final: finalShown }),
    status,
    ...(decision !== undefined && { decision }),
    ...(capability !== undefined && { capability }),
  };
}

export function requestedEvent(record: PendingRecord): WebhookEvent {
  return {
    type: record.kind === 'approval' ? 'approval.requested' : 'deferral.requested',
    id: record.id,
    tenant: record.tenant,
    occurred_at: record.created_at,
    data: {
      session_id: record.session_id,
      intent: record.intent,
      action: record.action,
      identity: record.identity,
      reasons: record.reasons,
      risk: record.risk,
      approvers: record.approvers,
      quorum: record.quorum,
      context_needed: record.context_needed,
      expires_at: record.expires_at,
    },
  };
}

function resolvedEvent(record: PendingRecord, at: string): WebhookEvent {
  return {
    type: record.kind === 'approval' ? 'approval.resolved' : 'deferral.resolved',
    id: record.id,
    tenant: record.tenant,
    occurred_at: at,
    data: {
      session_id: record.session_id,
      status: record.status,
      decision: record.final?.decision,
      escalated_to: record.escalated_to,
    },
  };
}

/** One change to a pending record, as computed from the state it was read in. */
interface Change {
  record: PendingRecord;
  /** The decision the receipt of this step records. */
  decision: Decision;
  reasons: Reason[];
  /** What the approval/deferral block of the receipt adds to the record's id, expiry and status. */
  block: Partial<ReceiptApproval & ReceiptDeferral>;
  /** Another record created by this step (a deferral escalated to an approval). */
  created?: PendingRecord;
}

type Step = (record: PendingRecord, state: SessionState, now: Date) => Change | Promise<Change>;

function withoutDeferral(summary: SessionSummary, id: string): SessionSummary {
  return { ...summary, pending_deferrals: summary.pending_deferrals.filter((d) => d.id !== id) };
}

function close(
  record: PendingRecord,
  status: PendingRecord['status'],
  decision: Decision,
  reasons: Reason[],
  at: string,
  receiptId: string,
  parameters?: Record<string, unknown>,
): PendingRecord {
  const { input: _dropped, ...rest } = record;
  return {
    ...rest,
    status,
    final: { decision, reasons, ...(parameters && { parameters }), receipt_id: receiptId, at },
  };
}

/**
 * Applies `step` to the pending record `id` as one append to its session's chain (chain/),
 * with a receipt of kind approval/deferral. Returns the record as it stands after the step.
 * `requestId`: the HTTP request that answered it (none for an expiry, which no request makes).
 */
async function transition(
  deps: DecideDeps,
  tenant: string,
  id: string,
  requestId: string | undefined,
  step: Step,
): Promise<PendingRecord> {
  const tag = tagOfId(id, 'apr', 'dfr');
  if (tag === undefined) throw new ArbiterError('not_found', 'no such approval or deferral');
  // The record's action and captured identity never change: read once which action record
  // and revocation entries the step must see with it.
  const first = await deps.store.load(tag, { pendingId: id });
  const found = first.pending;
  if (!found || found.tenant !== tenant || !first.meta)
    throw new ArbiterError('not_found', 'no such approval or deferral');
  const load = {
    pendingId: id,
    actionId: found.action.id,
    revocation: {
      tenant: found.tenant,
      ...(found.identity.jti !== undefined && { jti: found.identity.jti }),
      ...(found.identity.agent !== undefined && { sub: found.identity.agent }),
    },
  };
  const { record, created, at } = await deps.chain.append(tag, load, (state, { receiptId }) =>
    pendingStep(deps, step, state, receiptId, requestId),
  );
  if (record.status !== 'pending') {
    await deps.store.unindexPending([record]).catch(() => {});
    deps.notifier.notify(resolvedEvent(record, at));
  }
  if (created) deps.notifier.notify(requestedEvent(created));
  await deps.store.publish(record.id).catch(() => {});
  return record;
}

/** A change to a pending record as a chain step: the record, its receipt and the session after it. */
async function pendingStep(
  deps: DecideDeps,
  step: Step,
  state: SessionState,
  receiptId: string,
  requestId: string | undefined,
): Promise<StepResult<{ record: PendingRecord; created: PendingRecord | undefined; at: string }>> {
  if (!state.pending || !state.meta) throw new ArbiterError('not_found', 'no such approval or deferral');
  const now = deps.clock();
  const at = now.toISOString();
  const change = await step(state.pending, state, now);
  const closing = change.record.status === 'pending' ? undefined : change.record.final;
  const capability =
    closing &&
    (await grantCapability(deps, {
      decision: closing.decision,
      ...(change.record.identity.agent !== undefined && { agent: change.record.identity.agent }),
      tenant: change.record.tenant,
      sessionId: change.record.session_id,
      actionId: change.record.action.id,
      tool: change.record.action.tool,
      ...(change.record.action.operation !== undefined && { operation: change.record.action.operation }),
      parametersHash: change.record.action.parameters_hash,
      ...(closing.parameters && { modifiedParameters: closing.parameters }),
      ...(change.record.requested_by !== undefined && { holder: change.record.requested_by }),
      receiptId,
      now,
    }));
  const record =
    change.record.status === 'pending'
      ? change.record
      : {
          ...change.record,
          final: change.record.final && {
            ...change.record.final,
            receipt_id: receiptId,
            ...(capability && { capability: capability.token }),
          },
        };
  const closed = record.status !== 'pending';
  const action: ActionRecord | undefined =
    closed && state.action && record.final ? { ...state.action, final_decision: record.final.decision } : undefined;
  return {
    append: {
      kind: record.kind,
      meta: state.meta,
      at,
      content: {
        action: {
          ...record.action,
          // A resolution that ended in MODIFY: what is executed must be in the signed record too.
          ...(record.final?.parameters && {
            modified_parameters: maskParameters(
              record.final.parameters,
              maskingPaths(deps.policy.data),
              maskerFor(deps.signingKey),
            ),
            modified_parameters_hash: hashOf(record.final.parameters),
          }),
        },
        identity: record.identity,
        context_hash: hashOf(record.context),
        decision: change.decision,
        reasons: change.reasons,
        ...(capability && { capability: capability.receipt }),
        policy: { ...record.policy, path: ENTRYPOINT },
        ...(record.kind === 'approval'
          ? { approval: { ...change.block, id: record.id, expires_at: record.expires_at, status: record.status } }
          : {
              deferral: {
                ...change.block,
                id: record.id,
                expires_at: record.expires_at,
                context_needed: record.context_needed ?? [],
                status: record.status,
              },
            }),
        ...(requestId !== undefined && { request_id: requestId }),
      },
      summary: closed && record.kind === 'deferral' ? withoutDeferral(state.summary, record.id) : state.summary,
      ...(action && { action: () => action }),
      pending: [record, ...(change.created ? [change.created] : [])],
    },
    answer: () => ({ record, created: change.created, at }),
  };
}

/** A closed or expired record refuses every further answer; an expired one is closed (with its DENY receipt) first. */
async function requireOpen(deps: DecideDeps, tenant: string, id: string): Promise<void> {
  const record = await deps.store.getPending(id);
  if (!record || record.tenant !== tenant) throw new ArbiterError('not_found', 'no such approval or deferral');
  if (record.status === 'pending' && Date.parse(record.expires_at) <= deps.clock().getTime()) {
    await expire(deps, record.tenant, id);
    throw new ArbiterError('conflict', `it expired at ${record.expires_at} and ended in DENY`);
  }
  if (record.status !== 'pending')
    throw new ArbiterError('conflict', `it is ${record.status} already; nothing changed`);
}

class Refusal extends Error {
  constructor(readonly error: ArbiterError) {
    super(error.message);
  }
}

/**
 * Applies an answer (a vote, a resolution) to a record that must still be open, both
 * before the transition and inside it, where the check is atomic with the commit.
 */
async function answerOpen(
  deps: DecideDeps,
  tenant: string,
  id: string,
  requestId: string | undefined,
  step: Step,
): Promise<PendingRecord> {
  await requireOpen(deps, tenant, id);
  try {
    return await transition(deps, tenant, id, requestId, (record, state, now) => {
      if (record.status !== 'pending')
        throw new Refusal(new ArbiterError('conflict', `it is ${record.status} already; nothing changed`));
      if (Date.parse(record.expires_at) <= now.getTime())
        throw new Refusal(new ArbiterError('conflict', 'it expired; nothing changed'));
      return step(record, state, now);
    });
  } catch (err) {
    if (err instanceof Refusal) throw err.error;
    throw err;
  }
}

/**
 * Ends an expired pending record in DENY, with its receipt (the sweeper, or the first
 * reader to notice). Undefined when it was not due or another replica closed it first.
 */
export async function expire(deps: DecideDeps, tenant: string, id: string): Promise<PendingRecord | undefined> {
  try {
    return await transition(deps, tenant, id, undefined, (record, _state, now) => {
      if (record.status !== 'pending' || Date.parse(record.expires_at) > now.getTime()) {
        throw new Refusal(new ArbiterError('conflict', 'not due'));
      }
      const what = record.kind === 'approval' ? 'approval' : 'resolution';
      const reasons = [{ policy_id: `aarm.${record.kind}.expired`, reason: `no ${what} before ${record.expires_at}` }];
      return {
        record: close(record, 'expired', 'DENY', reasons, now.toISOString(), ''),
        decision: 'DENY',
        reasons,
        block: {},
      };
    });
  } catch (err) {
    if (err instanceof Refusal) return undefined;
    throw err;
  }
}

export interface VoteRequest {
  decision: 'approve' | 'deny';
  reason?: string;
  /** With ARBITER_AUTH=off only: who approves. */
  approver?: string;
}

/** Who may answer an approval or a deferral beyond the route's roles (issue 12). */
export interface AnswerRules {
  /**
   * With ARBITER_AUTH=off: refuse a caller nobody verified wherever the answer needs a
   * verified one: a vote on an approval gated to groups (membership cannot be checked),
   * and a deferral resolution (the PEP that asked cannot be told from an approver).
   */
  refuseUnverified: boolean;
}

/** The approver's identity: the verified caller, or with auth off the id the body names. */
function approverOf(caller: Caller, body: VoteRequest): string {
  if (caller.verified) {
    if (!caller.roles.has('approver') && !caller.roles.has('admin'))
      throw new ArbiterError('forbidden', 'needs the approver role');
    return caller.subject;
  }
  if (!body.approver) throw new ArbiterError('invalid_request', 'approver: required when ARBITER_AUTH=off');
  return body.approver;
}

/**
 * Approver groups hold for every caller, admins included (separation of duties): a
 * verified caller must carry one of the groups; an unverified one cannot show any, so it
 * is refused unless the deployment lets unverified callers answer (local development).
 */
function checkGroups(record: PendingRecord, caller: Caller, rules: AnswerRules): void {
  const groups = record.approvers ?? [];
  if (groups.length === 0) return;
  if (!caller.verified) {
    if (rules.refuseUnverified)
      throw new Refusal(
        new ArbiterError(
          'forbidden',
          `only a verified member of ${groups.join(', ')} may approve this, and ARBITER_AUTH=off verifies nobody`,
        ),
      );
    return;
  }
  if (!groups.some((g) => caller.groups.includes(g)))
    throw new Refusal(new ArbiterError('forbidden', `only the groups ${groups.join(', ')} may approve this`));
}

export async function vote(
  deps: DecideDeps,
  caller: Caller,
  id: string,
  body: VoteRequest,
  rules: AnswerRules,
  requestId?: string,
): Promise<PendingRecord> {
  if (tagOfId(id, 'apr') === undefined) throw new ArbiterError('not_found', 'no such approval');
  const approver = approverOf(caller, body);
  return answerOpen(deps, caller.tenant, id, requestId, (record, state, now) => {
    const at = now.toISOString();
    // The agent never approves its own action; with four-eyes neither does the human who asked.
    if (approver === record.identity.agent || (record.four_eyes && approver === record.identity.human)) {
      throw new Refusal(
        new ArbiterError('forbidden', 'the agent, or with four-eyes the human who asked, may not approve this'),
      );
    }
    checkGroups(record, caller, rules);
    const votes = record.votes ?? [];
    if (votes.some((v) => v.approver === approver))
      throw new Refusal(new ArbiterError('conflict', 'this approver has answered already; nothing changed'));
    const cast = { approver, vote: body.decision, ...(body.reason !== undefined && { reason: body.reason }), at };
    const next: PendingRecord = { ...record, votes: [...votes, cast] };
    const block = {
      approver,
      vote: body.decision,
      ...(body.reason !== undefined && { reason: body.reason }),
      votes: next.votes!.length,
      quorum: record.quorum ?? 1,
    };
    if (body.decision === 'deny') {
      const reasons = [{ policy_id: 'aarm.approval.denied', reason: `denied by ${approver}` }];
      return { record: close(next, 'denied', 'DENY', reasons, at, ''), decision: 'DENY', reasons, block };
    }
    const approvals = next.votes!.filter((v) => v.vote === 'approve').length;
    if (approvals < (record.quorum ?? 1)) {
      const reasons = [{ policy_id: 'aarm.approval.vote', reason: `${approvals} of ${record.quorum} approvals` }];
      return { record: next, decision: 'STEP_UP', reasons, block };
    }
    // Re-validate before the ALLOW: a stale identity or policy never authorises (AARM approval service).
    if (state.revoked) {
      const reasons = [
        { policy_id: 'aarm.identity.revoked', reason: 'the agent identity was revoked while the approval was pending' },
      ];
      return { record: close(next, 'denied', 'DENY', reasons, at, ''), decision: 'DENY', reasons, block };
    }
    if (deps.policy.version?.revision !== record.policy.revision) {
      const reasons = [
        {
          policy_id: 'aarm.approval.stale',
          reason: `the policy changed since the request (${record.policy.revision} → ${deps.policy.version?.revision ?? 'none'})`,
        },
      ];
      // The contract's approval statuses are pending|approved|denied|expired: a stale one is denied, and says why.
      return { record: close(next, 'denied', 'DENY', reasons, at, ''), decision: 'DENY', reasons, block };
    }
    const reasons = [
      {
        policy_id: 'aarm.approval.granted',
        reason: `approved by ${next
          .votes!.filter((v) => v.vote === 'approve')
          .map((v) => v.approver)
          .join(', ')}`,
      },
    ];
    return { record: close(next, 'approved', 'ALLOW', reasons, at, ''), decision: 'ALLOW', reasons, block };
  });
}

async function resolutionOutcome(
  deps: DecideDeps,
  record: PendingRecord,
  resolution: Record<string, unknown>,
): Promise<{ enforcement: Enforcement } | { stale: true }> {
  const action = (record.input?.action ?? {}) as Record<string, unknown> & { parameters?: Record<string, unknown> };
  const input = { ...record.input, action, resolution };
  const evaluated = await deps.policy.evaluateAt(record.policy.revision, input);
  if (!evaluated) return { stale: true };
  // The recheck of a MODIFY runs under the same revision; if it went meanwhile, no rewrite is trusted.
  const recheck = async (i: Record<string, unknown>) =>
    (await deps.policy.evaluateAt(record.policy.revision, i))?.decision ?? { decision: 'DENY' as const, reasons: [] };
  return { enforcement: await enforceChecked(recheck, input, evaluated.decision, action.parameters ?? {}) };
}

/**
 * A DEFER waits for context that the side asking for the action does not have, so that
 * side may not supply it (CONTRACT §3, roles approver or admin): not a PEP (unless it is
 * an admin), not the agent itself, and with auth off nobody unverified unless allowed.
 */
function checkResolver(record: PendingRecord, caller: Caller, rules: AnswerRules): void {
  const refuse = (message: string) => new Refusal(new ArbiterError('forbidden', message));
  if (!caller.verified) {
    if (rules.refuseUnverified)
      throw refuse('a deferral is resolved by a verified approver, and ARBITER_AUTH=off verifies nobody');
    return;
  }
  if (caller.roles.has('pep') && !caller.roles.has('admin'))
    throw refuse('a PEP may not supply the context a deferral waits for; an approver resolves it');
  if (caller.subject === record.identity.agent) throw refuse('the agent may not resolve its own deferral');
}

export async function resolveDeferral(
  deps: DecideDeps,
  caller: Caller,
  id: string,
  resolution: Record<string, unknown>,
  rules: AnswerRules,
  requestId?: string,
): Promise<PendingRecord> {
  if (tagOfId(id, 'dfr') === undefined) throw new ArbiterError('not_found', 'no such deferral');
  return answerOpen(deps, caller.tenant, id, requestId, async (record, state, now) => {
    const at = now.toISOString();
    checkResolver(record, caller, rules);
    if (
      record.depends_on &&
      state.summary.pending_deferrals.some(
        (d) => d.id === record.depends_on && Date.parse(d.expires_at) > now.getTime(),
      )
    ) {
      throw new Refusal(new ArbiterError('conflict', `it waits behind ${record.depends_on}: resolve that first`));
    }
    const attempts = (record.attempts ?? 0) + 1;
    const block = { attempts, resolution_hash: hashOf(resolution), resolved_by: caller.subject };
    // As for approvals: a revoked identity is never authorised by a later answer.
    if (state.revoked) {
      const reasons = [
        { policy_id: 'aarm.identity.revoked', reason: 'the agent identity was revoked while the deferral was pending' },
      ];
      return {
        record: close({ ...record, attempts }, 'denied', 'DENY', reasons, at, ''),
        decision: 'DENY',
        reasons,
        block,
      };
    }
    const outcome = await resolutionOutcome(deps, { ...record }, resolution);
    if ('stale' in outcome) {
      const reasons = [
        {
          policy_id: 'aarm.deferral.policy_changed',
          reason: `policy revision ${record.policy.revision} is no longer loaded here; the action must be asked for again`,
        },
      ];
      return {
        record: close({ ...record, attempts }, 'stale', 'DENY', reasons, at, ''),
        decision: 'DENY',
        reasons,
        block,
      };
    }
    const e = outcome.enforcement;
    if (e.decision === 'DEFER') {
      if (attempts >= MAX_DEFERRAL_ATTEMPTS) {
        const reasons = [
          { policy_id: 'aarm.deferral.attempts', reason: `still undecided after ${attempts} resolutions` },
        ];
        return {
          record: close({ ...record, attempts }, 'denied', 'DENY', reasons, at, ''),
          decision: 'DENY',
          reasons,
          block,
        };
      }
      const next = { ...record, attempts, context_needed: e.deferral?.contextNeeded ?? record.context_needed ?? [] };
      return { record: next, decision: 'DEFER', reasons: e.reasons, block };
    }
    if (e.decision === 'STEP_UP' && e.approval) {
      const approval: PendingRecord = {
        ...record,
        id: newId('apr', tagOfId(record.id, 'dfr')!),
        kind: 'approval',
        status: 'pending',
        reasons: e.reasons,
        approvers: e.approval.approvers,
        quorum: e.approval.quorum,
        four_eyes: e.approval.fourEyes,
        votes: [],
        ...(e.risk !== undefined && { risk: e.risk }),
        source: 'defer_escalation',
        escalated_to: record.id,
        created_at: at,
        expires_at: new Date(now.getTime() + e.approval.timeoutSeconds * 1000).toISOString(),
      };
      delete approval.input;
      delete approval.attempts;
      delete approval.depends_on;
      delete approval.context_needed;
      const closed = close(
        { ...record, attempts, escalated_to: approval.id },
        'escalated',
        'STEP_UP',
        e.reasons,
        at,
        '',
      );
      return {
        record: closed,
        decision: 'STEP_UP',
        reasons: e.reasons,
        block: { ...block, escalated_to: approval.id },
        created: approval,
      };
    }
    const status = e.decision === 'DENY' ? 'denied' : 'resolved';
    return {
      record: close({ ...record, attempts }, status, e.decision, e.reasons, at, '', e.parameters),
      decision: e.decision,
      reasons: e.reasons,
      block,
    };
  });
}

/**
 * Waits (at most `seconds`) until the record is no longer pending, woken through the
 * store's change channel, which reaches every replica.
 */
export async function waitForChange(
  deps: DecideDeps,
  id: string,
  seconds: number,
  isOpen: () => Promise<boolean>,
): Promise<void> {
  if (seconds <= 0 || !(await isOpen())) return;
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    };
    const timer = setTimeout(finish, Math.min(seconds, MAX_WAIT_SECONDS) * 1000);
    const unsubscribe = deps.store.subscribe((changed) => {
      if (changed === id) void isOpen().then((open) => !open && finish(), finish);
    });
    // Closed between the first look and the subscription: do not wait for a message that was already sent.
    void isOpen().then((open) => !open && finish(), finish);
  });
}

/** Ends expired pending records in DENY, on every replica; the commit lets only one succeed per record. */
export function startExpirySweeper(deps: DecideDeps, intervalMs: number, onError: (err: unknown) => void): () => void {
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const due = await deps.store.duePending(deps.clock().getTime(), 100);
      for (const id of due) {
        const record = await deps.store.getPending(id);
        if (!record || record.status !== 'pending') {
          await deps.store.unindexPending([{ id, tenant: record?.tenant ?? '' }]);
          continue;
        }
        await expire(deps, record.tenant, id).catch(onError);
      }
    } catch (err) {
      onError(err);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
