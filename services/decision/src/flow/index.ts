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
import { higher, outcomeClassification, rankOf, toolClassification } from '../context/classify.js';
import type { Classification, SessionSummary } from '../context/types.js';
import type { Decision } from '../receipts/types.js';
import { commandAnalysis, containsSecret, sqlEffect, sqlFlags, type Flag, type SqlEffect } from './analyse.js';
import { catalogTool, inferredTrust, toolSpec, type Trust } from './catalog.js';
import {
  ENTITY_LIMIT,
  ID_LIMIT,
  contentText,
  decoded,
  entityFingerprints,
  extractEntities,
  fingerprint,
  fingerprintKey,
  newSalt,
  secretTokens,
  stringLeaves,
  valueKeys,
} from './entities.js';
import { intentView, type IntentView } from './intent.js';
import { destinationNames, intentNameFingerprints, namedInIntent, partyNames } from './names.js';
import { reachOf, type Reach } from './reach.js';
import { LIMITS, parameterValues, type ParamValue } from './kinds.js';
import type { Amount } from './normalise.js';
import { orgOf, place, type Org, type Placement } from './org.js';
import { scanText, type ScanResult } from './scanner.js';
import {
  addRecords,
  awaitOutcome,
  countAction,
  emptyFlow,
  mergeFacts,
  noteInjection,
  noteUntrusted,
  noteWritten,
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

/** The entities a free-text, SQL, command or URL value carries, counted (docs/detection.md 4). */
export interface Embedded {
  count: number;
  /** Outside the organisation, or an unregistered account or payee. */
  outside: number;
  /** First seen in untrusted content. */
  untrusted: number;
  untrusted_outside: number;
  /** Seen in an outcome of level CONFIDENTIAL or RESTRICTED. */
  sensitive: number;
}

export interface FlowValue extends Omit<ParamValue, 'key' | 'secret'>, Provenance {
  inside?: boolean;
  lookalike?: boolean;
  registered?: boolean;
  reason?: string;
  scope?: Placement['scope'];
  /** A credential the session read in this tool's output (a runbook, a log, a mail), copied into the action. */
  copied_from?: string;
  /** A place shared with outsiders, named after the outside party the intent names (names.ts). */
  party_named?: true;
  flags: Flag[];
  embedded?: Embedded;
}

export interface FlowInput {
  /**
   * Parameter strings whose compatibility form differs from what was sent, by JSON pointer:
   * NFKC, without control and format characters ("prod\u200buction", "ｐｒｏｄ" → "prod").
   * Rules that compare names (protected resources) test both forms. At most FOLD_LIMIT.
   */
  folded?: Record<string, string>;
  operations: string[];
  /** Where `operations` came from: the catalog (or the request), or narrowed by the action's SQL. */
  operations_from: 'catalog' | 'statement';
  values: FlowValue[];
  unreadable: string[];
  amount?: Amount;
  /** What the session's intent asks for. */
  intent: IntentView;
  /** The restricted kinds of data the action asks for by field name (reach.ts). */
  reach?: Reach;
  /** The tool writes (`save`) or reads (`recall`) the agent's long-term memory: the catalog's word, else its name's. */
  memory?: 'save' | 'recall';
  /** The embedded entities of all values, summed. */
  carries: { sensitive: number; untrusted_outside: number };
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
  /** A change or a send: the fingerprints of the addresses, accounts and hosts it carries. */
  written?: string[];
}

/** The session's flow state, created on its first decision (or first outcome of an older session). */
export function prepareFlow(summary: SessionSummary, intent: string | undefined, salt = newSalt): FlowState {
  const flow = summary.flow ?? emptyFlow();
  // A state from before intent actions were read gets them once; the next commit keeps them.
  if (flow.salt !== '') {
    if (flow.intent_actions && flow.names) return flow;
    return {
      ...flow,
      intent_actions: flow.intent_actions ?? intentView(intent),
      names: flow.names ?? (intent === undefined ? [] : intentNameFingerprints(flow.salt, intent)),
    };
  }
  const s = salt();
  // Identifiers the user names are theirs to use: fingerprinted so they never count as sensitive.
  const intentFps = intent === undefined ? [] : entityFingerprints(s, extractEntities(intent, ENTITY_LIMIT, ID_LIMIT));
  return {
    ...withIntent(flow, s, intentFps),
    intent_actions: intentView(intent),
    names: intent === undefined ? [] : intentNameFingerprints(s, intent),
    // A session summarised before flow existed keeps the level it had reached.
    confirmed: higher(flow.confirmed, summary.max_classification),
  };
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

type Keys = ReturnType<typeof valueKeys>;

/**
 * Where a value came from, by its fingerprints. An inside host is shared by everyone in the
 * organisation: a match by host alone says nothing, only an exact match does.
 */
function knownOrigin(flow: FlowState) {
  return (keys: Keys, inside: boolean | undefined): Provenance => {
    if (keys.exact === undefined) return { origin: 'new' };
    const fp = (key: string | undefined) => (key === undefined ? undefined : fingerprintKey(flow.salt, key));
    const p = provenanceOf(flow, fp(keys.exact), fp(keys.host));
    return p.match === 'host' && inside === true ? { origin: 'new' } : p;
  };
}

/** The tool in whose output the session read this credential (secretTokens), if it did. */
function secretSource(flow: FlowState, value: string): string | undefined {
  for (const token of secretTokens(value.replace(/^(?:bearer|basic|token)\s+/i, ''), 4)) {
    const fp = fingerprint(flow.salt, 'secret', token);
    const entry = flow.ids && Object.hasOwn(flow.ids, fp) ? flow.ids[fp] : undefined;
    if (entry) return entry[2];
  }
  return undefined;
}

/** At most this many folded strings an action, of at most FOLD_LENGTH characters, found within FOLD_LEAVES leaves. */
const FOLD_LIMIT = 64;
const FOLD_LENGTH = 1024;
const FOLD_LEAVES = 1024;

/** A string in its compatibility form, without control or format characters (zero-width, bidi marks). */
function fold(s: string): string {
  return s.normalize('NFKC').replace(/[\p{Cc}\p{Cf}]/gu, '');
}

/** The parameter strings whose folded form differs, by JSON pointer (bounded). */
function foldedStrings(parameters: Record<string, unknown>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let found = 0;
  let leaves = 0;
  const stack: Array<[string, unknown]> = [['', parameters]];
  while (stack.length > 0 && found < FOLD_LIMIT && leaves < FOLD_LEAVES) {
    const [pointer, value] = stack.pop()!;
    if (typeof value === 'string') {
      leaves++;
      if (value.length > FOLD_LENGTH) continue;
      const folded = fold(value);
      if (folded !== value) {
        out[pointer] = folded;
        found++;
      }
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value))
        stack.push([`${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, v]);
    }
  }
  return found === 0 ? undefined : out;
}

/** Bounds on reading the entities values carry: per value, and over one action. */
export const EMBEDDED_LIMITS = { entities: 32, scan: 16 * 1024, total: 64 * 1024, query: 64 } as const;

/** What a value carries: free text, SQL and commands whole; a URL its path segments and query. */
function carrier(v: ParamValue, budget: number): { source: unknown; size: number } | undefined {
  const value = String(v.value);
  if (v.kind !== 'url') {
    const text = value.slice(0, Math.min(EMBEDDED_LIMITS.scan, budget));
    return { source: text, size: text.length };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const segments = url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decoded);
  // Each query member on its own, so its name gives its value a kind (`?email=…`).
  const query = [...url.searchParams].slice(0, EMBEDDED_LIMITS.query).map(([k, q]) => ({ [k]: q }));
  return { source: [...segments, ...query], size: value.length };
}

const SENSITIVE = rankOf('CONFIDENTIAL');

/** Kinds whose values, once the session wrote or sent them, a trusted store's echo does not confirm. */
const WRITTEN_KINDS: ReadonlySet<string> = new Set([
  'email',
  'url',
  'host',
  'principal',
  'account',
  'payee',
  'channel',
]);

/**
 * Counts the entities a value carries (docs/detection.md 4): each one placed inside or
 * outside, and looked up in the session's fingerprints; map lookups only, so the cost does
 * not grow with the session. A value's own entity, and a command's own destinations, are
 * not what it carries. Amounts are left out: a number matches another by chance too often.
 */
function embeddedCounter(flow: FlowState, org: Org, known: ReturnType<typeof knownOrigin>) {
  let budget = EMBEDDED_LIMITS.total;
  return (v: ParamValue, destinations: ReadonlyArray<{ host?: string }> = []): Embedded | undefined => {
    if (budget <= 0) return undefined;
    const read = carrier(v, budget);
    if (!read) return undefined;
    budget -= read.size;
    const own = valueKeys(v).exact;
    const hosts = new Set(destinations.map((d) => d.host).filter((h) => h !== undefined));
    const entities = extractEntities(read.source, EMBEDDED_LIMITS.entities + 1, EMBEDDED_LIMITS.entities + 1)
      .filter((e) => e.kind !== 'amount' && valueKeys(e).exact !== own && !(e.host !== undefined && hosts.has(e.host)))
      .slice(0, EMBEDDED_LIMITS.entities);
    if (entities.length === 0) return undefined;
    const counts: Embedded = { count: entities.length, outside: 0, untrusted: 0, untrusted_outside: 0, sensitive: 0 };
    for (const e of entities) {
      const placement = e.kind === 'id' ? undefined : place(e.kind, e.value, e.host, org);
      const outside = placement?.inside === false;
      // An organisation domain named on its own is everyone's: it says nothing of where it came from.
      const p: Provenance =
        e.kind === 'host' && placement?.inside ? { origin: 'new' } : known(valueKeys(e), placement?.inside);
      if (outside) counts.outside++;
      if (p.origin === 'untrusted') {
        counts.untrusted++;
        if (outside) counts.untrusted_outside++;
      }
      if (p.match === 'exact' && p.source && rankOf(p.source.classification) >= SENSITIVE) counts.sensitive++;
    }
    return counts;
  };
}

function sum<T>(items: T[], of: (item: T) => number | undefined): number {
  return items.reduce((n, item) => n + (of(item) ?? 0), 0);
}

/** Operations a SQL statement speaks for; `send` and `pay` go beyond the database. */
const STATEMENT_OPERATIONS: ReadonlySet<string> = new Set(['read', 'write', 'delete', 'grant', 'execute']);
const DOES: Record<SqlEffect, string[]> = { read: ['read'], write: ['read', 'write'] };

/**
 * The catalog gives a tool the union of what its calls may do; the action's SQL says what
 * this call does (docs/detection.md 4). Narrowed, never widened: the statement operations
 * the catalog gives that the SQL does (what it does when the catalog gives none of them),
 * and whatever else the catalog gives. Only when the SQL is all the action does (no command,
 * path or destination beside it) and every statement of it could be told; else undefined.
 */
function statementOperations(operations: string[], values: ParamValue[]): string[] | undefined {
  let effect: SqlEffect | undefined;
  for (const v of values) {
    if (v.kind === 'command' || v.kind === 'path' || v.destination) return undefined;
    if (v.kind !== 'sql') continue;
    const e = sqlEffect(String(v.value));
    if (e === undefined) return undefined;
    if (effect === undefined || e === 'write') effect = e;
  }
  if (effect === undefined) return undefined;
  const does = DOES[effect];
  // A tool the catalog gives only other operations (`send`) is not the database's to narrow.
  if (operations.length > 0 && !operations.some((o) => STATEMENT_OPERATIONS.has(o))) return undefined;
  const kept = operations.filter((o) => !STATEMENT_OPERATIONS.has(o) || does.includes(o));
  // Returned even when it equals the catalog's: "the statement changes rows" is then known,
  // not only assumed from a tool catalogued as a write.
  return kept.some((o) => STATEMENT_OPERATIONS.has(o)) ? kept : [...does, ...kept];
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
  const known = knownOrigin(a.flow);
  const embedded = embeddedCounter(a.flow, org, known);
  const values: FlowValue[] = [];
  const add = (v: ParamValue, found: Flag[], carried?: Embedded) => {
    if (values.length >= LIMITS.values) return;
    const placement = place(v.kind, String(v.value), v.host, org);
    const { key: _key, secret, ...rest } = v;
    const flags: Flag[] = secret && !found.includes('secret') ? ['secret', ...found] : found;
    // Free text and SQL are not fingerprinted: they are never seen before.
    let provenance = known(valueKeys(v), placement?.inside);
    const names =
      v.destination && placement?.lookalike === false ? destinationNames(v.kind, String(v.value), v.host, org) : [];
    if (provenance.origin === 'new' && namedInIntent(a.flow.salt, a.flow.names, names)) {
      provenance = { origin: 'intent', match: 'name' };
    }
    // A place shared with outsiders that is named after the party the user named.
    const partyNamed =
      placement?.scope === 'shared' && namedInIntent(a.flow.salt, a.flow.names, partyNames(names, org));
    const copiedFrom = secret ? secretSource(a.flow, String(v.value)) : undefined;
    values.push({
      ...rest,
      ...placement,
      ...provenance,
      ...(partyNamed && { party_named: true }),
      ...(copiedFrom !== undefined && { copied_from: copiedFrom }),
      flags,
      ...(carried && { embedded: carried }),
    });
  };
  for (const v of read.values) {
    if (values.length >= LIMITS.values) break;
    if (v.kind === 'sql') add(v, sqlFlags(String(v.value)), embedded(v));
    else if (v.kind === 'command') {
      const analysis = commandAnalysis(String(v.value), org.protectedBranches);
      add(v, analysis.flags, embedded(v, analysis.destinations));
      for (const d of analysis.destinations) {
        const destination = {
          ...d,
          path: v.path,
          pointer: v.pointer,
          param: v.param,
          destination: true,
          inferred: true,
        };
        add(destination, [], d.kind === 'url' ? embedded(destination) : undefined);
      }
    } else if (v.kind === 'text') {
      // The walk marked credentials (`secret`); add() flags them.
      add(v, scanText(String(v.value)).score >= INJECTION_THRESHOLD ? ['injection'] : [], embedded(v));
    } else add(v, [], v.kind === 'url' ? embedded(v) : undefined);
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
  const payeeKey = payeeValue && valueKeys(payeeValue).exact;
  const payee = payeeKey === undefined ? undefined : fingerprintKey(a.flow.salt, payeeKey);
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

  const narrowed = read.partial ? undefined : statementOperations(spec.operations, read.values);
  const integrityUntrusted = a.flow.untrusted_sources.length > 0;
  const operations = narrowed ?? spec.operations;
  // An action whose operations nobody states may change something: its values count as written.
  const changes = operations.length === 0 || operations.some((o) => o !== 'read');
  const written = changes
    ? [
        ...new Set(
          read.values
            .filter((v) => WRITTEN_KINDS.has(v.kind))
            .flatMap((v) => {
              const keys = valueKeys(v);
              return [keys.exact, keys.host].filter((k): k is string => k !== undefined);
            })
            .map((k) => fingerprintKey(a.flow.salt, k)),
        ),
      ]
    : [];
  const reach = reachOf(
    a.parameters,
    read.values.filter((v) => v.kind === 'sql').map((v) => String(v.value)),
  );
  const folded = foldedStrings(a.parameters);
  return {
    flow: {
      ...(folded && { folded }),
      operations,
      operations_from: narrowed ? 'statement' : 'catalog',
      values,
      unreadable: read.unreadable,
      ...(read.amount && { amount: read.amount }),
      intent: a.flow.intent_actions ?? { present: false, actions: [] },
      ...(reach && { reach }),
      ...(catalog.memory && { memory: catalog.memory }),
      carries: {
        sensitive: sum(values, (v) => v.embedded?.sensitive),
        untrusted_outside: sum(values, (v) => v.embedded?.untrusted_outside),
      },
      session: sessionView(a.flow, { nowMs: a.now.getTime(), actionCount: a.actionCount, payee }),
    },
    provenance,
    counted,
    ...(written.length > 0 && { written }),
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
  if (action.written) next = noteWritten(next, action.written);
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
  const level = classification ?? 'RESTRICTED';
  // Identifiers (tax ids, customer numbers) only of sensitive results: elsewhere they say nothing.
  const ids = rankOf(level) >= SENSITIVE ? ID_LIMIT : 0;
  const entities = hasContent ? extractEntities(o.content, ENTITY_LIMIT, ids) : [];
  const of = (id: boolean) =>
    entityFingerprints(
      flow.salt,
      entities.filter((e) => (e.kind === 'id') === id),
    );
  flow = recordFingerprints(flow, of(false), trust, level, o.tool);
  flow = recordFingerprints(flow, of(true), trust, level, o.tool, 'ids');
  // Key- and token-like strings, to know later that a credential was copied out of content.
  const tokens = hasContent ? secretTokens(text).map((t) => fingerprint(flow.salt, 'secret', t)) : [];
  flow = recordFingerprints(flow, tokens, trust, level, o.tool, 'ids');
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
export function receiptFlow(
  flow: FlowInput,
  raw: unknown,
  masked: unknown,
  masker: { hash(value: unknown): string },
): FlowInput {
  let changed = false;
  const values = flow.values.map((v) => {
    if (!maskedAt(raw, masked, v.pointer)) return v;
    changed = true;
    return { ...v, value: masker.hash(v.value) };
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
