/**
 * Entities in content and in the session intent (docs/detection.md 3.3), and the salted
 * fingerprints the session keeps of them instead of the text. A fingerprint is
 * HMAC-SHA-256(salt, "kind:value") cut to 16 base64url characters (96 bits): enough that
 * two of a session's values never collide by chance, useless for reading values back
 * without the salt, and the salt never leaves the session summary.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { commandAnalysis } from './analyse.js';
import { kindFromName, readAs } from './kinds.js';
import { readAmount, readChannel, readEmails, readPath, readUrl, validIban, type Read } from './normalise.js';

export type EntityKind =
  'email' | 'url' | 'host' | 'channel' | 'principal' | 'path' | 'account' | 'payee' | 'amount' | 'command' | 'id';

export interface Entity {
  kind: EntityKind;
  value: string;
  host?: string;
  /** url: the fingerprinted form. */
  key?: string;
}

export const ENTITY_LIMIT = 256;
/** Identifier tokens read from one content, besides its other entities. */
export const ID_LIMIT = 128;
/** Content past this is not read for entities (outcomes are at most 256 KiB anyway). */
export const TEXT_LIMIT = 256 * 1024;
const WALK_LEAVES = 4096;
const WALK_DEPTH = 16;

export function newSalt(): string {
  return randomBytes(16).toString('base64url');
}

/** The fingerprint of a "kind:value" key (valueKeys). */
export function fingerprintKey(salt: string, key: string): string {
  return createHmac('sha256', Buffer.from(salt, 'base64url')).update(key).digest('base64url').slice(0, 16);
}

export function fingerprint(salt: string, kind: string, value: string): string {
  return fingerprintKey(salt, `${kind}:${value}`);
}

/**
 * What is fingerprinted of a value: its exact form, and for e-mail addresses and URLs
 * (a principal that is an address counts as one) also its host. Text and SQL have none.
 */
export function valueKeys(e: { kind: string; value: string | number; host?: string; key?: string }): {
  exact?: string;
  host?: string;
} {
  const v = String(e.value);
  switch (e.kind) {
    case 'email':
      return { exact: `email:${v}`, ...(e.host !== undefined && { host: `host:${e.host}` }) };
    case 'principal':
      return e.host !== undefined ? { exact: `email:${v}`, host: `host:${e.host}` } : { exact: `principal:${v}` };
    case 'url':
      return { exact: `url:${e.key ?? v}`, ...(e.host !== undefined && { host: `host:${e.host}` }) };
    case 'host':
      return { exact: `host:${v}` };
    case 'channel':
    case 'path':
    case 'account':
    case 'payee':
    case 'amount':
    case 'id':
      return { exact: `${e.kind}:${v}` };
    case 'command':
      return { exact: `command:${v.replace(/\s+/g, ' ')}` };
    default:
      return {};
  }
}

/** The fingerprints of entities: exact forms and hosts, deduplicated, in order. */
export function entityFingerprints(salt: string, entities: Entity[]): string[] {
  const out = new Set<string>();
  for (const e of entities) {
    const keys = valueKeys(e);
    for (const k of [keys.exact, keys.host]) if (k !== undefined) out.add(fingerprintKey(salt, k));
  }
  return [...out];
}

/** The text of content: a string, or the strings of a JSON value joined by newlines. */
export function contentText(content: unknown, limit = TEXT_LIMIT): string {
  if (typeof content === 'string') return content.length > limit ? content.slice(0, limit) : content;
  const parts: string[] = [];
  let size = 0;
  walk(content, (_member, value) => {
    if (typeof value !== 'string' || size >= limit) return;
    parts.push(value);
    size += value.length + 1;
  });
  const text = parts.join('\n');
  return text.length > limit ? text.slice(0, limit) : text;
}

/** The strings of a value (itself, when it is one), at most `limit`. */
export function stringLeaves(value: unknown, limit: number): string[] {
  if (typeof value === 'string') return [value];
  const out: string[] = [];
  walk(value, (_member, v) => {
    if (typeof v === 'string' && out.length < limit) out.push(v);
  });
  return out;
}

/** Visits the leaves of a JSON value with the name of the member holding them; bounded. */
function walk(value: unknown, visit: (member: string, value: unknown) => void): void {
  const stack: Array<[string, unknown, number]> = [['', value, 0]];
  let leaves = 0;
  while (stack.length > 0 && leaves < WALK_LEAVES) {
    const [member, v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') {
      leaves++;
      visit(member, v);
      continue;
    }
    if (depth >= WALK_DEPTH) continue;
    const entries: Array<[string, unknown]> = Array.isArray(v)
      ? v.slice(0, WALK_LEAVES).map((item) => [member, item])
      : Object.entries(v).slice(0, WALK_LEAVES);
    for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i]![0], entries[i]![1], depth + 1]);
  }
}

// Transfer schemes too (sftp, ftps, ssh, git, smb, webdav): an export sent to an SFTP host
// is data leaving as surely as a POST.
const URLS =
  /\b(?:https?|s?ftps?|wss?|ssh|git|smb|davs?):\/\/[^\s<>"'`\\)\]}]+|(?<![\w@.\/-])www\.[a-z0-9.-]+\.[a-z]{2,}[^\s<>"'`\\)\]}]*/gi;
const TLDS =
  'com|net|org|io|co|ai|dev|app|biz|info|xyz|me|us|uk|de|fr|eu|ru|cn|top|site|online|cloud|tech|shop|store|live|pro|ly|gg|tv|cc|ch|nl|be|at|se|no|dk|fi|es|it|pt|pl|cz|ca|au|nz|jp|kr|in|br|mx|za|ie|il|tr|gr|hu|ro|ua|vn|sg|hk|tw|ar|cl|email|link|click|zip|page|finance|money|bank';
const DOMAINS = new RegExp(
  `(?<![\\w@./:-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+(?:${TLDS}))(?![\\w-]|\\.\\w)`,
  'gi',
);
const IBANS = /\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,4})?\b/g;
const CHANNELS = /(?<![\w&#/])#([a-z][a-z0-9._-]{1,79})\b/gi;
const PATHS = /(?<![\w:/.@-])(?:~|\.{1,2})?\/(?:[\w.@+-]+\/)+[\w.@+-]*/g;
const COMMANDS =
  /^[ \t]*(?:\$[ \t]+)?((?:sudo[ \t]+)?(?:curl|wget|ssh|scp|rsync|nc|ncat|git|kubectl|rm|terraform|helm|psql|mysql|bash|sh|python3?|chmod|dd|aws|gcloud|az)[ \t][^\n]{1,500})$/gm;
// A number followed by its currency starts only where the number does: one pass over a long run of digits.
const AMOUNTS =
  /(?:[$€£]\s?\d[\d,.]*\d|\b(?<!\d[,.])\d[\d,.]*\s?(?:USD|EUR|GBP|CHF|JPY|CAD|AUD)\b|\b(?:USD|EUR|GBP|CHF|JPY|CAD|AUD)\s?\d[\d,.]*\d)/g;

function trimUrl(raw: string): string {
  return raw.replace(/[.,;:!?'")\]]+$/, '');
}

/** An identifier's normal form: separators dropped, upper-case. */
function compact(value: string): string {
  return value.replace(/[-/. ]/g, '').toUpperCase();
}

class Collector {
  readonly entities: Entity[] = [];
  private readonly seen = new Set<string>();
  /** Other entities in an identifier's normal form: an IBAN or a payee id is not an identifier too. */
  private readonly compacted = new Set<string>();
  private others = 0;
  private ids = 0;
  constructor(
    private readonly limit: number,
    private readonly idLimit: number,
  ) {}
  get full(): boolean {
    return this.others >= this.limit && this.ids >= this.idLimit;
  }
  get wantsIds(): boolean {
    return this.ids < this.idLimit;
  }
  add(kind: EntityKind, r: Read | undefined): void {
    if (!r || (kind === 'id' ? this.ids >= this.idLimit : this.others >= this.limit)) return;
    const id = `${kind}:${r.key ?? r.value}`;
    if (this.seen.has(id) || (kind === 'id' && this.compacted.has(r.value))) return;
    this.seen.add(id);
    if (kind === 'id') this.ids++;
    else {
      this.others++;
      this.compacted.add(compact(r.value));
    }
    this.entities.push({
      kind,
      value: r.value,
      ...(r.host !== undefined && { host: r.host }),
      ...(r.key !== undefined && { key: r.key }),
    });
  }
}

/**
 * Identifier-like tokens (docs/detection.md 3.3): letters and digits, with single `-`, `/`
 * or `.` inside, and groups of digits after single spaces (`+49 40 5550 1288`), also after an
 * upper-case prefix of up to three letters (`FR 40 303 265 045`), when the first part holds a
 * digit. A list of identifiers (`SUP-48190 SUP-48202`) stays a list: a group after a space is
 * digits only.
 */
const COMPACT = String.raw`[A-Za-z0-9]+(?:[-/.][A-Za-z0-9]+)*`;
const IDS = new RegExp(
  String.raw`(?<![A-Za-z0-9./-])(?:(?:[A-Z]{1,3} (?=\d))?(?=[A-Za-z0-9./-]*\d)${COMPACT}(?: \d+(?![A-Za-z0-9]|[-/.][A-Za-z0-9]))*|${COMPACT})`,
  'g',
);
/**
 * Read before identifiers, so that their digits are not taken for one: addresses, IBANs,
 * paths, amounts, timestamps, times, dates, numbers with commas. Each starts only where a
 * run starts, so a long run costs one pass.
 */
const NOT_IDS = [
  /(?<![^\s<>"'(),;])[^\s@<>"'(),;]+@[^\s@<>"'(),;]+/g,
  IBANS,
  PATHS,
  AMOUNTS,
  /\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/g,
  /(?<!\d)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?[ap]\.?m\.?)?(?!\d)/gi,
  /(?<![\w./-])(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2}))(?![\w/-]|\.\d)/g,
  /(?<![\d.,])\d+(?:[.,]\d+)*,\d+(?:[.,]\d+)*/g,
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{2}|\d{4}))$/;
const COMPACT_DATE =
  /^(?:(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])|(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])(?:19|20)\d{2})$/;
/** Years and periods: 2024, FY2024, 2024-Q3, Q3/2024, 2023/24, KW12-2024. */
const PERIOD =
  /^(?:(?:fy|q[1-4]|h[12]|(?:cw|kw|wk?)\d{0,2})[-/. ]?)?(?:19|20)\d{2}(?:[-/. ]?(?:q[1-4]|h[12]|wk?\d{1,2}|(?:19|20)?\d{2}))?$/i;
/** Numbers with dots (versions, addresses, decimals, 1.234.567) and thousands groups (1 200 000). */
const NUMBER = /^(?:\d+(?:\.\d+)+|\d{1,3}(?: \d{3})+)$/;
/** Names of standards and things that are written with a number: ISO 27001 is no identifier. */
const NAMED = new Set([
  'ISO',
  'IEC',
  'EN',
  'DIN',
  'RFC',
  'COVID',
  'SARS',
  'SHA',
  'MD',
  'UTF',
  'HTTP',
  'TLS',
  'SSL',
  'IPV',
  'PCI',
]);

/** The normal form of an identifier-like token; undefined for what is no identifier. */
export function identifier(token: string): string | undefined {
  if (token.length < 8) return undefined;
  const value = compact(token);
  if (value.length > 34 || (value.match(/\d/g)?.length ?? 0) < 2) return undefined;
  if (UUID.test(token)) return value;
  // A run of three lower-case letters is a word (`Windows10`, `v2-beta`), not an identifier.
  if (/[a-z]{3}/.test(token)) return undefined;
  const pieces = token.split(/[/ ]/);
  const dated = (t: string) => DATE.test(t) || COMPACT_DATE.test(t) || PERIOD.test(t);
  if (dated(token) || pieces.every(dated) || NUMBER.test(token)) return undefined;
  // A bare number is a count or an amount more often than an identifier, unless it is long or
  // zero-padded; a long one may still be a Unix time (seconds or milliseconds, 2017-2033).
  if (/^(?:[1-9]\d{0,8}|1[5-9]\d{8}|1[5-9]\d{11})$/.test(token)) return undefined;
  if (/^\d{2,5}x\d{2,5}$/i.test(token)) return undefined;
  const letters = token.split(/[^A-Za-z]+/).filter((w) => w !== '');
  if (letters.length > 0 && letters.every((w) => NAMED.has(w.toUpperCase()))) return undefined;
  return value;
}

/** Shannon entropy of a string, in bits per character. */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length);
  return h;
}

/**
 * Tokens of content that look like keys or tokens: 20 to 200 characters of a key's
 * alphabet, with lower- and upper-case letters and digits, dense in information (not a
 * word, a path or an id made of a few repeated parts). At most `limit`, first ones found.
 */
export function secretTokens(text: string, limit = 16): string[] {
  const out = new Set<string>();
  for (const m of text
    .slice(0, TEXT_LIMIT)
    .matchAll(/(?<![A-Za-z0-9_+/=.-])[A-Za-z0-9_+/=.-]{20,200}(?![A-Za-z0-9_+/=.-])/g)) {
    // `NAME=value`: the value (an `=` inside is an assignment; at the end, base64 padding).
    for (const t of m[0].split(/=(?!=*$)/)) {
      if (t.length < 20 || !/[a-z]/.test(t) || !/[A-Z]/.test(t) || !/\d/.test(t) || entropy(t) < 3.5) continue;
      out.add(t);
    }
    if (out.size >= limit) break;
  }
  return [...out].slice(0, limit);
}

/** A percent-encoded URL part, decoded when it decodes. */
export function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A URL in text: the identifiers in its path segments and query values, each on its own line. */
function urlParts(raw: string): string {
  let url: URL;
  try {
    url = new URL(/^www\./i.test(raw) ? `http://${raw}` : raw);
  } catch {
    return ' ';
  }
  const parts = [...url.pathname.split('/').map(decoded), ...url.searchParams.values()];
  return `\n${parts.join('\n')}\n`;
}

function fromIds(text: string, c: Collector): void {
  let rest = text.replace(URLS, (u) => urlParts(trimUrl(u)));
  for (const re of NOT_IDS) {
    // Only a real IBAN is not an identifier: an EORI or a B/L number shaped like one is.
    rest = rest.replace(re, (m) => (re === IBANS && !validIban(m.replace(/[ -]/g, '')) ? m : ' '.repeat(m.length)));
  }
  for (const m of rest.matchAll(IDS)) {
    if (!c.wantsIds) return;
    const value = identifier(m[0]);
    if (value !== undefined) c.add('id', { value });
  }
}

function fromText(text: string, c: Collector): void {
  for (const r of readEmails(text, TEXT_LIMIT)) c.add('email', r);
  for (const m of text.matchAll(URLS)) c.add('url', readUrl(trimUrl(m[0])));
  for (const m of text.matchAll(DOMAINS)) {
    const host = m[1]!.toLowerCase();
    c.add('host', { value: host, host });
  }
  for (const m of text.matchAll(IBANS)) {
    const iban = m[0].replace(/[ -]/g, '');
    if (validIban(iban)) c.add('account', { value: iban });
  }
  for (const m of text.matchAll(CHANNELS)) c.add('channel', readChannel(m[1]!));
  for (const m of text.matchAll(PATHS)) c.add('path', readPath(m[0].replace(/[.,;:!?]+$/, '')));
  for (const m of text.matchAll(COMMANDS)) {
    const line = m[1]!.trim();
    c.add('command', { value: line.replace(/\s+/g, ' ') });
    for (const d of commandAnalysis(line, []).destinations) c.add(d.kind, d);
  }
  for (const m of text.matchAll(AMOUNTS)) {
    const a = readAmount(m[0]);
    if (a) c.add('amount', { value: String(a.value) });
  }
  if (c.wantsIds) fromIds(text, c);
}

/** A JSON member whose name gives a kind contributes its value as that kind. */
/** Members that hold an identifier whole, whatever its spacing ("tax_id": "47 036 892 816"). */
const ID_MEMBER = /(?:^|[_-])(?:id|no|nr|number|tin|vat|ssn|nin|tax[_-]?id|steuer[_-]?id)$/i;

function fromMember(member: string, value: unknown, c: Collector): void {
  if (ID_MEMBER.test(member) && (typeof value === 'string' || typeof value === 'number')) {
    const whole = compact(String(value));
    if (whole.length >= 6 && whole.length <= 34 && (whole.match(/\d/g)?.length ?? 0) >= 4)
      c.add('id', { value: whole });
  }
  const kind = member === '' ? undefined : kindFromName(member);
  if (kind === undefined || kind === 'text' || kind === 'sql' || kind === 'currency') return;
  if (kind === 'amount') {
    const a = readAmount(value);
    if (a) c.add('amount', { value: String(a.value) });
    return;
  }
  for (const r of readAs(kind, value)) {
    if (kind === 'principal' && r.host !== undefined) c.add('email', r);
    else if (kind === 'account' && !validIban(r.value) && !/^\d{5,}$/.test(r.value)) continue;
    else c.add(kind, r);
  }
}

/**
 * The entities in content (a string, or JSON: its strings, and members whose names give a
 * kind) or in an intent; at most `limit`, the first ones found, and besides them at most
 * `ids` identifier tokens (none unless asked for).
 */
export function extractEntities(content: unknown, limit = ENTITY_LIMIT, ids = 0): Entity[] {
  const c = new Collector(limit, ids);
  if (typeof content === 'string') {
    fromText(content.length > TEXT_LIMIT ? content.slice(0, TEXT_LIMIT) : content, c);
    return c.entities;
  }
  let size = 0;
  walk(content, (member, value) => {
    if (c.full) return;
    fromMember(member, value, c);
    if (typeof value === 'string' && size < TEXT_LIMIT) {
      size += value.length;
      fromText(value, c);
    }
  });
  return c.entities;
}
