/**
 * The strict JSON reader of the edge. `JSON.parse` accepts texts whose meaning is not the
 * one every reader sees: with duplicate keys the last one wins (`"tool":"db.drop",…,
 * "tool":"files.read"` is decided as files.read while a tool keeping the first sees
 * db.drop); `__proto__` is dropped by the schema, so policy, hashes and receipts never see
 * a member a tool keeping the raw JSON would; `1e400` becomes Infinity, which JSON cannot
 * carry on; a lone surrogate cannot be encoded again. Each is refused here with a 400 that
 * names the key path, before anything else reads the body (RFC 8259 §4, §8.2; fastify's
 * secure-json-parse for the prototype keys).
 *
 *   parseStrictJson('{"a":1,"a":2}')  → throws ArbiterError invalid_request "a: the key appears more than once"
 */
import { ArbiterError } from '../errors.js';
import { MAX_JSON_DEPTH } from './envelope.js';

interface Frame {
  object: boolean;
  /** Keys seen so far (objects only). */
  keys: Set<string>;
  /** The member being read: its key in an object, its index in an array. */
  key: string;
  index: number;
  expectKey: boolean;
}

/** Shared by every array frame: arrays have no keys, so nothing is ever added to it. */
const NO_KEYS = new Set<string>();

const refuse = (path: string, message: string) =>
  new ArbiterError('invalid_request', `${path || '(body)'}: ${message}`);

/** What ends a string, starts an escape, or is half of a surrogate pair. */
const STRING_SPECIALS = /["\\\ud800-\udfff]/g;

/** 0-9 . e E + - : what may follow the first character of a JSON number. */
const isNumberChar = (c: number) =>
  (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;

const isHigh = (u: number) => u >= 0xd800 && u <= 0xdbff;
const isLow = (u: number) => u >= 0xdc00 && u <= 0xdfff;

/** Whether a key makes the object it is in reach a prototype when copied or merged. */
function prototypeKey(key: string, stack: Frame[]): boolean {
  if (key === '__proto__') return true;
  // {"constructor": {"prototype": …}} is how a merge reaches Object.prototype without __proto__.
  const parent = stack[stack.length - 2];
  return key === 'prototype' && parent !== undefined && parent.object && parent.key === 'constructor';
}

/**
 * Parses `text` as JSON and refuses, naming the key path: syntax errors (invalid_json),
 * duplicate keys at any depth, prototype keys, numbers beyond the double range, unpaired
 * UTF-16 surrogates, and nesting deeper than MAX_JSON_DEPTH (invalid_request). One pass
 * over the text after the native parse: linear time, and the stack is bounded by the depth.
 */
export function parseStrictJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ArbiterError('invalid_json');
  }
  // The text is valid JSON from here on, so the scan only has to find token boundaries.
  const stack: Frame[] = [];
  const label = (f: Frame) => (f.object ? f.key : String(f.index));
  const path = () => stack.map(label).join('.');
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const object = c === 0x7b;
      stack.push({ object, keys: object ? new Set() : NO_KEYS, key: '', index: 0, expectKey: object });
      if (stack.length > MAX_JSON_DEPTH) {
        throw new ArbiterError('invalid_request', `the body is nested deeper than ${MAX_JSON_DEPTH} levels`);
      }
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      i++;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1]!;
      if (top.object) top.expectKey = true;
      else top.index++;
      i++;
    } else if (c === 0x3a /* : */) {
      stack[stack.length - 1]!.expectKey = false;
      i++;
    } else if (c === 0x22 /* " */) {
      const top = stack[stack.length - 1];
      const isKey = top !== undefined && top.object && top.expectKey;
      const end = stringEnd(text, i);
      if (end < 0) {
        const where = isKey ? stack.slice(0, -1).map(label).join('.') : path();
        throw refuse(where, `${isKey ? 'a key' : 'the string'} holds an unpaired UTF-16 surrogate`);
      }
      if (isKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        top.key = key;
        if (top.keys.has(key)) throw refuse(path(), 'the key appears more than once');
        if (prototypeKey(key, stack)) throw refuse(path(), 'prototype keys are refused');
        top.keys.add(key);
      }
      i = end + 1;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < n && isNumberChar(text.charCodeAt(j))) j++;
      if (!Number.isFinite(Number(text.slice(i, j))))
        throw refuse(path(), 'the number is beyond the range of a double');
      i = j;
    } else {
      i++;
    }
  }
  return value;
}

/**
 * The index of the quote that closes the string opened at `start`, or -1 when the string
 * holds an unpaired surrogate, escaped (`"\ud800"`) or raw (a string built in-process).
 */
function stringEnd(text: string, start: number): number {
  let j = start + 1;
  for (;;) {
    // Native scanning to the next character that matters: most strings have none but the quote.
    STRING_SPECIALS.lastIndex = j;
    j = STRING_SPECIALS.exec(text)!.index;
    const c = text.charCodeAt(j);
    if (c === 0x22) return j;
    if (c === 0x5c /* \ */) {
      if (text.charCodeAt(j + 1) !== 0x75 /* u */) {
        j += 2;
        continue;
      }
      const unit = parseInt(text.slice(j + 2, j + 6), 16);
      if (isLow(unit)) return -1;
      if (isHigh(unit)) {
        const paired = text.charCodeAt(j + 6) === 0x5c && text.charCodeAt(j + 7) === 0x75;
        if (!paired || !isLow(parseInt(text.slice(j + 8, j + 12), 16))) return -1;
        j += 12;
        continue;
      }
      j += 6;
      continue;
    }
    if (isLow(c) || !isLow(text.charCodeAt(j + 1))) return -1;
    j += 2;
  }
}
