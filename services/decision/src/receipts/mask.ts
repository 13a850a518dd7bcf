/**
 * What receipts (and so everything exported) keep of secrets (CONTRACT, receipts).
 *
 * - Values under names that look like credentials, at any depth, and the values at the
 *   paths that policy data adds (`data.aarm.masking.paths`), are replaced by a keyed hash,
 *   `hmac-sha256:<hex>`: HMAC-SHA-256 under a per-deployment key (as Vault's audit devices
 *   do), so equal values stay comparable within a deployment while a dictionary of likely
 *   secrets cannot be tried against a receipt without the key (issue 12).
 * - Text keeps what an auditor reads, minus what is a secret by its shape: URL userinfo
 *   (`https://user:pass@host` → `https://***@host`), `name=value` pairs whose name looks
 *   like a credential, bearer tokens, JWTs, private keys and well-known API key formats.
 * - Signal values and the policy result follow the same rules: credential names and
 *   secret-shaped values are hashed, other text is masked as above.
 *
 * Example: maskParameters({ to: "a@b.c", password: "hunter2" }, [], masker)
 *   → { to: "a@b.c", password: "hmac-sha256:5f…" }
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { canonicalize, hashOf } from './canonical.js';
import type { SigningKey } from './keys.js';

const CREDENTIAL_NAMES =
  'pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|authori[sz]ation|private[-_]?key|credential|cookie|session[-_]?key|access[-_]?key|bearer|dsn|connection[-_]?string';
const CREDENTIAL_NAME = new RegExp(CREDENTIAL_NAMES, 'i');

export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
}

/** Hashes values under a deployment's masking key. */
export interface Masker {
  /** `hmac-sha256:` and the hex HMAC-SHA-256 of the value's RFC 8785 form. */
  hash(value: unknown): string;
}

/** The masking key must be at least this long (the HMAC's block security, RFC 2104 §3). */
const MIN_MASKING_KEY_BYTES = 32;

export function createMasker(secret: Uint8Array): Masker {
  if (secret.byteLength < MIN_MASKING_KEY_BYTES)
    throw new Error(`the masking key must be at least ${MIN_MASKING_KEY_BYTES} bytes`);
  const key = Buffer.from(secret);
  return { hash: (value) => `hmac-sha256:${createHmac('sha256', key).update(canonicalize(value)).digest('hex')}` };
}

/**
 * The signing key with a dedicated masking key (ARBITER_MASKING_KEY: the bytes of a file,
 * at least 32), so masked values stay comparable across a signing key rotation.
 */
export function withMaskingKey(signingKey: SigningKey, material: Uint8Array): SigningKey {
  createMasker(material);
  return { ...signingKey, maskingKey: Buffer.from(material) };
}

const maskers = new WeakMap<SigningKey, Masker>();

/**
 * The deployment's masker: its dedicated masking key, else one derived from the signing
 * key (HKDF-SHA-256 over the Ed25519 seed), which every replica of a deployment shares.
 */
export function maskerFor(signingKey: SigningKey): Masker {
  let masker = maskers.get(signingKey);
  if (!masker) {
    masker = createMasker(signingKey.maskingKey ?? derivedKey(signingKey));
    maskers.set(signingKey, masker);
  }
  return masker;
}

function derivedKey(signingKey: SigningKey): Buffer {
  const { d } = signingKey.privateKey.export({ format: 'jwk' });
  if (typeof d !== 'string') throw new Error('the signing key has no private part to derive a masking key from');
  return Buffer.from(hkdfSync('sha256', Buffer.from(d, 'base64url'), 'arbiter', 'arbiter receipt masking v1', 32));
}

/** A value masked already (by this module, or a plain digest from before keyed masking). */
const MASKED = /^(?:hmac-sha256|sha256):[0-9a-f]{64}$/;

/** Secrets recognisable by their shape alone, wherever they stand in a text. */
const SECRET_SHAPES = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/,
  /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/,
  /\bgh[pousr]_[A-Za-z0-9]{36,}\b/,
  /\bgithub_pat_[A-Za-z0-9_]{22,}\b/,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/,
  /\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b/,
  /\bsk-[A-Za-z0-9_-]{20,}/,
  /\bAIza[0-9A-Za-z_-]{35}\b/,
].map((r) => r.source);

const TEXT_RULES: Array<[RegExp, string]> = [
  // RFC 3986 userinfo: everything between "//" and "@" that holds no "/", "?" or "#".
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, '$1***@'],
  [new RegExp(SECRET_SHAPES.join('|'), 'g'), '***'],
  [/\b(Bearer\s+)[A-Za-z0-9._~+/-]{8,}=*/g, '$1***'],
  [new RegExp(`\\b([\\w.-]*(?:${CREDENTIAL_NAMES})[\\w.-]*["']?\\s*[:=]\\s*["']?)[^\\s"'&;,<>]+`, 'gi'), '$1***'],
];

const WHOLE_SECRET = new RegExp(`^\\s*(?:(?:${SECRET_SHAPES.join('|')})|Bearer\\s+\\S{8,})\\s*$`);

/** `text` with the secrets it spells out replaced by `***`; the rest as it was. */
export function maskText(text: string): string {
  let out = text;
  for (const [rule, replacement] of TEXT_RULES) out = out.replace(rule, replacement);
  return out;
}

/** A copy of `value` with maskText applied to every string in it (keys stay), sharing what did not change. */
export function maskStrings<T>(value: T): T {
  return walk(
    value,
    (s) => maskText(s),
    () => undefined,
  ) as T;
}

/**
 * A copy of `value` (signals, a policy result) with credential-named members and
 * secret-shaped strings hashed, and the rest of its text masked.
 */
export function maskSecrets<T>(value: T, masker: Masker): T {
  return walk(
    value,
    (s) => (WHOLE_SECRET.test(s) ? masker.hash(s) : maskText(s)),
    (key, v) => (isCredentialName(key) && !(typeof v === 'string' && MASKED.test(v)) ? masker.hash(v) : undefined),
  ) as T;
}

/**
 * The generic walk: `text` maps each string; `member` may replace a member's value whole
 * (undefined: walk into it). Unchanged parts are returned as they were.
 */
function walk(
  value: unknown,
  text: (s: string) => string,
  member: (key: string, v: unknown) => string | undefined,
): unknown {
  if (typeof value === 'string') return text(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items = value.map((v) => walk(v, text, member));
    return items.some((v, i) => v !== value[i]) ? items : value;
  }
  let changed = false;
  const entries = Object.entries(value).map(([k, v]): [string, unknown] => {
    const next = member(k, v) ?? walk(v, text, member);
    if (next !== v) changed = true;
    return [k, next];
  });
  return changed ? Object.fromEntries(entries) : value;
}

/** A JSON Pointer (RFC 6901) into the parameters, as segments; "*" matches any key or index. */
type Path = string[];

function parsePointer(pointer: string): Path | undefined {
  if (!pointer.startsWith('/')) return undefined;
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function matches(path: Path, at: string[]): boolean {
  return path.length === at.length && path.every((seg, i) => seg === '*' || seg === at[i]);
}

function mask(value: unknown, paths: Path[], at: string[], hash: (v: unknown) => string): unknown {
  if (value === null || typeof value !== 'object') return value;
  const entries: Array<[string, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  const masked = entries.map(([key, v]): [string, unknown] => {
    const here = [...at, key];
    const hidden = (!Array.isArray(value) && isCredentialName(key)) || paths.some((p) => matches(p, here));
    return [key, hidden ? hash(v) : mask(v, paths, here, hash)];
  });
  return Array.isArray(value) ? masked.map(([, v]) => v) : Object.fromEntries(masked);
}

/**
 * A copy of `value` with every credential-like property's value, and every value at one of
 * the `pointers` (JSON Pointers such as "/body" or "/rows/*\/ssn"), replaced by the
 * masker's "hmac-sha256:…". Without a masker, the plain "sha256:…" digest, which a
 * dictionary reverses: only for callers not yet handed the deployment's masker.
 */
export function maskParameters(value: unknown, pointers: readonly string[] = [], masker?: Masker): unknown {
  const paths = pointers.map(parsePointer).filter((p): p is Path => p !== undefined);
  return mask(value, paths, [], masker ? masker.hash : hashOf);
}

const fromData = new WeakMap<object, string[]>();

/** The masking pointers a policy's data adds (`data.aarm.masking.paths`), read once per policy. */
export function maskingPaths(policyData: unknown): string[] {
  if (policyData === null || typeof policyData !== 'object') return [];
  const cached = fromData.get(policyData);
  if (cached) return cached;
  const paths = (policyData as { aarm?: { masking?: { paths?: unknown } } }).aarm?.masking?.paths;
  const list = Array.isArray(paths) ? paths.filter((p): p is string => typeof p === 'string') : [];
  fromData.set(policyData, list);
  return list;
}

/** A JSON Patch operation (RFC 6902) that writes a value under a credential-like name. */
function writesCredential(op: Record<string, unknown>): boolean {
  return typeof op.path === 'string' && 'value' in op && (parsePointer(op.path) ?? []).some(isCredentialName);
}

/**
 * The receipt as it may be kept: every string of its action, input, result and reasons
 * masked as text; `input.signals` and `result` by maskSecrets; the value of a result patch
 * that writes a credential-like path hashed. Parameters were masked by name and path
 * already (maskParameters); what is hashed stays as it is.
 */
export function maskReceipt<T extends Record<string, unknown>>(body: T, masker: Masker): T {
  const out: Record<string, unknown> = { ...body };
  if (out.action !== undefined) out.action = maskStrings(out.action);
  if (out.reasons !== undefined) out.reasons = maskStrings(out.reasons);
  if (isObject(out.input)) {
    const input = maskStrings(out.input);
    out.input = isObject(out.input.signals) ? { ...input, signals: maskSecrets(out.input.signals, masker) } : input;
  }
  if (out.result !== undefined) out.result = maskSecrets(maskPatches(out.result, masker), masker);
  for (const block of ['approval', 'deferral'] as const) {
    const b = out[block];
    if (isObject(b) && typeof b.reason === 'string') out[block] = { ...b, reason: maskText(b.reason) };
  }
  return out as T;
}

function maskPatches(result: unknown, masker: Masker): unknown {
  if (!isObject(result) || !Array.isArray(result.patch)) return result;
  return {
    ...result,
    patch: result.patch.map((op: unknown) =>
      isObject(op) && writesCredential(op) ? { ...op, value: masker.hash(op.value) } : op,
    ),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
