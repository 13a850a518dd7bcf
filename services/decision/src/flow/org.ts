/**
 * Inside or outside the organisation, per kind (docs/detection.md 2.1), from `data.aarm.org`
 * and the older `data.aarm.egress.allowed_domains`. Read once per policy data document.
 */
import { at } from '../context/classify.js';
import type { Kind } from './normalise.js';
import { normaliseHost, readAccount, readUrl, registrable, validIban } from './normalise.js';

export interface Org {
  domains: string[];
  lookalikes: string[];
  hosts: RegExp[];
  sharedPrefixes: string[];
  publicChannels: Set<string>;
  guestPatterns: RegExp[];
  groups: Set<string>;
  published: string[];
  /** Folders shared with particular outsiders (a client's share): outside, but not public. */
  sharedFolders: string[];
  ownAccounts: Set<string>;
  /** Payee id → its account (normalised), and lower-case payee names → id. */
  payees: Map<string, string | undefined>;
  payeeNames: Map<string, string>;
  payeeAccounts: Set<string>;
  protectedBranches: RegExp[];
}

export interface Placement {
  inside: boolean;
  lookalike: boolean;
  registered: boolean;
  reason: string;
  /**
   * For a place many read: `shared` with particular outsiders (a shared channel, a client's
   * folder), `public` (a public channel) or `published` (a published folder).
   */
  scope?: 'shared' | 'public' | 'published';
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v.length > 0) : [];
}

/** `*` matches anything (dots included); everything else literally, case-insensitively. */
export function glob(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

const cache = new WeakMap<object, Org>();

export function orgOf(policyData: unknown): Org {
  const key = policyData !== null && typeof policyData === 'object' ? policyData : undefined;
  const cached = key && cache.get(key);
  if (cached) return cached;
  const org = at(policyData, ['aarm', 'org']);
  const get = (...path: string[]) => at(org, path);
  const domains = [...strings(get('domains')), ...strings(at(policyData, ['aarm', 'egress', 'allowed_domains']))]
    .map((d) => normaliseHost(d.replace(/^\*\./, '')))
    .filter((d): d is string => d !== undefined);
  const payees = new Map<string, string | undefined>();
  const payeeNames = new Map<string, string>();
  const register = get('payees');
  if (register !== null && typeof register === 'object' && !Array.isArray(register)) {
    for (const [id, entry] of Object.entries(register)) {
      const e = (entry ?? {}) as { account?: unknown; name?: unknown };
      const account = typeof e.account === 'string' ? readAccount(e.account)?.value : undefined;
      payees.set(id, account);
      if (typeof e.name === 'string') payeeNames.set(e.name.trim().toLowerCase(), id);
    }
  }
  const result: Org = {
    domains: [...new Set(domains)],
    lookalikes: strings(get('lookalikes'))
      .map((d) => normaliseHost(d))
      .filter((d): d is string => d !== undefined),
    hosts: strings(get('hosts')).map(glob),
    sharedPrefixes: strings(get('channels', 'shared_prefixes')).map((p) => p.replace(/^#/, '').toLowerCase()),
    publicChannels: new Set(strings(get('channels', 'public')).map((c) => c.replace(/^#/, '').toLowerCase())),
    guestPatterns: strings(get('principals', 'guest_patterns')).map(glob),
    groups: new Set(strings(get('principals', 'groups')).map((g) => g.toLowerCase())),
    published: strings(get('folders', 'published')).map((f) => (f.endsWith('/') ? f : `${f}/`)),
    sharedFolders: strings(get('folders', 'shared')).map((f) => (f.endsWith('/') ? f : `${f}/`)),
    ownAccounts: new Set(
      strings(get('accounts', 'own'))
        .map((a) => readAccount(a)?.value)
        .filter((a): a is string => a !== undefined),
    ),
    payees,
    payeeNames,
    payeeAccounts: new Set([...payees.values()].filter((a): a is string => a !== undefined)),
    protectedBranches: strings(get('protected_branches')).map(glob),
  };
  if (key) cache.set(key, result);
  return result;
}

function underDomain(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

/** Optimal string alignment distance, giving up past `max`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
      best = Math.min(best, d);
    }
    if (best > max) return max + 1;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/** Letters that read alike ("rn" and "m", "0" and "o"), folded so lookalike names compare equal. */
function skeleton(name: string): string {
  return name
    .replace(/rn/g, 'm')
    .replace(/vv/g, 'w')
    .replace(/cl/g, 'd')
    .replace(/0/g, 'o')
    .replace(/[1il|]/g, 'l')
    .replace(/3/g, 'e')
    .replace(/5/g, 's')
    .replace(/-/g, '');
}

/**
 * The org domain an outside host imitates, if any: a listed lookalike, the same name under
 * another suffix, the same letters read alike, a few edits away (two for names of six
 * letters or more, one for four or five, so short names do not match half the web), or a
 * host that contains the name, hyphens aside ("acmecorp-travel.com" for acme-corp.com).
 */
function imitated(host: string, org: Org): string | undefined {
  const listed = org.lookalikes.find((l) => underDomain(host, l));
  if (listed !== undefined) return org.domains[0] ?? listed;
  const { name } = registrable(host);
  for (const domain of org.domains) {
    const own = registrable(domain).name;
    if (own.length < 4) continue;
    const max = own.length >= 6 ? 2 : 1;
    if (
      skeleton(name) === skeleton(own) ||
      editDistance(name, own, max) <= max ||
      name.replace(/-/g, '').includes(own.replace(/-/g, '')) ||
      host.includes(`${domain}.`)
    ) {
      return domain;
    }
  }
  return undefined;
}

/**
 * Names and addresses no one outside can receive at: names under a suffix kept for private
 * networks (`.internal`, `.local`, `.lan`, `.home.arpa`, and the customary `.intranet` and
 * `.corp`), loopback and the private IPv4 and IPv6 ranges. Link-local (169.254.0.0/16, the
 * cloud metadata address) is not among them: reaching it is no internal business call.
 */
const PRIVATE_SUFFIXES = ['internal', 'local', 'localhost', 'lan', 'intranet', 'corp', 'home.arpa'];

export function privateHost(host: string): boolean {
  if (PRIVATE_SUFFIXES.some((s) => host === s || host.endsWith(`.${s}`))) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 10 || a === 127 || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31);
  }
  return host === '::1' || /^f[cd][0-9a-f]{0,2}:/.test(host);
}

function placeHost(host: string, org: Org, what: string): Placement {
  const domain = org.domains.find((d) => underDomain(host, d));
  if (domain !== undefined) {
    return { inside: true, lookalike: false, registered: false, reason: `${what} ${host} is in ${domain}` };
  }
  if (org.hosts.some((h) => h.test(host))) {
    return { inside: true, lookalike: false, registered: false, reason: `${what} ${host} is an organisation host` };
  }
  if (privateHost(host)) {
    return { inside: true, lookalike: false, registered: false, reason: `${what} ${host} is a private-network name` };
  }
  const like = imitated(host, org);
  return like === undefined
    ? { inside: false, lookalike: false, registered: false, reason: `${what} ${host} is outside the organisation` }
    : {
        inside: false,
        lookalike: true,
        registered: false,
        reason: `${what} ${host} is outside the organisation and looks like ${like}`,
      };
}

/**
 * An account number as banks show it, for reasons: its first four and last four characters
 * ("DE89...3000"), the last two of a shorter one (as rego/aarm/flow.rego mask_account).
 */
export function maskAccount(account: string): string {
  const n = account.replace(/\s+/g, '').toUpperCase();
  if (n.length >= 8) return `${n.slice(0, 4)}...${n.slice(-4)}`;
  return n.length >= 2 ? `...${n.slice(-2)}` : '...';
}

const outside = (reason: string): Placement => ({ inside: false, lookalike: false, registered: false, reason });
const inside = (reason: string, registered = false): Placement => ({
  inside: true,
  lookalike: false,
  registered,
  reason,
});

/**
 * Where a value of `kind` goes; undefined for kinds that go nowhere (text, sql, command,
 * amount). Reasons name a URL by its host and an account masked, never in full.
 */
export function place(kind: Kind, value: string, host: string | undefined, org: Org): Placement | undefined {
  switch (kind) {
    case 'email':
    case 'url':
    case 'host':
      if (host === undefined)
        return outside(kind === 'host' ? 'the host is not readable' : `the ${kind} has no readable host`);
      return placeHost(host, org, 'domain');
    case 'channel': {
      const prefix = org.sharedPrefixes.find((p) => value.startsWith(p));
      if (prefix !== undefined) {
        return { ...outside(`channel #${value} is shared with outsiders (prefix ${prefix})`), scope: 'shared' };
      }
      if (org.publicChannels.has(value)) return { ...outside(`channel #${value} is public`), scope: 'public' };
      return inside(`channel #${value} is internal`);
    }
    case 'principal': {
      if (org.guestPatterns.some((g) => g.test(value))) return outside(`${value} is a guest`);
      if (host !== undefined) return placeHost(host, org, 'domain');
      if (org.groups.has(value)) return inside(`${value} is an organisation group`);
      return inside(`${value} is an organisation user`);
    }
    case 'path': {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
        const urlHost = readUrl(value)?.host;
        return outside(`the path is a URL${urlHost === undefined ? '' : ` on ${urlHost}`}, not an internal path`);
      }
      const folder = org.published.find((f) => `${value}/`.startsWith(f));
      if (folder !== undefined) return { ...outside(`${value} is published (${folder})`), scope: 'published' };
      const share = org.sharedFolders.find((f) => `${value}/`.startsWith(f));
      if (share !== undefined) return { ...outside(`${value} is shared with outsiders (${share})`), scope: 'shared' };
      return inside(`${value} is not published`);
    }
    case 'account': {
      const shown = maskAccount(value);
      if (org.ownAccounts.has(value)) return inside(`account ${shown} is an own account`, true);
      if (org.payeeAccounts.has(value)) return inside(`account ${shown} belongs to a registered payee`, true);
      return outside(`account ${shown} is neither an own account nor a registered payee's`);
    }
    case 'payee': {
      // A payee given by its account number is shown masked, as an account is.
      const shown =
        validIban(value.replace(/\s+/g, '').toUpperCase()) || /^\d[\d\s-]{7,}$/.test(value)
          ? maskAccount(value)
          : value;
      if (org.payees.has(value)) return inside(`payee ${shown} is registered`, true);
      const byName = org.payeeNames.get(value.toLowerCase());
      if (byName !== undefined) return inside(`payee ${shown} is registered as ${byName}`, true);
      return outside(`payee ${shown} is not in the payee register`);
    }
    default:
      return undefined;
  }
}
