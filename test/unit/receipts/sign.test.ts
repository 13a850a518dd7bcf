import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalize, hashOf, sha256Hex } from '../../../services/decision/src/receipts/canonical.js';
import { generateSigningKey } from '../../../services/decision/src/receipts/keys.js';
import {
  receiptHash,
  signAndHash,
  signReceipt,
  verifyReceiptSignature,
} from '../../../services/decision/src/receipts/sign.js';
import type { Receipt } from '../../../services/decision/src/receipts/types.js';
import { edited, keyMap, receiptBody } from './fixtures.js';

const key = generateSigningKey();
const keys = keyMap(key);
const body = receiptBody('s-1', 1, null);

describe('signReceipt', () => {
  it('signs the canonical body with Ed25519 under the key kid', () => {
    const receipt = signReceipt(body, key);
    assert.equal(receipt.signature.alg, 'EdDSA');
    assert.equal(receipt.signature.kid, key.kid);
    assert.match(receipt.signature.value, /^[A-Za-z0-9_-]{86}$/);
    const { signature, ...rest } = receipt;
    assert.deepEqual(rest, body);
    const signed = Buffer.from(canonicalize(body), 'utf8');
    assert.ok(verify(null, signed, key.publicKey, Buffer.from(signature.value, 'base64url')));
  });

  it('does not depend on property order and does not change the body', () => {
    const snapshot = structuredClone(body);
    const reversed = Object.fromEntries(Object.entries(body).reverse()) as typeof body;
    assert.deepEqual(signReceipt(reversed, key).signature, signReceipt(body, key).signature);
    assert.deepEqual(body, snapshot);
  });

  it('re-signing a receipt replaces its signature instead of signing it', () => {
    const other = generateSigningKey();
    const resigned = signReceipt(signReceipt(body, key), other);
    assert.equal(resigned.signature.kid, other.kid);
    assert.deepEqual(resigned, signReceipt(body, other));
  });
});

describe('receiptHash', () => {
  it('hashes the canonical receipt including its signature', () => {
    const receipt = signReceipt(body, key);
    assert.equal(receiptHash(receipt), `sha256:${sha256Hex(canonicalize(receipt))}`);
    assert.equal(receiptHash(receipt), hashOf(JSON.parse(JSON.stringify(receipt))));
    assert.notEqual(receiptHash(receipt), hashOf(body));
    assert.notEqual(receiptHash(receipt), receiptHash(signReceipt(body, generateSigningKey())));
  });
});

describe('verifyReceiptSignature', () => {
  const receipt = signReceipt(body, key);

  it('accepts a signed receipt, also after a JSON round trip', () => {
    assert.deepEqual(verifyReceiptSignature(receipt, keys), { ok: true });
    assert.deepEqual(verifyReceiptSignature(JSON.parse(JSON.stringify(receipt)), keys), { ok: true });
  });

  it('reports any change of the content as bad_signature', () => {
    const edits: ((r: Receipt) => void)[] = [
      (r) => (r.decision = 'DENY'),
      (r) => (r.seq = 2),
      (r) => (r.prev_hash = hashOf('x')),
      (r) => (r.policy.hash = hashOf('other policy')),
      (r) => (r.identity.human = 'mallory'),
      (r) => (r.action.parameters = { path: '/etc/passwd' }),
      (r) => Object.assign(r, { extra: true }),
      (r) => (r.signature.value = `${r.signature.value.startsWith('A') ? 'B' : 'A'}${r.signature.value.slice(1)}`),
    ];
    for (const edit of edits) {
      const check = verifyReceiptSignature(edited(receipt, edit), keys);
      assert.equal(check.ok ? 'ok' : check.problem, 'bad_signature', edit.toString());
    }
  });

  it('rejects a signature value that is not the canonical base64url of 64 bytes', () => {
    for (const value of [`${receipt.signature.value}==`, receipt.signature.value.slice(1), '', '!'.repeat(86)]) {
      const check = verifyReceiptSignature(
        edited(receipt, (r) => (r.signature.value = value)),
        keys,
      );
      assert.equal(check.ok ? 'ok' : check.problem, 'bad_signature', value);
    }
  });

  it('reports a kid that is not in the key set', () => {
    const check = verifyReceiptSignature(signReceipt(body, generateSigningKey()), keys);
    assert.equal(check.ok ? 'ok' : check.problem, 'unknown_kid');
  });

  it('reports receipts without a well-formed signature as malformed', () => {
    const withSignature = (signature: unknown): unknown => ({ ...body, signature });
    const cases: unknown[] = [
      null,
      'receipt',
      [receipt],
      body,
      withSignature('sig'),
      withSignature({ ...receipt.signature, alg: 'RS256' }),
      withSignature({ alg: 'EdDSA', value: receipt.signature.value }),
      withSignature({ ...receipt.signature, kid: '' }),
      withSignature({ ...receipt.signature, value: 42 }),
      withSignature({ ...receipt.signature, note: 'unsigned member' }),
      { ...receipt, when: () => 1 },
    ];
    for (const c of cases) {
      const check = verifyReceiptSignature(c, keys);
      assert.equal(check.ok ? 'ok' : check.problem, 'malformed', String(c));
    }
  });
});

describe('signAndHash', () => {
  it('gives the receipt signReceipt gives, and the hash receiptHash gives, from one serialization', () => {
    const key = generateSigningKey();
    for (const seq of [1, 2, 7]) {
      const body = receiptBody('s-hash', seq, seq === 1 ? null : hashOf({ seq }));
      const { receipt, hash } = signAndHash(body, key);
      assert.deepEqual(receipt, signReceipt(body, key));
      assert.equal(hash, receiptHash(receipt));
      assert.deepEqual(verifyReceiptSignature(receipt, keyMap(key)), { ok: true });
    }
  });
});
