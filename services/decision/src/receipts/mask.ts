/**
 * What receipts (and so everything exported) keep of parameters: values under names that
 * look like credentials are replaced by their hash, at any depth (CONTRACT, receipts), and
 * so are the values at the paths that policy data adds (`data.aarm.masking.paths`).
 */
import { hashOf } from './canonical.js';

const CREDENTIAL_NAME =
  /pass(word|wd|phrase)?|pwd|secret|token|api[-_]?key|authori[sz]ation|private[-_]?key|credential|cookie|session[-_]?key|access[-_]?key|bearer|dsn|connection[-_]?string/i;

export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
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

function mask(value: unknown, paths: Path[], at: string[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  const entries: Array<[string, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  const masked = entries.map(([key, v]): [string, unknown] => {
    const here = [...at, key];
    const hidden = (!Array.isArray(value) && isCredentialName(key)) || paths.some((p) => matches(p, here));
    return [key, hidden ? hashOf(v) : mask(v, paths, here)];
  });
  return Array.isArray(value) ? masked.map(([, v]) => v) : Object.fromEntries(masked);
}

/**
 * A copy of `value` with every credential-like property's value, and every value at one of
 * the `pointers` (JSON Pointers such as "/body" or "/rows/*\/ssn"), replaced by "sha256:…".
 */
export function maskParameters(value: unknown, pointers: readonly string[] = []): unknown {
  const paths = pointers.map(parsePointer).filter((p): p is Path => p !== undefined);
  return mask(value, paths, []);
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
