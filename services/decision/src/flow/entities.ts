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
  'email' | 'url' | 'host' | 'channel' | 'principal' | 'path' | 'account' | 'payee' | 'amount' | 'command';

export interface Entity {
  kind: EntityKind;
  value: string;
  host?: string;
  /** url: the fingerprinted form. */
  key?: string;
}

export const ENTITY_LIMIT = 256;
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

const URLS = /\b(?:https?|ftp|wss?):\/\/[^\s<>"'`\\)\]}]+|(?<![\w@.\/-])www\.[a-z0-9.-]+\.[a-z]{2,}[^\s<>"'`\\)\]}]*/gi;
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
const AMOUNTS =
  /(?:[$€£]\s?\d[\d,.]*\d|\b\d[\d,.]*\s?(?:USD|EUR|GBP|CHF|JPY|CAD|AUD)\b|\b(?:USD|EUR|GBP|CHF|JPY|CAD|AUD)\s?\d[\d,.]*\d)/g;

function trimUrl(raw: string): string {
  return raw.replace(/[.,;:!?'")\]]+$/, '');
}

class Collector {
  readonly entities: Entity[] = [];
  private readonly seen = new Set<string>();
  constructor(private readonly limit: number) {}
  get full(): boolean {
    return this.entities.length >= this.limit;
  }
  add(kind: EntityKind, r: Read | undefined): void {
    if (!r || this.full) return;
    const id = `${kind}:${r.key ?? r.value}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.entities.push({
      kind,
      value: r.value,
      ...(r.host !== undefined && { host: r.host }),
      ...(r.key !== undefined && { key: r.key }),
    });
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
}

/** A JSON member whose name gives a kind contributes its value as that kind. */
function fromMember(member: string, value: unknown, c: Collector): void {
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
 * kind) or in an intent; at most `limit`, the first ones found.
 */
export function extractEntities(content: unknown, limit = ENTITY_LIMIT): Entity[] {
  const c = new Collector(limit);
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
