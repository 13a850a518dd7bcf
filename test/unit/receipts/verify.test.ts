import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashOf } from '../../../services/decision/src/receipts/canonical.js';
import { generateSigningKey } from '../../../services/decision/src/receipts/keys.js';
import { receiptHash, signReceipt } from '../../../services/decision/src/receipts/sign.js';
import type { Receipt } from '../../../services/decision/src/receipts/types.js';
import { UnparsedReceipt, verifyReceipts } from '../../../services/decision/src/receipts/verify.js';
import { chain, edited, found, interleave, keyMap, receiptBody } from './fixtures.js';

const key = generateSigningKey();
const keys = keyMap(key);
const a = chain('s-a', 4, () => key);
const b = chain('s-b', 4, () => key);
/** Indices: 0 A1, 1 B1, 2 A2, 3 B2, 4 A3, 5 B3, 6 A4, 7 B4. */
const stream = interleave(a, b);

function without(receipts: Receipt[], ...indices: number[]): Receipt[] {
  return receipts.filter((_, i) => !indices.includes(i));
}

function replaced(receipts: unknown[], index: number, receipt: unknown): unknown[] {
  return receipts.map((r, i) => (i === index ? receipt : r));
}

function insertedAt(receipts: unknown[], index: number, receipt: unknown): unknown[] {
  return [...receipts.slice(0, index), receipt, ...receipts.slice(index)];
}

describe('verifyReceipts: intact input', () => {
  it('accepts two interleaved chains', () => {
    assert.deepEqual(verifyReceipts(stream, keys), { ok: true, receipts: 8, sessions: 2, problems: [] });
  });

  it('accepts sessions one after the other, and receipts of different sessions in any mutual order', () => {
    assert.equal(verifyReceipts([...b, ...a], keys).ok, true);
    assert.equal(verifyReceipts([a[0], a[1], b[0], a[2], b[1], b[2], b[3], a[3]], keys).ok, true);
  });

  it('is not ok without receipts', () => {
    assert.deepEqual(verifyReceipts([], keys), { ok: false, receipts: 0, sessions: 0, problems: [] });
  });
});

describe('verifyReceipts: altered', () => {
  const edits: [string, (r: Receipt) => void][] = [
    ['decision', (r) => (r.decision = 'ALLOW')],
    ['identity', (r) => (r.identity.human = 'mallory')],
    ['policy hash', (r) => (r.policy.hash = hashOf('other policy'))],
    ['parameters', (r) => (r.action.parameters = { path: '/etc/shadow' })],
    ['prev_hash', (r) => (r.prev_hash = hashOf('elsewhere'))],
    ['seq', (r) => (r.seq = 9)],
    ['session_id', (r) => (r.session_id = 's-b')],
    [
      'signature',
      (r) => (r.signature.value = `${r.signature.value.startsWith('A') ? 'B' : 'A'}${r.signature.value.slice(1)}`),
    ],
  ];
  for (const [what, edit] of edits) {
    it(`names only the receipt whose ${what} changed, not its successor`, () => {
      const report = verifyReceipts(replaced(stream, 2, edited(stream[2]!, edit)), keys);
      assert.deepEqual(found(report), [[2, 'altered']]);
      assert.equal(report.problems[0]?.receipt_id, 'rcpt_s-a_2');
      assert.equal(report.ok, false);
    });
  }

  it('names an altered first and an altered last receipt', () => {
    const first = edited(stream[0]!, (r) => (r.seq = 2));
    const last = edited(stream[7]!, (r) => (r.decision = 'ALLOW'));
    assert.deepEqual(found(verifyReceipts(replaced(replaced(stream, 0, first), 7, last), keys)), [
      [0, 'altered'],
      [7, 'altered'],
    ]);
  });

  it('names two altered receipts in a row', () => {
    const input = replaced(
      replaced(
        stream,
        2,
        edited(stream[2]!, (r) => (r.seq = 7)),
      ),
      4,
      edited(stream[4]!, (r) => (r.decision = 'DENY')),
    );
    assert.deepEqual(found(verifyReceipts(input, keys)), [
      [2, 'altered'],
      [4, 'altered'],
    ]);
  });
});

describe('verifyReceipts: dropped', () => {
  it('names the receipt after a dropped middle receipt and the missing seq', () => {
    const report = verifyReceipts(without(stream, 4), keys);
    assert.deepEqual(found(report), [[5, 'dropped']]);
    assert.equal(report.problems[0]?.receipt_id, 'rcpt_s-a_4');
    assert.match(report.problems[0]?.detail ?? '', /seq 3$/);
  });

  it('names a chain that does not start at seq 1', () => {
    const report = verifyReceipts(without(stream, 0), keys);
    assert.deepEqual(found(report), [[1, 'dropped']]);
    assert.equal(report.problems[0]?.receipt_id, 'rcpt_s-a_2');
    assert.match(report.problems[0]?.detail ?? '', /seq 1$/);
  });

  it('gives the range of several dropped receipts', () => {
    const report = verifyReceipts(without(stream, 2, 4), keys);
    assert.deepEqual(found(report), [[4, 'dropped']]);
    assert.match(report.problems[0]?.detail ?? '', /seq 2\.\.3$/);
  });
});

describe('verifyReceipts: reordered', () => {
  it('names the receipt that appears after one of higher seq', () => {
    const swapped = [stream[0], stream[1], stream[4], stream[3], stream[2], stream[5], stream[6], stream[7]];
    const report = verifyReceipts(swapped, keys);
    assert.deepEqual(found(report), [[4, 'reordered']]);
    assert.equal(report.problems[0]?.receipt_id, 'rcpt_s-a_2');
  });

  it('names each receipt moved behind a later one', () => {
    const moved = [a[3], a[0], a[1], a[2]];
    assert.deepEqual(found(verifyReceipts(moved, keys)), [
      [1, 'reordered'],
      [2, 'reordered'],
      [3, 'reordered'],
    ]);
  });

  it('reports a drop and a reordering together without more', () => {
    assert.deepEqual(found(verifyReceipts([a[0], a[3], a[1]], keys)), [
      [1, 'dropped'],
      [2, 'reordered'],
    ]);
  });
});

describe('verifyReceipts: inserted', () => {
  // A receipt of session B, moved to session A at a seq that A already has.
  const spliced = (r: Receipt): void => {
    r.session_id = 's-a';
    r.seq = 3;
  };

  it('names a receipt copied from another session, edited and re-signed with the same key', () => {
    const forged = signReceipt(edited(stream[3]!, spliced), key);
    const report = verifyReceipts(insertedAt(stream, 5, forged), keys);
    assert.deepEqual(found(report), [[5, 'inserted']]);
    assert.equal(report.problems[0]?.receipt_id, 'rcpt_s-b_2');
    assert.match(report.problems[0]?.detail ?? '', /claims seq 3 of session s-a/);
  });

  it('names the same copy when it was edited without re-signing', () => {
    const report = verifyReceipts(insertedAt(stream, 5, edited(stream[3]!, spliced)), keys);
    assert.deepEqual(found(report), [[5, 'inserted']]);
  });

  it('names the copy and not the original when the copy comes first', () => {
    const forged = signReceipt(edited(stream[3]!, spliced), key);
    assert.deepEqual(found(verifyReceipts(insertedAt(stream, 4, forged), keys)), [[4, 'inserted']]);
  });

  it('names a validly signed fork of a seq', () => {
    const fork = signReceipt({ ...receiptBody('s-a', 3, receiptHash(a[1]!)), decision: 'DENY' }, key);
    assert.deepEqual(found(verifyReceipts([...stream, fork], keys)), [[8, 'inserted']]);
  });

  it('names a validly signed receipt whose prev_hash does not link to its predecessor', () => {
    const foreign = signReceipt(receiptBody('s-a', 5, receiptHash(b[3]!)), key);
    const report = verifyReceipts([...stream, foreign], keys);
    assert.deepEqual(found(report), [[8, 'inserted']]);
    assert.match(report.problems[0]?.detail ?? '', /prev_hash does not match the hash of seq 4/);
  });

  it('names a seq 1 receipt with a prev_hash, and not its successor', () => {
    const first = signReceipt({ ...receiptBody('s-a', 1, hashOf('before')) }, key);
    assert.deepEqual(found(verifyReceipts(replaced(stream, 0, first), keys)), [[0, 'inserted']]);
  });

  it('names a receipt that replaced another one', () => {
    const substitute = signReceipt({ ...receiptBody('s-a', 2, hashOf('fork')), decision: 'ALLOW' }, key);
    assert.deepEqual(found(verifyReceipts(replaced(stream, 2, substitute), keys)), [[2, 'inserted']]);
  });
});

describe('verifyReceipts: duplicate', () => {
  it('names an exact copy appended at the end', () => {
    const report = verifyReceipts([...stream, structuredClone(stream[2]!)], keys);
    assert.deepEqual(found(report), [[8, 'duplicate']]);
    assert.match(report.problems[0]?.detail ?? '', /index 2/);
  });

  it('names an exact copy right after the original', () => {
    assert.deepEqual(found(verifyReceipts(insertedAt(stream, 3, stream[2]), keys)), [[3, 'duplicate']]);
  });
});

describe('verifyReceipts: keys', () => {
  it('names a receipt signed by a key that is not in the key set, and not its successor', () => {
    const stranger = generateSigningKey();
    const report = verifyReceipts(replaced(stream, 4, signReceipt(stream[4]!, stranger)), keys);
    assert.deepEqual(found(report), [[4, 'unknown_kid']]);
    assert.match(report.problems[0]?.detail ?? '', new RegExp(stranger.kid));
  });

  it('names every receipt when the whole stream is signed by an unknown key', () => {
    const report = verifyReceipts(stream, keyMap(generateSigningKey()));
    assert.deepEqual(
      found(report),
      stream.map((_, i) => [i, 'unknown_kid']),
    );
  });

  it('verifies a chain signed across a key rotation when both keys are listed', () => {
    const old = generateSigningKey();
    const rotated = chain('s-a', 4, (seq) => (seq <= 2 ? old : key));
    const input = interleave(rotated, b);
    assert.equal(verifyReceipts(input, keyMap(old, key)).ok, true);
    assert.deepEqual(found(verifyReceipts(input, keyMap(key))), [
      [0, 'unknown_kid'],
      [2, 'unknown_kid'],
    ]);
  });
});

describe('verifyReceipts: malformed', () => {
  it('names items that are not receipts and keeps reading', () => {
    const report = verifyReceipts([...stream, null, 'text', [1], new UnparsedReceipt('line 12 is not JSON')], keys);
    assert.deepEqual(found(report), [
      [8, 'malformed'],
      [9, 'malformed'],
      [10, 'malformed'],
      [11, 'malformed'],
    ]);
    assert.equal(report.problems[3]?.detail, 'line 12 is not JSON');
    assert.equal(report.sessions, 2);
  });

  it('keeps a receipt whose signature was removed in its place in the chain', () => {
    const { signature: _removed, ...unsigned } = stream[2]!;
    assert.deepEqual(found(verifyReceipts(replaced(stream, 2, unsigned), keys)), [[2, 'malformed']]);
  });

  it('cannot place an unreadable item, so its session shows a gap', () => {
    assert.deepEqual(found(verifyReceipts(replaced(stream, 2, 'garbage'), keys)), [
      [2, 'malformed'],
      [4, 'dropped'],
    ]);
  });

  it('names a validly signed receipt without usable chain fields', () => {
    const bad = signReceipt({ ...receiptBody('s-c', 1, null), seq: 0 }, key);
    const report = verifyReceipts([...stream, bad], keys);
    assert.deepEqual(found(report), [[8, 'malformed']]);
    assert.match(report.problems[0]?.detail ?? '', /seq is not a positive integer/);
  });
});

describe('verifyReceipts: several tamperings at once', () => {
  it('names each of them and nothing else', () => {
    const input = [
      stream[0], // 0 A1
      stream[1], // 1 B1
      edited(stream[3]!, (r) => (r.decision = 'ALLOW')), // 2 B2 altered
      stream[2], // 3 A2
      stream[5], // 4 B3
      stream[6], // 5 A4, after the dropped A3
      stream[7], // 6 B4
      stream[5], // 7 B3 again
    ];
    const report = verifyReceipts(input, keys);
    assert.deepEqual(found(report), [
      [2, 'altered'],
      [5, 'dropped'],
      [7, 'duplicate'],
    ]);
    assert.deepEqual(
      report.problems.map((p) => [p.receipt_id, p.session_id]),
      [
        ['rcpt_s-b_2', 's-b'],
        ['rcpt_s-a_4', 's-a'],
        ['rcpt_s-b_3', 's-b'],
      ],
    );
  });
});
