/**
 * What receipts (and so everything exported) keep of parameters: values under names that
 * look like credentials are replaced by their hash, at any depth (CONTRACT, receipts).
 */
import { hashOf } from './canonical.js';

const CREDENTIAL_NAME =
  /pass(word|wd|phrase)?|secret|token|api[-_]?key|authori[sz]ation|private[-_]?key|credential|cookie|session[-_]?key|access[-_]?key|bearer/i;

export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
}

/** A copy of `value` with every credential-like property's value replaced by "sha256:…". */
export function maskParameters(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskParameters);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = isCredentialName(key) ? hashOf(v) : maskParameters(v);
  }
  return out;
}
