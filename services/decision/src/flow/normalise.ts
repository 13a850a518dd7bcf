/**
 * Reading one value as one kind (docs/detection.md 1.1): each reader returns the value's
 * canonical form, or undefined when the value cannot be read so. The same readers serve
 * parameters (kinds.ts) and content (entities.ts), so a value matches its fingerprint
 * however it was written ("Bob <B@X.io>" and "b@x.io" are one address).
 */
import { posix } from 'node:path';

export type Kind =
  | 'email'
  | 'url'
  | 'host'
  | 'channel'
  | 'principal'
  | 'path'
  | 'account'
  | 'payee'
  | 'amount'
  | 'currency'
  | 'sql'
  | 'command'
  | 'text';

export const KINDS: ReadonlySet<string> = new Set<Kind>([
  'email',
  'url',
  'host',
  'channel',
  'principal',
  'path',
  'account',
  'payee',
  'amount',
  'currency',
  'sql',
  'command',
  'text',
]);

/** Kinds whose value says where data, money or access goes. */
export const DESTINATION_KINDS: ReadonlySet<Kind> = new Set<Kind>([
  'email',
  'url',
  'host',
  'channel',
  'principal',
  'account',
  'payee',
]);

export interface Amount {
  value: number;
  currency?: string;
}

/** One value read as its kind: `value` canonical, `host` for addresses and URLs. */
export interface Read {
  value: string;
  host?: string;
  /** url only: what a fingerprint keeps (host, path and query, no scheme). */
  key?: string;
}

const MAX_STRING = 4096;

// In running text an address may follow a `key=`, a path or a quote: `=`, `/` and a
// leading quote are not read as part of it (`email=ann@x.io`, `'ann@x.io'`).
const EMAIL = /(?!['`])[a-z0-9.!#$%&'*+?^_`{|}~-]{1,64}@((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})/gi;
const EMAIL_WHOLE = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$/i;
const HOSTNAME = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;
const SCHEME = /^[a-z][a-z0-9+.-]{0,31}:\/\//i;
const BARE_URL = /^(?:\/\/)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?::\d{1,5})?(?:[/?#]|$)/i;

/** Every address in a string: one, a list ("a@x.io; b@y.io") or display forms ("Bob <b@x.io>"). */
export function readEmails(value: string, max = MAX_STRING): Read[] {
  if (value.length > max) return [];
  const found = new Map<string, Read>();
  for (const m of value.matchAll(EMAIL)) {
    const address = m[0].toLowerCase();
    if (!found.has(address)) found.set(address, { value: address, host: m[1]!.toLowerCase() });
  }
  return [...found.values()];
}

/** One address that is the whole string (for shape inference). */
export function readEmail(value: string): Read | undefined {
  const v = value.trim();
  const m = EMAIL_WHOLE.exec(v);
  return m ? { value: v.toLowerCase(), host: m[1]!.toLowerCase() } : undefined;
}

export function normaliseHost(host: string): string | undefined {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || IPV4.test(h) || h.includes(':')) return h;
  return HOSTNAME.test(h) ? h : undefined;
}

/** A URL with or without its scheme (`www.x.io/a`); userinfo and port dropped, host lower-case. */
export function readUrl(value: string, options: { requireScheme?: boolean } = {}): Read | undefined {
  const v = value.trim();
  if (v.length === 0 || v.length > MAX_STRING || /\s/.test(v)) return undefined;
  let text: string;
  if (SCHEME.test(v)) text = v;
  else if (!options.requireScheme && BARE_URL.test(v)) text = `http://${v.replace(/^\/\//, '')}`;
  else return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const host = normaliseHost(url.hostname);
  if (host === undefined) return undefined;
  const path = url.pathname === '/' ? '' : url.pathname;
  return { value: `${url.protocol}//${host}${path}${url.search}`, host, key: `${host}${path}${url.search}` };
}

export function readHost(value: string): Read | undefined {
  const v = value.trim();
  if (v.length === 0 || v.length > 512) return undefined;
  if (SCHEME.test(v) || v.includes('/')) {
    const url = readUrl(v);
    return url && { value: url.host!, host: url.host! };
  }
  // host:port, user@host
  const bare = v.replace(/^[^@\s]*@/, '').replace(/:\d{1,5}$/, '');
  const host = normaliseHost(bare);
  return host === undefined ? undefined : { value: host, host };
}

export function readChannel(value: string): Read | undefined {
  const v = value.trim().replace(/^#/, '').toLowerCase();
  return /^[a-z0-9][a-z0-9._\-/]{0,79}$/.test(v) ? { value: v } : undefined;
}

/** A user, group or e-mail address that receives access. */
export function readPrincipal(value: string): Read | undefined {
  const v = value.trim();
  if (v.length === 0 || v.length > 256 || /[\r\n]/.test(v)) return undefined;
  if (v.includes('@')) {
    const emails = readEmails(v);
    if (emails.length === 1) return emails[0];
  }
  return /\s{2,}|[<>]/.test(v) ? undefined : { value: v.toLowerCase() };
}

export function readPath(value: string): Read | undefined {
  const v = value.trim();
  if (v.length === 0 || v.length > MAX_STRING || /[\0\r\n]/.test(v)) return undefined;
  if (SCHEME.test(v)) return { value: v };
  return { value: posix.normalize(v.replace(/\\/g, '/')) };
}

/** ISO 13616 check: the IBAN's mod-97 remainder is 1. */
export function validIban(iban: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  let rest = 0;
  for (const ch of iban.slice(4) + iban.slice(0, 4)) {
    const digits = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of digits) rest = (rest * 10 + Number(d)) % 97;
  }
  return rest === 1;
}

export function readAccount(value: string | number): Read | undefined {
  const v = String(value).replace(/\s+/g, '').toUpperCase();
  return /^[A-Z0-9]{5,34}$/.test(v) && /\d/.test(v) ? { value: v } : undefined;
}

export function readPayee(value: string | number): Read | undefined {
  const v = String(value).trim();
  return v.length > 0 && v.length <= 256 && !/[\r\n]/.test(v) ? { value: v } : undefined;
}

const SYMBOLS: Record<string, string> = { $: 'USD', '€': 'EUR', '£': 'GBP', '¥': 'JPY', '₹': 'INR', '₣': 'CHF' };

export function readCurrency(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (SYMBOLS[v]) return SYMBOLS[v];
  return /^[a-z]{3}$/i.test(v) ? v.toUpperCase() : undefined;
}

/** "1,200.50", "1.200,50", "1200" → the number; undefined when not a number. */
function parseNumber(text: string): number | undefined {
  let t = text.replace(/[\s'_]/g, '');
  if (!/^[+-]?[\d.,]+$/.test(t)) return undefined;
  const lastDot = t.lastIndexOf('.');
  const lastComma = t.lastIndexOf(',');
  if (lastDot >= 0 && lastComma >= 0) {
    const decimal = lastDot > lastComma ? '.' : ',';
    const group = decimal === '.' ? ',' : '.';
    t = t.split(group).join('').replace(decimal, '.');
  } else if (lastComma >= 0) {
    // "1,200" and "1,200,000" group thousands; "12,5" is a decimal comma.
    t = /^[+-]?\d{1,3}(,\d{3})+$/.test(t) ? t.replace(/,/g, '') : t.replace(',', '.');
  } else if ((t.match(/\./g) ?? []).length > 1) {
    t = t.replace(/\./g, '');
  }
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * An amount: a number, `{"amount", "currency"}` (also `value`), or a string such as
 * "1,200.50 EUR", "EUR 1200", "$5,000". `currency` is the sibling parameter's, if any.
 */
export function readAmount(value: unknown, currency?: string): Amount | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? withCurrency(value, currency) : undefined;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const inner = o.amount ?? o.value;
    if (inner === undefined || (typeof inner === 'object' && inner !== null)) return undefined;
    return readAmount(inner, readCurrency(o.currency) ?? currency);
  }
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const m = /^\s*([A-Za-z]{3}|[$€£¥₹₣])?\s*([+-]?[\d][\d.,\s'_]*)\s*([A-Za-z]{3}|[$€£¥₹₣])?\s*$/.exec(value);
  if (!m) return undefined;
  const n = parseNumber(m[2]!);
  if (n === undefined) return undefined;
  return withCurrency(n, readCurrency(m[1] ?? m[3]) ?? currency);
}

function withCurrency(value: number, currency: string | undefined): Amount {
  return currency === undefined ? { value } : { value, currency };
}

const SQL_START =
  /^\s*(?:\(\s*)?(select|insert|update|delete|drop|create|alter|truncate|grant|revoke|with|merge|replace|upsert)\b/i;

/** Statements whose first word is also an English verb, recognised only by what follows it. */
const SQL_START_STRICT =
  /^\s*(?:set\s+(?:local\s+|session\s+)?[a-z_@][\w.@]*\s*=|show\s+(?:tables|databases|schemas|columns|index(?:es)?|grants|variables|status|create\s+table|search_path|[a-z]+_[a-z_]+)\b|explain\s+(?:analy[sz]e\s+|verbose\s+|\([^)]*\)\s*)*(?:select|insert|update|delete|with)\b|desc(?:ribe)?\s+[\w.]+\s*;?\s*$|values\s*\()/i;

export function looksLikeSql(value: string): boolean {
  return SQL_START.test(value) || SQL_START_STRICT.test(value);
}

/** The registrable part of a host ("mail.acme.co.uk" → "acme.co.uk") and its name ("acme"). */
const SECOND_LEVEL = new Set([
  'co.uk',
  'org.uk',
  'ac.uk',
  'gov.uk',
  'com.au',
  'net.au',
  'org.au',
  'co.nz',
  'co.jp',
  'co.in',
  'co.za',
  'com.br',
  'com.cn',
  'com.mx',
  'com.tr',
  'com.sg',
  'co.kr',
  'com.ar',
]);

export function registrable(host: string): { domain: string; name: string } {
  const labels = host.split('.');
  const n = labels.length >= 3 && SECOND_LEVEL.has(labels.slice(-2).join('.')) ? 3 : 2;
  const domain = labels.slice(-n).join('.');
  return { domain, name: labels[labels.length - n] ?? host };
}
