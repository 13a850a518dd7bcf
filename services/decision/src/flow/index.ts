/**
 * Information flow through the session (docs/detection.md 3, 4): what the decision and
 * outcome paths call.
 *
 *   prepareFlow     the session's flow state, created on its first decision (salt, intent)
 *   actionFlow      input.flow and input.provenance for one action, and what it counts
 *   afterDecision   the flow state once the action is decided
 *   afterOutcome    the flow state once its outcome is reported (content scanned, not kept)
 *   policyContext   the summary as policy sees it: never the salt or a fingerprint
 */
import { higher, outcomeClassification, toolClassification } from '../context/classify.js';
import { hashOf } from '../receipts/canonical.js';
import type { Classification, SessionSummary } from '../context/types.js';
import type { Decision } from '../receipts/types.js';
import { commandAnalysis, containsSecret, sqlFlags, type Flag } from './analyse.js';
import { catalogTool, inferredTrust, toolSpec, type Trust } from './catalog.js';
import {
  contentText,
  entityFingerprints,
  extractEntities,
  fingerprint,
  fingerprintKey,
  newSalt,
  stringLeaves,
  valueKeys,
} from './entities.js';
import { LIMITS, parameterValues, type ParamValue } from './kinds.js';
import type { Amount } from './normalise.js';
import { orgOf, place } from './org.js';
import { scanText, type ScanResult } from './scanner.js';
import {
  addRecords,
  awaitOutcome,
  countAction,
  emptyFlow,
  mergeFacts,
  noteInjection,
  noteUntrusted,
  provenanceOf,
  recordFingerprints,
  sessionLevel,
  sessionView,
  settleOutcome,
  withIntent,
  type Counted,
  type FlowSession,
  type FlowState,
  type Provenance,
  type Scalar,
} from './state.js';

export type { FlowState } from './state.js';

/** Free text scoring this or more is instruction-like (docs/detection.md 3.1). */
export const INJECTION_THRESHOLD = 0.5;

export interface FlowValue extends Omit<ParamValue, 'key'>, Provenance {
  inside?: boolean;
  lookalike?: boolean;
  registered?: boolean;
  reason?: string;
  flags: Flag[];
}

export interface FlowInput {
  operations: string[];
  values: FlowValue[];
  unreadable: string[];
  amount?: Amount;
  session: FlowSession;
}

export interface ProvenanceInput {
  untrusted_params: string[];
  intent_params: string[];
  trusted_params: string[];
}

export interface ActionFlow {
  flow: FlowInput;
  provenance: ProvenanceInput;
  /** What the action adds to the totals when it is allowed. */
  counted: Omit<Counted, 'nowMs'>;
  /** A memory save: fingerprints of what it saves, to know the trust of a later recall. */
  memorySave?: { fingerprints: string[]; untrusted: boolean };
}

/** The session's flow state, created on its first decision (or first outcome of an older session). */
export function prepareFlow(summary: SessionSummary, intent: string | undefined, salt = newSalt): FlowState {
  const flow = summary.flow ?? emptyFlow();
  if (flow.salt !== '') return flow;
  const s = salt();
  const intentFps = intent === undefined ? [] : entityFingerprints(s, extractEntities(intent));
  // A session summarised before flow existed keeps the level it had reached.
  return { ...withIntent(flow, s, intentFps), confirmed: higher(flow.confirmed, summary.max_classification) };
}

/** The summary as `input.context`, GET /v1/sessions and approvers see it: no flow internals. */
export function policyContext(summary: SessionSummary): Omit<SessionSummary, 'flow'> {
  const { flow: _flow, ...context } = summary;
  return context;
}

/** The session part of the flow (what GET /v1/sessions shows beside the context). */
export function flowSessionView(summary: SessionSummary, now: Date): FlowSession {
  return sessionView(summary.flow ?? emptyFlow(), { nowMs: now.getTime(), actionCount: summary.action_count });
}

function memoryKey(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, ' ');
}

function memoryFingerprints(salt: string, value: unknown): string[] {
  return stringLeaves(value, 32)
    .filter((s) => s.trim().length >= 8)
    .map((s) => fingerprint(salt, 'memory', memoryKey(s)));
}

export interface ActionArgs {
  flow: FlowState;
  policyData: unknown;
  tool: string;
  operation?: string | undefined;
  parameters: Record<string, unknown>;
  now: Date;
  actionCount: number;
}

export function actionFlow(a: ActionArgs): ActionFlow {
  const catalog = catalogTool(a.policyData, a.tool);
  const spec = toolSpec(catalog, a.operation);
  const org = orgOf(a.policyData);
  const read = parameterValues(a.parameters, spec);
  const fp = (key: string | undefined) => (key === undefined ? undefined : fingerprintKey(a.flow.salt, key));
  const values: FlowValue[] = [];
  const add = (v: ParamValue, flags: Flag[]) => {
    if (values.length >= LIMITS.values) return;
    const keys = valueKeys(v);
    const placement = place(v.kind, String(v.value), v.host, org);
    // Free text and SQL are not fingerprinted: they are never seen before.
    const provenance =
      keys.exact === undefined ? { origin: 'new' as const } : provenanceOf(a.flow, fp(keys.exact), fp(keys.host));
    const { key: _key, ...rest } = v;
    // An inside host is shared by everyone in the organisation: only an exact match says where it came from.
    const hostOnly = provenance.match === 'host' && placement?.inside === true;
    values.push({
      ...rest,
      ...placement,
      ...(hostOnly ? { origin: 'new' } : provenance),
      flags,
    });
  };
  for (const v of read.values) {
    if (v.kind === 'sql') add(v, sqlFlags(String(v.value)));
    else if (v.kind === 'command') {
      const analysis = commandAnalysis(String(v.value), org.protectedBranches);
      add(v, analysis.flags);
      for (const d of analysis.destinations) {
        add({ ...d, path: v.path, pointer: v.pointer, param: v.param, destination: true, inferred: true }, []);
      }
    } else if (v.kind === 'text') {
      const text = String(v.value);
      const flags: Flag[] = [];
      if (containsSecret(text)) flags.push('secret');
      if (scanText(text).score >= INJECTION_THRESHOLD) flags.push('injection');
      add(v, flags);
    } else add(v, []);
  }

  const provenance: ProvenanceInput = { untrusted_params: [], intent_params: [], trusted_params: [] };
  for (const v of values) {
    const list =
      v.origin === 'untrusted'
        ? provenance.untrusted_params
        : v.origin === 'intent'
          ? provenance.intent_params
          : v.origin === 'trusted'
            ? provenance.trusted_params
            : undefined;
    if (list && !list.includes(v.path)) list.push(v.path);
  }

  const destinations = values.filter((v) => v.destination);
  const payeeValue =
    destinations.find((v) => v.kind === 'payee') ??
    destinations.find((v) => v.kind === 'account') ??
    (spec.operations.includes('pay') ? destinations[0] : undefined);
  const paying = spec.operations.includes('pay') || (read.amount !== undefined && payeeValue !== undefined);
  const payee = payeeValue && fp(valueKeys(payeeValue).exact);
  const counted: ActionFlow['counted'] = {
    ...(paying && {
      payment: {
        ...(read.amount && { amount: read.amount.value }),
        currency: read.amount?.currency ?? 'XXX',
        ...(payee !== undefined && { payee }),
      },
    }),
    externalSend: spec.operations.includes('send') && destinations.some((v) => v.inside === false),
  };

  const integrityUntrusted = a.flow.untrusted_sources.length > 0;
  return {
    flow: {
      operations: spec.operations,
      values,
      unreadable: read.unreadable,
      ...(read.amount && { amount: read.amount }),
      session: sessionView(a.flow, { nowMs: a.now.getTime(), actionCount: a.actionCount, payee }),
    },
    provenance,
    counted,
    ...(catalog.memory === 'save' && {
      memorySave: {
        fingerprints: memoryFingerprints(a.flow.salt, a.parameters),
        untrusted: integrityUntrusted || provenance.untrusted_params.length > 0,
      },
    }),
  };
}

/**
 * The flow state after a decision. An allowed action's tool level counts provisionally
 * until its outcome; its payment or outside send counts toward the totals; an allowed
 * memory save while the session is untrusted taints the agent's memory.
 */
export function afterDecision(
  flow: FlowState,
  action: ActionFlow | undefined,
  d: { decision: Decision; actionId: string; tool: string; policyData: unknown; now: Date },
): FlowState {
  if (d.decision !== 'ALLOW' && d.decision !== 'MODIFY') return flow;
  const level = toolClassification(d.policyData, d.tool);
  let next = level ? awaitOutcome(flow, d.actionId, level) : flow;
  if (!action) return next;
  next = countAction(next, { ...action.counted, nowMs: d.now.getTime() });
  const save = action.memorySave;
  if (save) {
    next = recordFingerprints(next, save.fingerprints, save.untrusted ? 'untrusted' : 'trusted', 'PUBLIC', d.tool);
    if (save.untrusted) next = { ...next, memory_tainted: true };
  }
  return next;
}

export interface OutcomeArgs {
  flow: FlowState;
  policyData: unknown;
  actionId: string;
  tool: string;
  operation?: string | undefined;
  status: 'success' | 'error';
  labels: string[];
  content?: unknown;
  trust?: Trust | undefined;
  facts?: Record<string, Scalar> | undefined;
  records?: number | undefined;
  at: string;
  actionCount: number;
}

export interface OutcomeFlow {
  flow: FlowState;
  /** The level the result counted as; undefined for an error that returned nothing. */
  classification: Classification | undefined;
  trust: Trust;
  scan?: ScanResult;
  entities: number;
}

export function afterOutcome(o: OutcomeArgs): OutcomeFlow {
  const catalog = catalogTool(o.policyData, o.tool);
  const operations = toolSpec(catalog, o.operation).operations;
  const hasContent = o.content !== undefined;
  const text = hasContent ? contentText(o.content) : '';
  const secret = hasContent && containsSecret(text);
  const labelled = outcomeClassification(o.policyData, o.tool, o.labels, hasContent ? 'success' : o.status);
  const classification = secret ? 'RESTRICTED' : labelled;
  const scan = hasContent ? scanText(text) : undefined;

  let trust: Trust = o.trust ?? catalog.resultTrust ?? inferredTrust(o.tool, operations);
  if (catalog.memory === 'recall' && hasContent) {
    const known = memoryFingerprints(o.flow.salt, o.content).flatMap((f) =>
      Object.hasOwn(o.flow.fps, f) ? [o.flow.fps[f]![0]] : [],
    );
    if (known.includes('u')) trust = 'untrusted';
    else if (known.length > 0 && o.trust === undefined && catalog.resultTrust === undefined) trust = 'trusted';
  }
  if (scan && scan.score >= INJECTION_THRESHOLD) trust = 'untrusted';

  let flow = settleOutcome(o.flow, o.actionId, classification);
  const entities = hasContent ? extractEntities(o.content) : [];
  flow = recordFingerprints(
    flow,
    entityFingerprints(flow.salt, entities),
    trust,
    classification ?? 'RESTRICTED',
    o.tool,
  );
  // The agent read the result when it succeeded or when content came back.
  if (trust === 'untrusted' && (o.status === 'success' || hasContent)) {
    flow = noteUntrusted(flow, o.tool, o.at, o.actionCount);
  }
  if (scan) flow = noteInjection(flow, scan.score, o.tool, scan.features);
  if (o.facts) flow = mergeFacts(flow, o.facts);
  if (o.records !== undefined) flow = addRecords(flow, o.records);
  return { flow, classification, trust, ...(scan && { scan }), entities: entities.length };
}

export { sessionLevel };

/**
 * input.flow as a receipt keeps it: the value of a parameter that the receipt masks (a
 * credential-like name, a masking path) is replaced by its hash there too.
 */
export function receiptFlow(flow: FlowInput, raw: unknown, masked: unknown): FlowInput {
  let changed = false;
  const values = flow.values.map((v) => {
    if (!maskedAt(raw, masked, v.pointer)) return v;
    changed = true;
    return { ...v, value: hashOf(v.value) };
  });
  return changed ? { ...flow, values } : flow;
}

/** Whether the receipt's copy of the parameters differs from the raw ones along `pointer`. */
function maskedAt(raw: unknown, masked: unknown, pointer: string): boolean {
  let r = raw;
  let m = masked;
  for (const seg of pointer.split('/').slice(1)) {
    const key = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    if (r === null || typeof r !== 'object' || m === null || typeof m !== 'object') return true;
    r = (r as Record<string, unknown>)[key];
    m = (m as Record<string, unknown>)[key];
  }
  return r !== m;
}
