/**
 * Signing and hashing of single receipts. The signature covers the RFC 8785 form of the
 * receipt without `signature`; the receipt hash (what `prev_hash` links to) covers it all.
 * What is signed is first masked (mask.ts maskReceipt): every receipt, of every kind and
 * whoever built it, is kept without the secrets its text, signals or result spelled out.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { canonicalize, canonicalMembers, hashOf, sha256Hex } from './canonical.js';
import { errorMessage } from '../errors.js';
import { isRecord } from './guards.js';
import type { SigningKey } from './keys.js';
import { maskerFor, maskReceipt } from './mask.js';
import type { Receipt, ReceiptBody, ReceiptSignature } from './types.js';

export type SignatureCheck =
  { ok: true } | { ok: false; problem: 'malformed' | 'unknown_kid' | 'bad_signature'; detail: string };

/** An Ed25519 signature is 64 bytes: 86 base64url characters without padding. */
const SIGNATURE_VALUE = /^[A-Za-z0-9_-]{86}$/;

export function signReceipt(body: ReceiptBody, key: SigningKey): Receipt {
  return signAndHash(body, key).receipt;
}

/**
 * Signs a receipt and computes its receiptHash() from one serialization of the body: the
 * receipt's canonical form is the body's members with the signature's in its sorted
 * place. This runs on every decision; serializing the receipt twice was a tenth of it.
 */
export function signAndHash(body: ReceiptBody, key: SigningKey): { receipt: Receipt; hash: string } {
  // A Receipt is also a ReceiptBody: re-signing one must not sign its old signature.
  const { signature: _old, ...rest } = body as ReceiptBody & { signature?: unknown };
  const unsigned = maskReceipt(rest, maskerFor(key));
  const members = canonicalMembers(unsigned);
  const value = sign(null, Buffer.from(`{${members.map(([, m]) => m).join(',')}}`, 'utf8'), key.privateKey);
  const signature: ReceiptSignature = { alg: 'EdDSA', kid: key.kid, value: value.toString('base64url') };
  const signed = [...members, ['signature', `"signature":${canonicalize(signature)}`] as [string, string]].sort(
    ([a], [b]) => (a < b ? -1 : a > b ? 1 : 0),
  );
  return {
    receipt: { ...unsigned, signature },
    hash: `sha256:${sha256Hex(`{${signed.map(([, m]) => m).join(',')}}`)}`,
  };
}

export function receiptHash(receipt: Receipt): string {
  return hashOf(receipt);
}

export function verifyReceiptSignature(receipt: unknown, keys: Map<string, KeyObject>): SignatureCheck {
  if (!isRecord(receipt)) return failure('malformed', 'receipt is not a JSON object');
  const { signature, ...body } = receipt;
  const parsed = readSignature(signature);
  if (typeof parsed === 'string') return failure('malformed', parsed);
  const key = keys.get(parsed.kid);
  if (key === undefined) return failure('unknown_kid', `signed with kid "${parsed.kid}", which is not in the key set`);
  // Only the canonical encoding is accepted: two spellings of one signature would give one
  // signed receipt two hashes.
  const value = Buffer.from(parsed.value, 'base64url');
  if (!SIGNATURE_VALUE.test(parsed.value) || value.toString('base64url') !== parsed.value) {
    return failure('bad_signature', 'signature value is not 64 bytes in base64url');
  }
  let signed: Buffer;
  try {
    signed = Buffer.from(canonicalize(body), 'utf8');
  } catch (err) {
    return failure('malformed', `receipt is not JSON data: ${errorMessage(err)}`);
  }
  return verify(null, signed, key, value)
    ? { ok: true }
    : failure('bad_signature', 'signature does not match the content: the receipt was changed after signing');
}

/** The signature object, or why it is not one. */
function readSignature(signature: unknown): ReceiptSignature | string {
  if (!isRecord(signature)) return 'receipt has no "signature" object';
  // Members beyond these would not be covered by the signature, yet change the receipt hash.
  const extra = Object.keys(signature).filter((k) => k !== 'alg' && k !== 'kid' && k !== 'value');
  if (extra.length > 0) return `signature has unexpected members: ${extra.join(', ')}`;
  const { alg, kid, value } = signature;
  if (alg !== 'EdDSA') return `signature alg must be "EdDSA", not ${JSON.stringify(alg) ?? 'missing'}`;
  if (typeof kid !== 'string' || kid === '') return 'signature kid must be a non-empty string';
  if (typeof value !== 'string') return 'signature value must be a string';
  return { alg, kid, value };
}

function failure(problem: 'malformed' | 'unknown_kid' | 'bad_signature', detail: string): SignatureCheck {
  return { ok: false, problem, detail };
}
