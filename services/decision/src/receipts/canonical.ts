/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the byte form that receipts are signed and
 * hashed in, so that any verifier re-serializing the same JSON gets the same bytes.
 */
import { createHash } from 'node:crypto';

export function canonicalize(value: unknown): string {
  const text = serialize(value, new Set());
  if (text === undefined) throw new TypeError('canonicalize: value is undefined');
  return text;
}

export function sha256Hex(data: string | Uint8Array): string {
  // Strings hash as their UTF-8 bytes (RFC 8785 §3.2.4 output encoding).
  return createHash('sha256').update(data).digest('hex');
}

/** "sha256:" + hex SHA-256 of the canonical form of `value`. */
export function hashOf(value: unknown): string {
  return `sha256:${sha256Hex(canonicalize(value))}`;
}

/** undefined means "omit", as JSON.stringify does for undefined property values. */
function serialize(value: unknown, ancestors: Set<object>): string | undefined {
  const v = withToJson(value);
  switch (typeof v) {
    case 'undefined':
      return undefined;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      // RFC 8785 §3.2.2.2 escaping is exactly ECMAScript's JSON.stringify for strings.
      return JSON.stringify(v);
    case 'number':
      // RFC 8785 §3.2.2.3: Number.prototype.toString, which JSON.stringify uses (-0 → "0").
      if (!Number.isFinite(v)) throw new TypeError(`canonicalize: ${v} is not a JSON number`);
      return JSON.stringify(v);
    case 'object':
      if (v === null) return 'null';
      return serializeContainer(v, ancestors);
    default:
      throw new TypeError(`canonicalize: a ${typeof v} is not JSON`);
  }
}

function withToJson(value: unknown): unknown {
  // Same as JSON.stringify, so that e.g. a Date hashes as its ISO string, not as {}.
  const toJSON = (value as { toJSON?: unknown } | null | undefined)?.toJSON;
  return typeof toJSON === 'function' ? toJSON.call(value) : value;
}

function serializeContainer(value: object, ancestors: Set<object>): string {
  if (ancestors.has(value)) throw new TypeError('canonicalize: value contains a cycle');
  ancestors.add(value);
  try {
    return Array.isArray(value) ? serializeArray(value, ancestors) : serializeObject(value, ancestors);
  } finally {
    ancestors.delete(value);
  }
}

function serializeArray(items: unknown[], ancestors: Set<object>): string {
  // Array.from visits holes too; JSON.stringify writes undefined elements as null.
  const parts = Array.from(items, (item) => serialize(item, ancestors) ?? 'null');
  return `[${parts.join(',')}]`;
}

function members(object: object, ancestors: Set<object>): Array<[string, string]> {
  const record = object as Record<string, unknown>;
  // RFC 8785 §3.2.3: sort by UTF-16 code units, which is what the default sort compares.
  const parts: Array<[string, string]> = [];
  for (const key of Object.keys(record).sort()) {
    const text = serialize(record[key], ancestors);
    if (text !== undefined) parts.push([key, `${JSON.stringify(key)}:${text}`]);
  }
  return parts;
}

function serializeObject(object: object, ancestors: Set<object>): string {
  return `{${members(object, ancestors)
    .map(([, member]) => member)
    .join(',')}}`;
}

/**
 * The canonical members of an object, in canonical order, each as `"key":value`: an
 * object's canonical form is `{` + their join with `,` + `}`. Lets a caller add a member
 * without serializing the rest again (a receipt's hash covers its body plus its signature).
 */
export function canonicalMembers(object: Record<string, unknown>): Array<[string, string]> {
  return members(object, new Set([object]));
}
