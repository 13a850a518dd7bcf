/**
 * Which parameter values Arbiter analyses, and as what (docs/detection.md 1.1, 2.2): the
 * catalog's kind for a path (`to`, `fields.payroll_iban`, `attendees[].email`), else a kind
 * inferred from the parameter's name and confirmed by the value's shape. The walk is
 * iterative and bounded, so a hostile parameter document costs no more than a small one.
 */
import { containsSecret, isPlaceholder } from './analyse.js';
import {
  DESTINATION_KINDS,
  KINDS,
  looksLikeSql,
  readAccount,
  readAmount,
  readChannel,
  readCurrency,
  readEmail,
  readEmails,
  readHost,
  readPath,
  readPayee,
  readPrincipal,
  readUrl,
  validIban,
  type Amount,
  type Kind,
  type Read,
} from './normalise.js';

export interface ParamSpec {
  kind?: Kind;
  destination?: boolean;
}

/** What the catalog says about a tool, as the flow reads it (catalog.ts). */
export interface ToolSpec {
  /** The catalog's operation(s), else the request's; lower-case. */
  operations: string[];
  /** Catalog parameter paths (`attendees[].email`) → kind and destination. */
  params: ReadonlyMap<string, ParamSpec>;
}

export interface ParamValue {
  /** Where the value sits: `attendees[1].email`. */
  path: string;
  /** RFC 6901 pointer to it: `/attendees/1/email`. */
  pointer: string;
  /** The catalog key that described it (or the generic path it was inferred at). */
  param: string;
  kind: Kind;
  destination: boolean;
  /** True when no catalog kind described it. */
  inferred: boolean;
  value: string | number;
  host?: string;
  currency?: string;
  /** url: the fingerprinted form (host, path, query). */
  key?: string;
  /** The string holds a credential (its member's name or its shape says so). */
  secret?: true;
}

export interface ParamValues {
  values: ParamValue[];
  /** Destination parameters the catalog declared whose value is not readable as their kind. */
  unreadable: string[];
  /** The action's amount: the first declared amount, else the first inferred one. */
  amount?: Amount;
  /** True when a bound stopped the walk or dropped a value: what was read is not all there is. */
  partial: boolean;
}

export const LIMITS = { depth: 6, values: 64, leaves: 1024 } as const;

const NAMES: Record<string, Kind> = {};
const name = (kind: Kind, ...names: string[]) => names.forEach((n) => (NAMES[n] = kind));
name('email', 'to', 'cc', 'bcc', 'recipient', 'recipients', 'email', 'emails', 'email_address', 'attendee');
name('email', 'attendees', 'reply_to', 'forward_to', 'send_to', 'from', 'sender');
name('url', 'url', 'urls', 'link', 'links', 'webhook', 'endpoint', 'callback', 'uri', 'href');
name('host', 'host', 'hostname', 'domain');
name('channel', 'channel', 'channels', 'channel_id', 'channel_name');
name('principal', 'user', 'users', 'assignee', 'assignees', 'grantee', 'grantees', 'member', 'members');
name('principal', 'share_with', 'shared_with', 'principal', 'invitee', 'invitees', 'collaborator', 'collaborators');
name('account', 'iban', 'account', 'account_number', 'beneficiary_account', 'destination_account', 'to_account');
name('payee', 'payee', 'payee_id', 'beneficiary', 'beneficiary_id');
name('amount', 'amount', 'total');
name('currency', 'currency');
name('sql', 'sql', 'query');
name('command', 'command', 'cmd', 'script', 'command_line');
name('path', 'path', 'file', 'folder', 'file_path', 'filepath', 'filename', 'directory', 'dir');
name('text', 'body', 'message', 'text', 'content', 'subject', 'q', 'search_query', 'prompt', 'question');
name('text', 'note', 'notes', 'memo', 'comment', 'comments', 'description', 'summary', 'details', 'remarks');
name('text', 'instructions', 'caption', 'html', 'markdown', 'reply', 'response', 'answer', 'fact', 'memory');

const SUFFIXES: Array<[string, Kind]> = [
  ['_email', 'email'],
  ['_url', 'url'],
  ['_iban', 'account'],
  ['_path', 'path'],
  ['_channel', 'channel'],
  ['_text', 'text'],
  ['_note', 'text'],
  ['_notes', 'text'],
  ['_message', 'text'],
  ['_body', 'text'],
];

/** Names that say the value is where something goes, whatever the operation. */
const DESTINATION_NAMES = new Set([
  'to',
  'cc',
  'bcc',
  'recipient',
  'recipients',
  'attendee',
  'attendees',
  'reply_to',
  'forward_to',
  'send_to',
  'share_with',
  'shared_with',
  'grantee',
  'grantees',
  'invitee',
  'invitees',
  'beneficiary',
  'beneficiary_id',
  'beneficiary_account',
  'payee',
  'payee_id',
  'destination',
  'destination_account',
  'to_account',
  'webhook',
  'webhook_url',
  'callback',
  'callback_url',
  'endpoint',
]);

const DESTINATION_OPERATIONS = new Set(['send', 'pay', 'grant']);

function canonicalName(n: string): string {
  return n.toLowerCase().replace(/-/g, '_');
}

/** The kind a member name gives its value (docs/detection.md 2.2); undefined when none. */
export function kindFromName(member: string): Kind | undefined {
  const n = canonicalName(member);
  if (Object.hasOwn(NAMES, n)) return NAMES[n];
  for (const [suffix, kind] of SUFFIXES) if (n.endsWith(suffix)) return kind;
  return undefined;
}

/** `send_itinerary_to`, `notify_email`, `forward_address`: the name says the value receives something. */
const DESTINATION_NAME_SHAPE = /^(?:send|forward|notify|deliver|share|cc|bcc)_\w+$|^\w+_(?:to|recipients?)$/;

export function isDestinationName(member: string): boolean {
  const n = canonicalName(member);
  return DESTINATION_NAMES.has(n) || DESTINATION_NAME_SHAPE.test(n);
}

/**
 * `value` read as `kind`: several reads for an address list, none when it does not read.
 * Amounts are read by readAmount; text, sql and commands are any non-empty string.
 */
export function readAs(kind: Kind, value: unknown): Read[] {
  if (typeof value === 'number' && ['account', 'payee'].includes(kind)) value = String(value);
  if (typeof value !== 'string') return [];
  const one = (r: Read | undefined) => (r ? [r] : []);
  switch (kind) {
    case 'email':
      return readEmails(value);
    case 'url':
      return one(readUrl(value));
    case 'host':
      return one(readHost(value));
    case 'channel':
      return one(readChannel(value));
    case 'principal':
      return one(readPrincipal(value));
    case 'path':
      return one(readPath(value));
    case 'account':
      return one(readAccount(value));
    case 'payee':
      return one(readPayee(value));
    case 'sql':
    case 'command':
    case 'text': {
      const v = value.trim();
      return v.length > 0 ? [{ value: v }] : [];
    }
    default:
      return [];
  }
}

/** Kinds a value with no catalog kind may take by its name, in order. */
function namedCandidates(member: string, value: string, operations: string[]): Kind[] {
  const named = kindFromName(member);
  const out: Kind[] = [];
  if (named === 'sql') {
    // `query` is often a search string: only SQL-looking text is analysed as SQL, the rest as text.
    out.push(canonicalName(member) === 'sql' || looksLikeSql(value) ? 'sql' : 'text');
  } else if (named !== undefined) out.push(named);
  if (named !== undefined && (DESTINATION_KINDS.has(named) || isDestinationName(member))) {
    // A `recipient` of a payment is a payee or an account; of a grant, a principal.
    if (operations.includes('pay')) out.push('account', 'payee');
    if (operations.includes('grant')) out.push('principal');
  }
  return out;
}

/** The kind a value's shape alone gives it: an address, an IBAN, a URL with a scheme. */
function shapeCandidate(value: string): Kind | undefined {
  if (readEmail(value)) return 'email';
  if (validIban(value.replace(/\s+/g, '').toUpperCase())) return 'account';
  if (readUrl(value, { requireScheme: true })) return 'url';
  return undefined;
}

/** Account reads need more than "a word with a digit" when only inferred. */
function confirms(kind: Kind, read: Read, raw: string): boolean {
  if (kind !== 'account') return true;
  return validIban(read.value) || /^\d[\d\s-]{4,}$/.test(raw.trim());
}

/** `debit_account`, `from_iban`, `source_account`: where money comes from, not where it goes. */
const SOURCE_NAME_SHAPE = /^(?:debit|debtor|from|source|origin|originator|ordering|funding|payer|paying|sender)_/;

function isDestination(kind: Kind, spec: ParamSpec | undefined, member: string, operations: string[]): boolean {
  // What a write, a send or a share stores lands at its path: an upload to a published
  // folder publishes. A path that is only read is no destination.
  if (kind === 'path') {
    return spec?.destination ?? operations.some((o) => o === 'write' || DESTINATION_OPERATIONS.has(o));
  }
  if (!DESTINATION_KINDS.has(kind)) return false;
  if (spec?.destination !== undefined) return spec.destination;
  if ((kind === 'account' || kind === 'payee') && SOURCE_NAME_SHAPE.test(canonicalName(member))) return false;
  return operations.some((o) => DESTINATION_OPERATIONS.has(o)) || isDestinationName(member);
}

interface Node {
  value: unknown;
  segments: Array<string | number>;
  /** The catalog-style path: `attendees[].email`. */
  generic: string;
  /** The member name that describes a leaf (an array's for its elements). */
  member: string;
  /** A kind given to an array applies to each element. */
  inherited?: { key: string; spec: ParamSpec };
}

function pathOf(segments: Array<string | number>): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

function pointerOf(segments: Array<string | number>): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** Members of an object declared with a kind that hold the value itself ({"email": …}). */
const HOLDERS: Partial<Record<Kind, string[]>> = {
  email: ['email', 'address', 'email_address'],
  principal: ['email', 'id', 'name', 'user'],
  url: ['url', 'href', 'link'],
  host: ['host', 'hostname', 'domain'],
  account: ['iban', 'account', 'account_number', 'number'],
  payee: ['id', 'payee_id', 'payee'],
  channel: ['id', 'name', 'channel'],
  path: ['path', 'file'],
};

/**
 * Member names that say their value is a credential (docs/detection.md 4), compared in
 * canonical form (lower-case, `-` as `_`) and as the last segment of a dotted name
 * (`http.request.header.authorization`).
 */
const CREDENTIAL_NAMES = new Set([
  'authorization',
  'proxy_authorization',
  'access_token',
  'refresh_token',
  'id_token',
  'auth_token',
  'api_token',
  'bearer_token',
  'session_token',
  'api_key',
  'apikey',
  'x_api_key',
  'secret',
  'client_secret',
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'private_key',
  'cookie',
  'set_cookie',
  'dsn',
  'connection_string',
]);
const CREDENTIAL_SUFFIXES = ['_password', '_passwd', '_secret', '_api_key', '_apikey', '_private_key'];
/** Names that also name other things (`"session": "Keynote"`): only a token-shaped value is a credential. */
const LOOSE_CREDENTIAL_NAMES = new Set(['auth', 'token', 'session']);
const TOKEN_SHAPED = /^(?:(?:bearer|basic|token|digest)\s+)?[\w.~+/=:%-]{12,}$/i;

/** Whether a member name says its value is a credential: `strict` always, `loose` when token-shaped. */
function credentialName(member: string): 'strict' | 'loose' | undefined {
  const n = canonicalName(member);
  const last = n.slice(n.lastIndexOf('.') + 1);
  if (CREDENTIAL_NAMES.has(last) || CREDENTIAL_SUFFIXES.some((s) => last.endsWith(s))) return 'strict';
  // `CDN_API_TOKEN`, `github_token`: a token when the value is shaped like one.
  const tokenName =
    /_(?:token|auth)$/.test(last) &&
    !/(?:page|next|continuation|sync|cursor|idempotency|request|resume)_token$/.test(last);
  return LOOSE_CREDENTIAL_NAMES.has(last) || tokenName ? 'loose' : undefined;
}

/** A string leaf that holds a credential: by its member's name, or by its value's shape. */
function credentialLeaf(member: string, value: string): boolean {
  if (isPlaceholder(value)) return false;
  const named = credentialName(member);
  if (named === 'strict') return true;
  if (named === 'loose' && TOKEN_SHAPED.test(value.trim()) && /\d/.test(value) && /[a-z]/i.test(value)) return true;
  return containsSecret(value);
}

export function parameterValues(parameters: Record<string, unknown>, spec: ToolSpec): ParamValues {
  const { operations } = spec;
  // Values in the order the walk finds them; past the bound, secrets are kept before the rest.
  const found: Array<{ at: number; value: ParamValue }> = [];
  const secrets: Array<{ at: number; value: ParamValue }> = [];
  let seen = 0;
  let partial = false;
  const unreadable: string[] = [];
  let declaredAmount: Amount | undefined;
  let inferredAmount: Amount | undefined;
  let leaves = 0;
  const stack: Node[] = [];
  const keep = (value: ParamValue) => {
    const list = value.secret ? secrets : found;
    if (list.length >= LIMITS.values) partial = true;
    else list.push({ at: seen++, value });
  };

  const emit = (
    node: Node,
    segments: Array<string | number>,
    kind: Kind,
    param: string,
    s: ParamSpec | undefined,
    reads: Read[],
    secret = false,
  ) => {
    for (const r of reads) {
      keep({
        path: pathOf(segments),
        pointer: pointerOf(segments),
        param,
        kind,
        destination: isDestination(kind, s, node.member, operations),
        inferred: s?.kind === undefined,
        value: r.value,
        ...(r.host !== undefined && { host: r.host }),
        ...(r.key !== undefined && { key: r.key }),
        ...(secret && { secret }),
      });
    }
  };
  /** A credential no kind describes is free text, so a MODIFY can replace it at its pointer. */
  const secretText = (node: Node, segments: Array<string | number>, param: string, value: string) =>
    emit(node, segments, 'text', param, undefined, readAs('text', value), true);
  const amountValue = (node: Node, param: string, declared: boolean, amount: Amount) => {
    if (declared) declaredAmount ??= amount;
    else inferredAmount ??= amount;
    keep({
      path: pathOf(node.segments),
      pointer: pointerOf(node.segments),
      param,
      kind: 'amount',
      destination: false,
      inferred: !declared,
      value: amount.value,
      ...(amount.currency !== undefined && { currency: amount.currency }),
    });
  };
  const sibling = (node: Node): string | undefined => {
    let parent: unknown = parameters;
    for (const s of node.segments.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[s];
    return parent !== null && typeof parent === 'object' && !Array.isArray(parent)
      ? readCurrency((parent as Record<string, unknown>).currency)
      : undefined;
  };
  const descend = (node: Omit<Node, 'value'>, value: object, inherited: Node['inherited']) => {
    if (node.segments.length >= LIMITS.depth) {
      partial = true;
      return;
    }
    const next = children(value, node.segments, node.generic, node.member, inherited);
    if (next.length === LIMITS.leaves) partial = true;
    stack.push(...next.reverse());
  };
  descend({ segments: [], generic: '', member: '' }, parameters, undefined);

  while (stack.length > 0 && secrets.length < LIMITS.values) {
    const node = stack.pop()!;
    const declared = spec.params.get(node.generic);
    const key = declared ? node.generic : node.inherited?.key;
    const s = declared ?? node.inherited?.spec;
    const v = node.value;
    const leaf = v === null || typeof v !== 'object';
    if (leaf && ++leaves > LIMITS.leaves) {
      partial = true;
      break;
    }
    const path = pathOf(node.segments);
    const secret = typeof v === 'string' && credentialLeaf(node.member, v);

    if (s?.kind !== undefined && key !== undefined) {
      const kind = s.kind;
      if (kind === 'amount') {
        const a = readAmount(v, sibling(node));
        if (a) amountValue(node, key, true, a);
        continue;
      }
      if (kind === 'currency') continue;
      if (Array.isArray(v)) {
        descend(node, v, { key, spec: s });
        continue;
      }
      if (!leaf) {
        const member = (HOLDERS[kind] ?? []).find((m) => Object.hasOwn(v as object, m));
        const inner = member === undefined ? undefined : (v as Record<string, unknown>)[member];
        const reads = readAs(kind, inner);
        const innerSecret = typeof inner === 'string' && credentialLeaf(member!, inner);
        if (reads.length > 0) emit(node, [...node.segments, member!], kind, key, s, reads, innerSecret);
        else if (isDestination(kind, s, node.member, operations)) unreadable.push(path);
        continue;
      }
      const reads = readAs(kind, v);
      if (reads.length > 0) emit(node, node.segments, kind, key, s, reads, secret);
      else {
        if (isDestination(kind, s, node.member, operations)) unreadable.push(path);
        if (secret) secretText(node, node.segments, key, v as string);
      }
      continue;
    }

    if (!leaf) {
      const named = kindFromName(node.member);
      if (named === 'amount' && !Array.isArray(v)) {
        const a = readAmount(v, sibling(node));
        if (a) {
          amountValue(node, node.generic, false, a);
          continue;
        }
      }
      descend(node, v as object, undefined);
      continue;
    }
    if (typeof v === 'number' && kindFromName(node.member) === 'amount') {
      amountValue(node, node.generic, false, { value: v, ...(sibling(node) && { currency: sibling(node) }) });
      continue;
    }
    if (typeof v === 'number' && ['account', 'payee'].includes(kindFromName(node.member) ?? '')) {
      const kind = kindFromName(node.member)!;
      emit(node, node.segments, kind, node.generic, s, readAs(kind, v));
      continue;
    }
    if (typeof v !== 'string') continue;
    if (kindFromName(node.member) === 'amount') {
      const a = readAmount(v, sibling(node));
      if (a) amountValue(node, node.generic, false, a);
      continue;
    }
    let done = false;
    for (const kind of namedCandidates(node.member, v, operations)) {
      const reads = readAs(kind, v).filter((r) => confirms(kind, r, v));
      if (reads.length === 0) continue;
      emit(node, node.segments, kind, node.generic, s, reads, secret);
      done = true;
      break;
    }
    if (done) continue;
    // A credential's name says more than its shape: a `dsn` is a secret, not a URL to place.
    const shaped = secret && credentialName(node.member) !== undefined ? undefined : shapeCandidate(v);
    if (shaped) emit(node, node.segments, shaped, node.generic, s, readAs(shaped, v), secret);
    else if (secret) secretText(node, node.segments, node.generic, v);
  }
  if (stack.length > 0) partial = true;
  const room = LIMITS.values - secrets.length;
  const values = [...secrets, ...found.slice(0, room)].sort((a, b) => a.at - b.at).map((e) => e.value);
  if (found.length > room) partial = true;
  const amount = declaredAmount ?? inferredAmount;
  return { values, unreadable, partial, ...(amount && { amount }) };
}

function children(
  value: object,
  segments: Array<string | number>,
  generic: string,
  member: string,
  inherited: Node['inherited'],
): Node[] {
  // No node has more children than the walk may look at leaves.
  if (Array.isArray(value)) {
    return value.slice(0, LIMITS.leaves).map((item, i) => ({
      value: item,
      segments: [...segments, i],
      generic: `${generic}[]`,
      member,
      ...(inherited && { inherited }),
    }));
  }
  return Object.entries(value)
    .slice(0, LIMITS.leaves)
    .map(([k, item]) => ({
      value: item,
      segments: [...segments, k],
      generic: generic === '' ? k : `${generic}.${k}`,
      member: k,
    }));
}

/** A catalog parameter entry's kind and destination, when it gives them. */
export function paramSpecOf(entry: unknown): ParamSpec | undefined {
  if (entry === null || typeof entry !== 'object') return undefined;
  const { kind, destination } = entry as { kind?: unknown; destination?: unknown };
  const spec: ParamSpec = {
    ...(typeof kind === 'string' && KINDS.has(kind) && { kind: kind as Kind }),
    ...(typeof destination === 'boolean' && { destination }),
  };
  return spec.kind === undefined && spec.destination === undefined ? undefined : spec;
}
