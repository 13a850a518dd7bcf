/**
 * The session's information-flow state (docs/detection.md 3), kept in the session summary
 * so it is committed atomically with everything else. Every part is bounded, and each
 * update touches a fixed number of entries: a decision costs the same at the thousandth
 * action as at the first (ARCHITECTURE: O(1) context). Functions here are pure: they take
 * `now` and return a new state.
 */
import { higher, rankOf } from '../context/classify.js';
import { CLASSIFICATIONS, type Classification } from '../context/types.js';
import type { IntentView } from './intent.js';

export const BOUNDS = {
  fingerprints: 512,
  ids: 256,
  intent: 64,
  written: 64,
  untrustedSources: 8,
  facts: 32,
  payees: 16,
  awaiting: 64,
  currencies: 16,
} as const;

export type Origin = 'intent' | 'trusted' | 'untrusted';
/** A fingerprint's first sighting: origin (t|u), the highest level it was seen at, the tool. */
export type FingerprintEntry = [origin: 't' | 'u', rank: number, tool: string];
export type Scalar = string | number | boolean | null;

/** A count over a sliding hour: this hour bucket and the one before. */
export interface Hourly {
  h: number;
  cur: number;
  prev: number;
}

export interface FlowState {
  /** base64url HMAC key of the session's fingerprints; '' until the first decision. */
  salt: string;
  /** Fingerprints of what the intent names (never evicted by content). */
  intent: string[];
  /**
   * Fingerprints of the addresses, accounts and hosts the session's own allowed changes and
   * sends carried: a trusted store that returns one of them only echoes the agent.
   */
  written?: string[];
  /** Fingerprints of the names the intent mentions (names.ts); absent in states older than them. */
  names?: string[];
  /** The actions the intent asks for, read once (intent.ts); absent in states older than it. */
  intent_actions?: IntentView;
  /** Fingerprints of content entities, oldest first. */
  fps: Record<string, FingerprintEntry>;
  /**
   * Fingerprints of identifiers in sensitive content (tax ids, customer numbers), oldest
   * first, apart so that many of them never push addresses out; absent until the first.
   */
  ids?: Record<string, FingerprintEntry>;
  /** The highest level outcomes have reported. */
  confirmed: Classification;
  /** Allowed actions whose outcome has not arrived: the tool's catalog level, provisionally. */
  awaiting: Record<string, Classification>;
  untrusted_sources: string[];
  last_untrusted?: { tool: string; at: string; action_count: number };
  injection: { score: number; tool?: string; features: string[] };
  facts: Record<string, Scalar>;
  memory_tainted: boolean;
  totals: {
    paid: Record<string, number>;
    paid_hour: Record<string, Hourly>;
    sends_hour: Hourly;
    records_read: number;
    /** Payments per payee (keyed by the payee's fingerprint) over the sliding hour. */
    payees_hour: Record<string, { count: Hourly; amount: Hourly }>;
  };
}

export function emptyFlow(): FlowState {
  return {
    salt: '',
    intent: [],
    fps: {},
    confirmed: 'PUBLIC',
    awaiting: {},
    untrusted_sources: [],
    injection: { score: 0, features: [] },
    facts: {},
    memory_tainted: false,
    totals: { paid: {}, paid_hour: {}, sends_hour: emptyHourly(), records_read: 0, payees_hour: {} },
  };
}

/** What a value's fingerprints say about where it came from. */
export interface Provenance {
  origin: Origin | 'new';
  /** How it matched: the exact value, its host, or (intent only) its name (names.ts). */
  match?: 'exact' | 'host' | 'name';
  source?: { tool: string; classification: Classification };
}

/** The first fingerprint known: the exact one wins over the host. */
export function provenanceOf(flow: FlowState, exact: string | undefined, host: string | undefined): Provenance {
  for (const [fp, match] of [
    [exact, 'exact'],
    [host, 'host'],
  ] as const) {
    if (fp === undefined) continue;
    if (flow.intent.includes(fp)) return { origin: 'intent', match };
    const entry = Object.hasOwn(flow.fps, fp)
      ? flow.fps[fp]
      : flow.ids && Object.hasOwn(flow.ids, fp)
        ? flow.ids[fp]
        : undefined;
    if (entry) {
      return {
        origin: entry[0] === 'u' ? 'untrusted' : 'trusted',
        match,
        source: { tool: entry[2], classification: CLASSIFICATIONS[entry[1]] ?? 'RESTRICTED' },
      };
    }
  }
  return { origin: 'new' };
}

export function withIntent(flow: FlowState, salt: string, fingerprints: string[]): FlowState {
  return { ...flow, salt, intent: [...new Set(fingerprints)].slice(0, BOUNDS.intent) };
}

/**
 * Records content fingerprints. A value keeps the origin of its first sighting and the
 * highest level it was seen at; a sighting makes it the newest, and past the bound (of
 * entities, or of identifiers) the oldest are dropped. One exception to the first
 * sighting: a value first seen in untrusted content that a trusted source then returns
 * (the CRM confirms the carrier's rebooking address) is confirmed, and counts as trusted
 * from there on, unless the session itself wrote or sent it before (`written`): copying
 * it through a trusted store does not launder it.
 */
export function recordFingerprints(
  flow: FlowState,
  fingerprints: string[],
  origin: 'trusted' | 'untrusted',
  level: Classification,
  tool: string,
  into: 'fps' | 'ids' = 'fps',
): FlowState {
  if (fingerprints.length === 0) return flow;
  const fps = { ...flow[into] };
  const rank = rankOf(level);
  for (const fp of fingerprints) {
    const before = Object.hasOwn(fps, fp) ? fps[fp] : undefined;
    if (before) delete fps[fp];
    const confirmed = before?.[0] === 'u' && origin === 'trusted' && !(flow.written ?? []).includes(fp);
    fps[fp] =
      before && !confirmed
        ? [before[0], Math.max(before[1], rank), before[2]]
        : [origin === 'untrusted' ? 'u' : 't', Math.max(before?.[1] ?? 0, rank), tool.slice(0, 256)];
  }
  let excess = Object.keys(fps).length - (into === 'ids' ? BOUNDS.ids : BOUNDS.fingerprints);
  for (const fp in fps) {
    if (excess-- <= 0) break;
    delete fps[fp];
  }
  return { ...flow, [into]: fps };
}

/** Notes the fingerprints of what an allowed change or send carried (newest kept). */
export function noteWritten(flow: FlowState, fingerprints: string[]): FlowState {
  if (fingerprints.length === 0) return flow;
  const written = [...(flow.written ?? []).filter((f) => !fingerprints.includes(f)), ...fingerprints];
  return { ...flow, written: written.slice(-BOUNDS.written) };
}

/** The session read untrusted content from `tool`. */
export function noteUntrusted(flow: FlowState, tool: string, at: string, actionCount: number): FlowState {
  const sources = [...flow.untrusted_sources.filter((s) => s !== tool), tool].slice(-BOUNDS.untrustedSources);
  return { ...flow, untrusted_sources: sources, last_untrusted: { tool, at, action_count: actionCount } };
}

export function noteInjection(flow: FlowState, score: number, tool: string, features: string[]): FlowState {
  if (score <= flow.injection.score) return flow;
  return { ...flow, injection: { score, tool, features } };
}

/** Last write wins; past the bound the oldest facts go. */
export function mergeFacts(flow: FlowState, facts: Record<string, Scalar>): FlowState {
  const keys = Object.keys(facts);
  if (keys.length === 0) return flow;
  const merged: Record<string, Scalar> = {};
  for (const [k, v] of Object.entries(flow.facts)) if (!Object.hasOwn(facts, k)) merged[k] = v;
  for (const k of keys) merged[k] = facts[k]!;
  return { ...flow, facts: Object.fromEntries(Object.entries(merged).slice(-BOUNDS.facts)) };
}

/** An allowed action's tool level counts until its outcome arrives. */
export function awaitOutcome(flow: FlowState, actionId: string, level: Classification): FlowState {
  const entries = Object.entries({ ...flow.awaiting, [actionId]: level });
  const dropped = entries.slice(0, Math.max(0, entries.length - BOUNDS.awaiting));
  // An entry pushed out never got its outcome: its provisional level becomes confirmed.
  const confirmed = dropped.reduce((c, [, l]) => higher(c, l), flow.confirmed);
  return { ...flow, confirmed, awaiting: Object.fromEntries(entries.slice(dropped.length)) };
}

/** The outcome's level replaces the provisional one. */
export function settleOutcome(flow: FlowState, actionId: string, level: Classification | undefined): FlowState {
  const { [actionId]: _settled, ...awaiting } = flow.awaiting;
  return { ...flow, awaiting, confirmed: level ? higher(flow.confirmed, level) : flow.confirmed };
}

/** The session's level: what outcomes reported, and what allowed actions may still return. */
export function sessionLevel(flow: FlowState): Classification {
  return Object.values(flow.awaiting).reduce(higher, flow.confirmed);
}

// ---------------------------------------------------------------------------
// Totals over the session and over a sliding hour
// ---------------------------------------------------------------------------

const HOUR_MS = 3_600_000;

function emptyHourly(): Hourly {
  return { h: 0, cur: 0, prev: 0 };
}

function addHourly(x: Hourly | undefined, nowMs: number, amount: number): Hourly {
  const h = Math.floor(nowMs / HOUR_MS);
  const base = x ?? emptyHourly();
  if (base.h === h) return { h, cur: base.cur + amount, prev: base.prev };
  if (base.h === h - 1) return { h, cur: amount, prev: base.cur };
  return { h, cur: amount, prev: 0 };
}

/**
 * The last hour, estimated from two fixed buckets: this hour's, plus the previous hour's
 * weighted by how much of it still lies within the last 60 minutes. A limit cannot be
 * dodged by splitting across the top of the hour.
 */
export function readHourly(x: Hourly | undefined, nowMs: number): number {
  if (!x) return 0;
  const h = Math.floor(nowMs / HOUR_MS);
  const rest = 1 - (nowMs - h * HOUR_MS) / HOUR_MS;
  if (x.h === h) return x.cur + x.prev * rest;
  if (x.h === h - 1) return x.cur * rest;
  return 0;
}

const money = (n: number) => Math.round(n * 100) / 100;

export interface Counted {
  nowMs: number;
  /** A payment: its amount (currency "XXX" when none is named) and payee fingerprint. */
  payment?: { amount?: number; currency: string; payee?: string };
  /** A send to an outside destination. */
  externalSend: boolean;
}

function bounded<T>(record: Record<string, T>, bound: number): Record<string, T> {
  const entries = Object.entries(record);
  return entries.length <= bound ? record : Object.fromEntries(entries.slice(-bound));
}

/** Counts an allowed action into the totals. */
export function countAction(flow: FlowState, c: Counted): FlowState {
  const t = flow.totals;
  let { paid, paid_hour, payees_hour } = t;
  const p = c.payment;
  if (p) {
    const amount = p.amount !== undefined && p.amount > 0 ? p.amount : 0;
    if (amount > 0) {
      paid = bounded({ ...paid, [p.currency]: money((paid[p.currency] ?? 0) + amount) }, BOUNDS.currencies);
      paid_hour = bounded(
        { ...paid_hour, [p.currency]: addHourly(paid_hour[p.currency], c.nowMs, amount) },
        BOUNDS.currencies,
      );
    }
    if (p.payee !== undefined) {
      const { [p.payee]: before, ...others } = payees_hour;
      payees_hour = bounded(
        {
          ...others,
          [p.payee]: {
            count: addHourly(before?.count, c.nowMs, 1),
            amount: addHourly(before?.amount, c.nowMs, amount),
          },
        },
        BOUNDS.payees,
      );
    }
  }
  const sends_hour = c.externalSend ? addHourly(t.sends_hour, c.nowMs, 1) : t.sends_hour;
  return { ...flow, totals: { ...t, paid, paid_hour, payees_hour, sends_hour } };
}

export function addRecords(flow: FlowState, records: number): FlowState {
  return records > 0 ? { ...flow, totals: { ...flow.totals, records_read: flow.totals.records_read + records } } : flow;
}

/** `input.flow.session` (docs/detection.md 4): never the salt or a fingerprint. */
export interface FlowSession {
  integrity: 'trusted' | 'untrusted';
  untrusted_sources: string[];
  last_untrusted?: { tool: string; at: string; actions_ago: number };
  injection: { score: number; tool?: string; features: string[] };
  facts: Record<string, Scalar>;
  memory_tainted: boolean;
  totals: {
    paid: Record<string, number>;
    paid_hour: Record<string, number>;
    external_sends_hour: number;
    records_read: number;
    payments_to_payee_hour: { count: number; amount: number };
  };
}

export function sessionView(
  flow: FlowState,
  at: { nowMs: number; actionCount: number; payee?: string | undefined },
): FlowSession {
  const t = flow.totals;
  const payee = at.payee !== undefined && Object.hasOwn(t.payees_hour, at.payee) ? t.payees_hour[at.payee] : undefined;
  const last = flow.last_untrusted;
  return {
    integrity: flow.untrusted_sources.length > 0 ? 'untrusted' : 'trusted',
    untrusted_sources: flow.untrusted_sources,
    ...(last && {
      // Counting the action being decided: 1 for the action right after the read.
      last_untrusted: {
        tool: last.tool,
        at: last.at,
        actions_ago: Math.max(1, at.actionCount - last.action_count + 1),
      },
    }),
    injection: flow.injection,
    facts: flow.facts,
    memory_tainted: flow.memory_tainted,
    totals: {
      paid: t.paid,
      paid_hour: Object.fromEntries(
        Object.entries(t.paid_hour)
          .map(([cur, h]): [string, number] => [cur, money(readHourly(h, at.nowMs))])
          .filter(([, v]) => v > 0),
      ),
      external_sends_hour: Math.round(readHourly(t.sends_hour, at.nowMs)),
      records_read: t.records_read,
      payments_to_payee_hour: {
        count: Math.round(readHourly(payee?.count, at.nowMs)),
        amount: money(readHourly(payee?.amount, at.nowMs)),
      },
    },
  };
}
