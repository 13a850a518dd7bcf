/**
 * Property-based fuzzing of POST /v1/decide (issue 12, "every input class tried"): valid
 * envelopes, and the same envelopes with fields dropped, retyped, oversized or filled with
 * Unicode oddities, with members spliced into the raw text (duplicate and prototype keys,
 * numbers beyond a double, lone surrogates, deep nesting, huge arrays, truncation), and
 * sent with odd content types, encodings and path spellings, against a real Arbiter with
 * the shipped policy on the memory store and on Redis. For every answer: a malformed input
 * is a 4xx that says DENY, never a decision; a valid one is decided (200) with a receipt
 * whose signature and chain verify; nothing is a 5xx; the process keeps serving.
 *
 * Reproducible: a fixed seed and a bounded number of runs (ARBITER_FUZZ_SEED and
 * ARBITER_FUZZ_RUNS override them for a nightly-sized run); a failure prints the seed, the
 * path to replay it and the shrunk case.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { MAX_JSON_ARRAY_LENGTH } from '../../services/decision/src/intercept/envelope.js';
import { hashOf } from '../../services/decision/src/receipts/canonical.js';
import { publicKeysFromJwks } from '../../services/decision/src/receipts/keys.js';
import { verifyReceipts } from '../../services/decision/src/receipts/verify.js';
import { startTestArbiter, type StoreKind, type TestArbiter } from '../support/arbiter.js';
import { sendRaw } from '../support/raw-http.js';

const SEED = Number(process.env.ARBITER_FUZZ_SEED ?? 20261212);
const RUNS = Number(process.env.ARBITER_FUZZ_RUNS ?? 300);
/** Small, so oversized bodies are cheap to build and send. */
const MAX_BODY_BYTES = 64 * 1024;
const DECISIONS = ['ALLOW', 'DENY', 'MODIFY', 'STEP_UP', 'DEFER'];
/** Replaced in the sent text by a fresh session id, so every case starts its own chain. */
const SESSION = 'fz-session-marker';

/** What the answer must be: a decision, a refusal, or (where the bytes stay ambiguous) either. */
type Expect = 'decided' | 'refused' | 'either';

const worst = (...expects: Expect[]): Expect =>
  expects.includes('refused') ? 'refused' : expects.includes('either') ? 'either' : 'decided';

interface Body {
  labels: string[];
  expect: Expect;
  value: unknown;
}

interface Case {
  labels: string[];
  expect: Expect;
  text: string;
  path: string;
  headers: Record<string, string>;
  encoding: Encoding;
}

type Encoding =
  | { kind: 'none' | 'gzip' | 'deflate' | 'corrupt-gzip' }
  | { kind: 'invalid-utf8'; at: number; bytes: readonly number[] };

// ---------------------------------------------------------------------------------------
// Valid envelopes (CONTRACT §3, intercept/envelope.ts)

const printable = (min: number, max: number) =>
  fc.string({
    unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: min,
    maxLength: max,
  });
const anyText = (max: number) =>
  fc.oneof(
    fc.string({ maxLength: max }),
    fc.string({ unit: 'binary', maxLength: max }),
    fc.string({ unit: 'grapheme', maxLength: max }),
  );
const nonEmptyText = (max: number) => anyText(max).filter((s) => s.length > 0);

const TOOLS = [
  'email.send',
  'files.read',
  'db.query',
  'db.drop',
  'payments.transfer',
  'credentials.rotate',
  'ledger.annotate',
  'web.search',
  'shell.exec',
  'constructor',
  'toString',
];
const SAMPLE_PARAMETERS: Array<Record<string, unknown>> = [
  { to: 'x@example.com', subject: 'hi', body: 'hello' },
  { path: '/etc/passwd' },
  { sql: 'select 1', limit: 5000 },
  { database: 'production' },
  { amount: 5000, currency: 'EUR', to: 'DE89370400440532013000' },
  { name: 'db', password: 'hunter2', api_key: 'sk-123' },
  { query: 'weather in Paris' },
];

/** A key or path component that reaches a prototype when copied (refused by the edge). */
function hasPrototypeKey(value: unknown, parentKey = ''): boolean {
  if (value === null || typeof value !== 'object') return false;
  for (const [key, child] of Object.entries(value)) {
    if (key === '__proto__' || (key === 'prototype' && parentKey === 'constructor' && !Array.isArray(value)))
      return true;
    if (hasPrototypeKey(child, key)) return true;
  }
  return false;
}

const key = fc.oneof(
  printable(1, 12),
  fc.constantFrom('to', 'password', 'api_key', 'database', 'amount', 'constructor', 'toString', 'valueOf', ''),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const json = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }));
const jsonObject = (maxKeys: number) => fc.dictionary(key, json, { maxKeys }).filter((o) => !hasPrototypeKey(o));

/**
 * Mostly envelopes the shipped policy allows (or modifies), so a mutation that slipped
 * through the edge would show as an ALLOW; the rest anything the schema accepts.
 */
const ALLOWED: Array<[string, Record<string, unknown>]> = [
  ['files.read', { path: '/reports/q3.pdf' }],
  ['email.send', { to: 'x@example.com', subject: 'hi', body: 'hello' }],
  ['db.query', { sql: 'select 1', limit: 5000 }],
];
const toolAndParameters = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ALLOWED) },
  fc.tuple(
    fc.oneof(fc.constantFrom(...TOOLS), printable(1, 40)),
    fc.oneof(fc.constantFrom(...SAMPLE_PARAMETERS), jsonObject(6)),
  ),
);
const identityFields = {
  agent: printable(1, 30),
  human: nonEmptyText(20),
  service: nonEmptyText(20),
  role: nonEmptyText(20),
};

const envelope = fc.record(
  {
    action: fc
      .tuple(
        toolAndParameters,
        fc.record(
          {
            id: printable(1, 40),
            operation: fc.oneof(fc.constantFrom('read', 'write'), nonEmptyText(20)),
            target: anyText(60),
          },
          { requiredKeys: [] },
        ),
      )
      .map(([[tool, parameters], rest]) => ({ ...rest, tool, parameters: structuredClone(parameters) })),
    session: fc.record({ id: fc.constant(SESSION), intent: anyText(80) }, { requiredKeys: ['id'] }),
    identity: fc.oneof(
      { weight: 3, arbitrary: fc.record(identityFields, { requiredKeys: ['agent'] }) },
      fc.record(identityFields, { requiredKeys: [] }),
    ),
    signals: fc.oneof(
      fc.constant({}),
      fc.record({ injection_score: fc.double({ min: 0, max: 1, noNaN: true }) }, { requiredKeys: [] }),
      jsonObject(3),
    ),
  },
  { requiredKeys: ['action', 'session'] },
);
type Envelope = Record<string, any>;

// ---------------------------------------------------------------------------------------
// Mutations of the parsed envelope

const REQUIRED = [['action'], ['action', 'tool'], ['session'], ['session', 'id']];
const OPTIONAL = [
  ['action', 'id'],
  ['action', 'operation'],
  ['action', 'parameters'],
  ['action', 'target'],
  ['session', 'intent'],
  ['identity'],
  ['identity', 'agent'],
  ['identity', 'human'],
  ['signals'],
];
const OBJECT_FIELDS = [['action'], ['action', 'parameters'], ['session'], ['identity'], ['signals']];
const STRING_FIELDS = [
  ['action', 'id'],
  ['action', 'tool'],
  ['action', 'operation'],
  ['action', 'target'],
  ['session', 'id'],
  ['session', 'intent'],
  ['identity', 'agent'],
  ['identity', 'human'],
  ['identity', 'service'],
  ['identity', 'role'],
];
/** Printable ASCII without spaces, 1..max (envelope.ts `identifier`). */
const IDENTIFIERS: Array<[string[], number]> = [
  [['action', 'id'], 128],
  [['action', 'tool'], 256],
  [['session', 'id'], 128],
  [['identity', 'agent'], 256],
];
/** Other bounded strings and their bounds. */
const BOUNDED: Array<[string[], number]> = [
  [['action', 'operation'], 64],
  [['action', 'target'], 2048],
  [['session', 'intent'], 16 * 1024],
  [['identity', 'human'], 256],
  [['identity', 'agent_token'], 16 * 1024],
];
/** Strings a Unicode-aware reader may see differently; as values they are valid input. */
const ODDITIES = [
  '\u0000',
  '\u200b',
  '\u202e',
  '\ufeff',
  'e\u0301',
  'ｐｒｏｄｕｃｔｉｏｎ',
  'prod\u200buction',
  'production\u0000',
  '\ud83d\ude00',
  '\u{10ffff}',
  '\u2028\u2029',
  '\ufffe',
  '\u0085',
  '%00',
  '\\u0000',
];

function setPath(value: Envelope, path: readonly string[], to: unknown): Envelope {
  const copy = structuredClone(value);
  let node: any = copy;
  for (const k of path.slice(0, -1)) {
    if (node[k] === null || typeof node[k] !== 'object' || Array.isArray(node[k])) node[k] = {};
    node = node[k];
  }
  const last = path[path.length - 1]!;
  if (to === undefined) delete node[last];
  else node[last] = to;
  return copy;
}

const wrongForObject = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.string({ maxLength: 5 }),
);
const wrongForString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(printable(1, 5), fc.string(), { maxKeys: 2 }),
);
/** Makes an identifier invalid while keeping it a string: a space, a control or non-ASCII character, or empty. */
const badIdentifier = fc.oneof(
  fc.constant(''),
  fc
    .tuple(
      printable(0, 10),
      fc.constantFrom(' ', '\t', '\n', '\u0000', '\u007f', 'é', '\u200b', '😀'),
      printable(0, 10),
    )
    .map(([a, bad, b]) => a + bad + b),
);

const mutation: fc.Arbitrary<(env: Envelope) => Body> = fc.oneof(
  fc.constant((env: Envelope): Body => ({ labels: ['valid'], expect: 'decided', value: env })),
  fc.constantFrom(...REQUIRED).map((path) => (env: Envelope): Body => ({
    labels: [`drop ${path.join('.')}`],
    expect: 'refused',
    value: setPath(env, path, undefined),
  })),
  fc.constantFrom(...OPTIONAL).map((path) => (env: Envelope): Body => ({
    labels: [`drop optional ${path.join('.')}`],
    expect: 'decided',
    value: setPath(env, path, undefined),
  })),
  fc.tuple(fc.constantFrom(...OBJECT_FIELDS), wrongForObject).map(([path, to]) => (env: Envelope): Body => ({
    labels: [`retype ${path.join('.')}`],
    expect: 'refused',
    value: setPath(env, path, to),
  })),
  fc.tuple(fc.constantFrom(...STRING_FIELDS), wrongForString).map(([path, to]) => (env: Envelope): Body => ({
    labels: [`retype ${path.join('.')}`],
    expect: 'refused',
    value: setPath(env, path, to),
  })),
  fc.tuple(fc.constantFrom(...IDENTIFIERS), badIdentifier).map(([[path], to]) => (env: Envelope): Body => ({
    labels: [`bad identifier ${path.join('.')}`],
    expect: 'refused',
    value: setPath(env, path, to),
  })),
  fc
    .tuple(fc.constantFrom(...IDENTIFIERS, ...BOUNDED), fc.integer({ min: 1, max: 64 }))
    .map(([[path, max], over]) => (env: Envelope): Body => ({
      labels: [`oversize ${path.join('.')}`],
      expect: 'refused',
      value: setPath(env, path, 'x'.repeat(max + over)),
    })),
  fc
    .tuple(fc.constantFrom(...BOUNDED), fc.constantFrom(...ODDITIES))
    .map(([[path, max], odd]) => (env: Envelope): Body => ({
      // agent_token is a JWT: with ARBITER_AUTH=off it is ignored or refused, either is fine.
      labels: [`unicode ${path.join('.')}`],
      expect: path[1] === 'agent_token' ? 'either' : 'decided',
      value: setPath(env, path, `a${odd}b`.slice(0, max)),
    })),
  fc.tuple(key, fc.constantFrom(...ODDITIES)).map(([k, odd]) => (env: Envelope): Body => ({
    labels: ['unicode in parameters'],
    expect: hasPrototypeKey({ [k]: 1 }) ? 'refused' : 'decided',
    value: setPath(env, ['action', 'parameters'], {
      ...(env.action?.parameters ?? {}),
      [k]: `x${odd}`,
      [`${k}${odd}`]: odd,
    }),
  })),
  fc
    .constantFrom(2 ** 53 + 1, -(2 ** 53) - 1, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e21, 0.1 + 0.2)
    .map((n) => (env: Envelope): Body => ({
      labels: [`number ${n}`],
      expect: 'decided',
      value: setPath(env, ['action', 'parameters'], { ...(env.action?.parameters ?? {}), amount: n, limit: n }),
    })),
  fc
    .tuple(fc.constantFrom(['x_extra'], ['action', 'x_extra'], ['session', 'x_extra'], ['identity', 'x_extra']), json)
    .map(([path, to]) => (env: Envelope): Body => ({
      labels: [`unknown member ${path.join('.')}`],
      expect: hasPrototypeKey(to) ? 'refused' : 'decided',
      value: setPath(env, path, to),
    })),
  fc.constantFrom<unknown>([], [1], 'envelope', 42, null, true).map((to) => (): Body => ({
    labels: ['not an object'],
    expect: 'refused',
    value: to,
  })),
);

// ---------------------------------------------------------------------------------------
// Edits of the raw text: what JSON.stringify cannot write

/** Paths of every object in a value (the body itself is []). */
function objectPaths(value: unknown, path: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [];
  const own = Array.isArray(value) ? [] : [path];
  return [...own, ...Object.entries(value).flatMap(([k, v]) => objectPaths(v, [...path, k]))];
}

/** JSON text of `value` with `member` (raw text) appended to the object at `at`. */
function withMember(value: unknown, at: string[], member: string): string {
  const same = (p: string[]) => p.length === at.length && p.every((k, i) => k === at[i]);
  const walk = (v: unknown, path: string[]): string => {
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    if (Array.isArray(v)) return `[${v.map((x, i) => walk(x, [...path, String(i)])).join(',')}]`;
    const members = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${walk(x, [...path, k])}`);
    if (same(path)) members.push(member);
    return `{${members.join(',')}}`;
  };
  return walk(value, []);
}

const nest = (depth: number, open: '[' | '{') =>
  open === '[' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** A member that makes any object it is put in malformed. */
const BAD_MEMBERS = [
  '"__proto__":{"admin":true}',
  '"\\u005f_proto__":1',
  '"constructor":{"prototype":{"x":1}}',
  '"n":1e400',
  '"n":-1E+309',
  `"n":${'9'.repeat(400)}`,
  '"s":"\\ud800"',
  '"s":"a\\udc00b"',
  '"s":"\\udc00\\ud800"',
  '"\\udbff":1',
];
/** Members JSON.stringify would not write but that are valid input. */
const ODD_VALID_MEMBERS = [
  '"big":123456789012345678901234567890',
  '"tiny":1e-400',
  '"esc":"\\u0000\\u200b\\ud83d\\ude00"',
  '"neg":-0',
  '"exp":1E+2',
];

type RawEdit = (body: Body) => { labels: string[]; expect: Expect; text: string };

const plain: RawEdit = (b) => ({ labels: b.labels, expect: b.expect, text: JSON.stringify(b.value) });

/** An edit of an object inside the body; bodies with no object (or none that fits) are sent as they are. */
const atObject =
  (
    pick: number,
    label: string,
    expect: Expect,
    member: (obj: Record<string, unknown>) => string | undefined,
  ): RawEdit =>
  (b) => {
    const paths = objectPaths(b.value);
    if (paths.length === 0) return plain(b);
    const at = paths[pick % paths.length]!;
    const obj = at.reduce<any>((node, k) => node[k], b.value);
    const m = member(obj);
    if (m === undefined) return plain(b);
    return {
      labels: [...b.labels, `${label} at ${at.join('.') || '(body)'}`],
      expect: worst(b.expect, expect),
      text: withMember(b.value, at, m),
    };
  };

const rawEdit: fc.Arbitrary<RawEdit> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(plain) },
  fc.nat().map((pick) =>
    atObject(pick, 'duplicate key', 'refused', (obj) => {
      const first = Object.keys(obj)[0];
      return first === undefined ? undefined : `${JSON.stringify(first)}:${JSON.stringify(obj[first])}`;
    }),
  ),
  fc.tuple(fc.nat(), fc.constantFrom(...BAD_MEMBERS)).map(([pick, m]) => atObject(pick, m, 'refused', () => m)),
  fc.tuple(fc.nat(), fc.constantFrom(...ODD_VALID_MEMBERS)).map(([pick, m]) =>
    // Sent twice into the same object it would be a duplicate: a fresh key name avoids that.
    atObject(pick, m, 'decided', (obj) => (m.split(':')[0]!.slice(1, -1) in obj ? undefined : m)),
  ),
  fc
    .tuple(fc.nat(), fc.integer({ min: 32, max: 3000 }), fc.constantFrom<'[' | '{'>('[', '{'))
    .map(([pick, depth, open]) =>
      atObject(pick, `nesting ${depth}`, 'refused', (obj) =>
        'x_deep' in obj ? undefined : `"x_deep":${nest(depth, open)}`,
      ),
    ),
  fc
    .tuple(fc.integer({ min: 1, max: 25 }), fc.constantFrom<'[' | '{'>('[', '{'))
    .map(([depth, open]): RawEdit => (b) => {
      // Within the bound: the parameters object is level 3 of the body.
      const params = (b.value as Envelope | null)?.action?.parameters;
      if (params === null || typeof params !== 'object' || Array.isArray(params) || 'x_deep' in params) return plain(b);
      return {
        labels: [...b.labels, `nesting ${depth} in parameters`],
        expect: b.expect,
        text: withMember(b.value, ['action', 'parameters'], `"x_deep":${nest(depth, open)}`),
      };
    }),
  fc
    .tuple(fc.integer({ min: 1000, max: 8000 }), fc.constantFrom('0', '[]', '{}', '""'))
    .map(([n, item]): RawEdit => (b) => {
      const params = (b.value as Envelope | null)?.action?.parameters;
      if (params === null || typeof params !== 'object' || Array.isArray(params) || 'x_list' in params) return plain(b);
      return {
        labels: [...b.labels, `array of ${n} ${item}`],
        // Past the per-member cap (issue 11) the array is refused, naming its path.
        expect: n > MAX_JSON_ARRAY_LENGTH ? 'refused' : b.expect,
        text: withMember(b.value, ['action', 'parameters'], `"x_list":[${Array(n).fill(item).join(',')}]`),
      };
    }),
  fc.integer({ min: MAX_BODY_BYTES, max: 4 * MAX_BODY_BYTES }).map((size): RawEdit => (b) => ({
    labels: [...b.labels, `oversize ${size}`],
    expect: 'refused',
    text: objectPaths(b.value).length > 0 ? withMember(b.value, [], `"x_pad":"${'a'.repeat(size)}"`) : 'a'.repeat(size),
  })),
  fc.nat().map((cut): RawEdit => (b) => {
    const text = JSON.stringify(b.value);
    return {
      labels: [...b.labels, `truncated at ${cut % text.length}`],
      expect: 'refused',
      text: text.slice(0, cut % text.length),
    };
  }),
  fc.constantFrom('x', ',', '}', '{}', ' 1', '\u0000', 'null').map((junk): RawEdit => (b) => ({
    labels: [...b.labels, `trailing ${JSON.stringify(junk)}`],
    expect: 'refused',
    text: JSON.stringify(b.value) + junk,
  })),
  fc.constantFrom('\n', ' \r\n\t').map((ws): RawEdit => (b) => ({
    labels: [...b.labels, 'pretty-printed'],
    expect: b.expect,
    text: ws + JSON.stringify(b.value, null, 2).replace(/\n/g, ws) + ws,
  })),
  fc.tuple(fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 2 })).map(([at, ch]): RawEdit => (b) => {
    const text = JSON.stringify(b.value);
    const i = at % (text.length + 1);
    return {
      labels: [...b.labels, `inserted ${JSON.stringify(ch)} at ${i}`],
      expect: 'either',
      text: text.slice(0, i) + ch + text.slice(i),
    };
  }),
  fc.constant<RawEdit>((b) => ({
    labels: [...b.labels, 'byte order mark'],
    expect: 'either',
    text: `\ufeff${JSON.stringify(b.value)}`,
  })),
);

// ---------------------------------------------------------------------------------------
// How it is sent: path spelling, content type, encoding

const EXACT_PATHS = ['/v1/decide', '/v1/decide?x=1', '/v1/decide?decision=ALLOW', 'http://arbiter.local/v1/decide'];
const ODD_PATHS = [
  '/v1/decide/',
  '/v1/decide//',
  '/v1//decide',
  '/v1/./decide',
  '/v1/decide/.',
  '/v1/%64ecide',
  '/v1/decid%65',
  '/v1/Decide',
  '/V1/DECIDE',
  '/V1/decide/',
  '/v1/decide/x',
  '/v1/decide;x',
  '/v1\\decide',
];
const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'Application/JSON',
];
const OTHER_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/jsonx',
  'application/xml',
];

interface Transport {
  labels: string[];
  expect: Expect;
  path: string;
  headers: Record<string, string>;
  encoding: Encoding;
}

const transport: fc.Arbitrary<Transport> = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...EXACT_PATHS).map((path) => ({ path, expect: 'decided' as Expect })) },
      fc.constantFrom(...ODD_PATHS).map((path) => ({ path, expect: 'refused' as Expect })),
    ),
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...JSON_TYPES).map((type) => ({ type, expect: 'decided' as Expect })) },
      fc.constantFrom(...OTHER_TYPES).map((type) => ({ type, expect: 'refused' as Expect })),
      fc.constant({ type: undefined, expect: 'refused' as Expect }),
    ),
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constant({
          encoding: { kind: 'none' } as Encoding,
          header: undefined,
          expect: 'decided' as Expect,
        }),
      },
      fc.constantFrom(
        { encoding: { kind: 'none' } as Encoding, header: 'identity', expect: 'decided' as Expect },
        { encoding: { kind: 'gzip' } as Encoding, header: 'gzip', expect: 'decided' as Expect },
        { encoding: { kind: 'deflate' } as Encoding, header: 'deflate', expect: 'decided' as Expect },
        { encoding: { kind: 'corrupt-gzip' } as Encoding, header: 'gzip', expect: 'refused' as Expect },
        { encoding: { kind: 'none' } as Encoding, header: 'gzip', expect: 'refused' as Expect },
        { encoding: { kind: 'none' } as Encoding, header: 'compress', expect: 'refused' as Expect },
        { encoding: { kind: 'gzip' } as Encoding, header: 'br', expect: 'refused' as Expect },
      ),
      fc
        .tuple(
          fc.nat(),
          fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]),
        )
        .map(([at, bytes]) => ({
          encoding: { kind: 'invalid-utf8', at, bytes } as Encoding,
          header: undefined,
          expect: 'refused' as Expect,
        })),
    ),
  )
  .map(([p, t, e]) => ({
    labels: [`path ${p.path}`, `type ${t.type}`, `encoding ${e.header ?? '-'} ${e.encoding.kind}`],
    expect: worst(p.expect, t.expect, e.expect),
    path: p.path,
    headers: {
      ...(t.type !== undefined && { 'content-type': t.type }),
      ...(e.header !== undefined && { 'content-encoding': e.header }),
    },
    encoding: e.encoding,
  }));

function encode(text: string, encoding: Encoding): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  switch (encoding.kind) {
    case 'none':
      return bytes;
    case 'gzip':
      return gzipSync(bytes);
    case 'deflate':
      return deflateSync(bytes);
    case 'corrupt-gzip': {
      const gz = gzipSync(bytes);
      return Buffer.concat([gz.subarray(0, 10), Buffer.from('not deflate data'), gz.subarray(10, 20)]);
    }
    case 'invalid-utf8': {
      const at = encoding.at % (bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(encoding.bytes), bytes.subarray(at)]);
    }
  }
}

const STANDARD: Transport = {
  labels: [],
  expect: 'decided',
  path: '/v1/decide',
  headers: { 'content-type': 'application/json' },
  encoding: { kind: 'none' },
};

const toCase = (body: { labels: string[]; expect: Expect; text: string }, t: Transport): Case => ({
  labels: [...body.labels, ...t.labels],
  expect: worst(body.expect, t.expect),
  text: body.text,
  path: t.path,
  headers: t.headers,
  encoding: t.encoding,
});

/** Field mutations of the parsed envelope, sent the standard way. */
const fieldCases = fc.tuple(envelope, mutation).map(([env, m]) => toCase(plain(m(env)), STANDARD));
/** Raw-text edits of valid or mutated envelopes, sent the standard way. */
const textCases = fc.tuple(envelope, mutation, rawEdit).map(([env, m, edit]) => toCase(edit(m(env)), STANDARD));
/** Valid envelopes sent with odd paths, content types and encodings. */
const transportCases = fc
  .tuple(envelope, transport)
  .map(([env, t]) => toCase(plain({ labels: ['valid'], expect: 'decided', value: env }), t));

// ---------------------------------------------------------------------------------------

for (const store of ['memory', 'redis'] as StoreKind[]) {
  describe(`fuzzing POST /v1/decide (${store} store, seed ${SEED}, ${RUNS} runs per property)`, () => {
    let arbiter: TestArbiter;
    let keys: ReturnType<typeof publicKeysFromJwks>;
    let sent = 0;
    const tally = new Map<string, number>();

    before(async () => {
      arbiter = await startTestArbiter({ store, env: { ARBITER_MAX_BODY_BYTES: String(MAX_BODY_BYTES) } });
      keys = publicKeysFromJwks((await arbiter.get('/v1/keys')).body);
    });
    after(() => arbiter.stop());

    /** One case sent and every property of its answer checked; the session is fresh. */
    async function check(c: Case): Promise<void> {
      const session = `fz-${++sent}-${randomBytes(4).toString('hex')}`;
      const bytes = encode(c.text.split(SESSION).join(session), c.encoding);
      const res = await sendRaw(arbiter.url, 'POST', c.path, bytes, c.headers);
      const outcome = res.status === 200 ? `200 ${res.body?.decision}` : `${res.status} ${res.body?.error?.code}`;
      tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
      const what = `${c.labels.join('; ')} -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
      assert.equal(typeof res.body, 'object', `a JSON answer: ${what}`);
      assert.notEqual(res.body, null, `a JSON answer: ${what}`);
      if (res.status === 200) {
        assert.notEqual(c.expect, 'refused', `malformed input was decided: ${what}`);
        assert.ok(DECISIONS.includes(res.body.decision), `a decision: ${what}`);
        assert.equal(
          typeof res.body.capability === 'string',
          res.body.decision === 'ALLOW' || res.body.decision === 'MODIFY',
          `a capability exactly for ALLOW and MODIFY: ${what}`,
        );
        await verifyAnswered(res.body, what);
        return;
      }
      assert.equal(res.body.decision, 'DENY', `every error answer on the decide route says DENY: ${what}`);
      assert.equal(typeof res.body.error?.code, 'string', `an error code: ${what}`);
      assert.equal(res.body.capability, undefined, `no capability with an error: ${what}`);
      assert.equal(res.body.receipt, undefined, `no receipt with an error: ${what}`);
      assert.ok(res.status >= 400 && res.status < 500, `input is never a server fault: ${what}`);
      assert.notEqual(c.expect, 'decided', `valid input was refused: ${what}`);
    }

    /** The receipt of a decided answer is stored, hashes to what the answer said, and its chain verifies. */
    async function verifyAnswered(answer: any, what: string): Promise<void> {
      const receipt = await arbiter.get(`/v1/receipts/${answer.receipt.id}`);
      assert.equal(receipt.status, 200, `the receipt is readable: ${what}`);
      assert.equal(hashOf(receipt.body), answer.receipt.hash, `the receipt hashes to the answer's hash: ${what}`);
      assert.equal(receipt.body.decision, answer.decision, `the receipt records the answered decision: ${what}`);
      const chain = await arbiter.get(`/v1/sessions/${encodeURIComponent(receipt.body.session_id)}/receipts`);
      assert.equal(chain.status, 200, `the chain is readable: ${what}`);
      assert.ok(
        chain.body.receipts.some((r: { receipt_id: string }) => r.receipt_id === answer.receipt.id),
        `the receipt is in its session's chain: ${what}`,
      );
      assert.deepEqual(verifyReceipts(chain.body.receipts, keys).problems, [], `the chain verifies: ${what}`);
    }

    const run = (arbitrary: fc.Arbitrary<Case>) =>
      fc.assert(
        fc.asyncProperty(arbitrary, (c) => check(c)),
        { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
      );

    test('field mutations: dropped, retyped, oversized, Unicode oddities, unknown members', async () => {
      await run(fieldCases);
    });

    test('raw-text edits: duplicate and prototype keys, huge numbers, lone surrogates, nesting, truncation', async () => {
      await run(textCases);
    });

    test('odd paths, content types and encodings', async () => {
      await run(transportCases);
    });

    test('whole amounts from 2^31 up are decided, not a 503 (format_int in WASM is 32-bit)', async () => {
      for (const amount of ['2147483648', '3000000000', '9007199254740993', '1e21', '"123456789012"']) {
        const text =
          `{"action":{"tool":"payments.transfer","parameters":{"amount":${amount}}},` +
          `"session":{"id":"${SESSION}"},"identity":{"agent":"agent-1"}}`;
        await check(toCase({ labels: [`amount ${amount}`], expect: 'decided', text }, STANDARD));
      }
    });

    test('the process kept serving and every outcome class was reached', async (t) => {
      // Which outcomes the runs reached: a property that never decides anything proves little.
      t.diagnostic(`${sent} requests: ${[...tally].map(([k, n]) => `${k} ${n}`).join(', ')}`);
      assert.equal((await arbiter.get('/healthz')).status, 200);
      assert.equal((await arbiter.get('/readyz')).status, 200);
      for (const outcome of [
        '200 ALLOW',
        '200 MODIFY',
        '200 DENY',
        '400 invalid_request',
        '400 invalid_json',
        '404 not_found',
        '413 payload_too_large',
        '415 unsupported_media_type',
      ]) {
        assert.ok((tally.get(outcome) ?? 0) > 0, `reached ${outcome}: ${[...tally.keys()].join(', ')}`);
      }
    });
  });
}
