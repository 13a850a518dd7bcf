import assert from 'node:assert/strict';
import { createHash, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalize, hashOf } from '../../services/decision/src/receipts/canonical.js';
import {
  buildCheckpoint,
  checkpointCovers,
  checkpointHash,
  merkleRoot,
  verifyCheckpoint,
  type Checkpoint,
} from '../../services/decision/src/receipts/checkpoint.js';
import { generateSigningKey } from '../../services/decision/src/receipts/keys.js';
import { receiptHash } from '../../services/decision/src/receipts/sign.js';
import { chain, interleave, keyMap } from './receipts/fixtures.js';

const key = generateSigningKey();
const keys = keyMap(key);

/** Written out independently of the implementation: RFC 6962 leaf and node hashes. */
function leaf(hash: string): Buffer {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from([0]), Buffer.from(hash, 'utf8')]))
    .digest();
}
function node(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from([1]), left, right]))
    .digest();
}
const root = (d: Buffer): string => `sha256:${d.toString('hex')}`;

const h = ['a', 'b', 'c', 'd', 'e'].map((x) => hashOf(x));
const [a, b, c, d, e] = h.map(leaf) as [Buffer, Buffer, Buffer, Buffer, Buffer];

describe('merkleRoot', () => {
  it('is the leaf hash for one leaf (not the receipt hash itself)', () => {
    assert.equal(merkleRoot([h[0]!]), root(a));
    assert.notEqual(merkleRoot([h[0]!]), h[0]);
  });

  it('hashes two leaves as one node', () => {
    assert.equal(merkleRoot(h.slice(0, 2)), root(node(a, b)));
  });

  it('promotes the unpaired third leaf: node(node(a, b), c)', () => {
    assert.equal(merkleRoot(h.slice(0, 3)), root(node(node(a, b), c)));
    // Not Bitcoin's duplication of the last node.
    assert.notEqual(merkleRoot(h.slice(0, 3)), root(node(node(a, b), node(c, c))));
  });

  it('splits five leaves at four: node(node(node(a, b), node(c, d)), e)', () => {
    assert.equal(merkleRoot(h), root(node(node(node(a, b), node(c, d)), e)));
  });

  it('depends on the order of the hashes and is SHA-256 of nothing for no leaves', () => {
    assert.notEqual(merkleRoot([h[1]!, h[0]!]), merkleRoot([h[0]!, h[1]!]));
    assert.equal(merkleRoot([]), `sha256:${createHash('sha256').digest('hex')}`);
  });
});

describe('buildCheckpoint', () => {
  const s1 = chain('s-1', 3, () => key);
  const s2 = chain('s-2', 2, () => key);
  const batch = interleave(s1, s2); // s-1/1, s-2/1, s-1/2, s-2/2, s-1/3
  const checkpoint = buildCheckpoint(
    { receipts: batch, producer: 'replica-a', sequence: 1, prevHash: null, timestamp: '2025-01-01T00:00:00.000Z' },
    key,
  );

  it('commits to the count, the Merkle root over receipt hashes in batch order and the heads', () => {
    assert.equal(checkpoint.version, '1');
    assert.equal(checkpoint.kind, 'checkpoint');
    assert.match(checkpoint.checkpoint_id, /^ckpt_[0-9a-f]{32}$/);
    assert.equal(checkpoint.producer, 'replica-a');
    assert.equal(checkpoint.sequence, 1);
    assert.equal(checkpoint.prev_hash, null);
    assert.equal(checkpoint.count, 5);
    const leaves = batch.map((r) => leaf(receiptHash(r)));
    const [l0, l1, l2, l3, l4] = leaves as [Buffer, Buffer, Buffer, Buffer, Buffer];
    assert.equal(checkpoint.merkle_root, root(node(node(node(l0, l1), node(l2, l3)), l4)));
    assert.deepEqual(checkpoint.heads, [
      { session_id: 's-1', tenant: 'default', seq: 3, hash: receiptHash(s1[2]!) },
      { session_id: 's-2', tenant: 'default', seq: 2, hash: receiptHash(s2[1]!) },
    ]);
  });

  it('takes the highest seq as the head whatever the order in the batch', () => {
    const reversed = buildCheckpoint(
      {
        receipts: [...s1].reverse(),
        producer: 'p',
        sequence: 1,
        prevHash: null,
        timestamp: '2025-01-01T00:00:00.000Z',
      },
      key,
    );
    assert.deepEqual(reversed.heads, [{ session_id: 's-1', tenant: 'default', seq: 3, hash: receiptHash(s1[2]!) }]);
  });

  it('is signed: verifyCheckpoint accepts it, also after a JSON round trip', () => {
    assert.deepEqual(verifyCheckpoint(checkpoint, keys), { ok: true });
    assert.deepEqual(verifyCheckpoint(JSON.parse(JSON.stringify(checkpoint)), keys), { ok: true });
    assert.equal(checkpoint.signature.alg, 'EdDSA');
    assert.equal(checkpoint.signature.kid, key.kid);
  });

  it('covers exactly its batch', () => {
    assert.deepEqual(checkpointCovers(checkpoint, batch), { ok: true });
    assert.equal(checkpointCovers(checkpoint, batch.slice(0, 4)).ok, false); // tail dropped
    assert.equal(
      checkpointCovers(
        checkpoint,
        batch.filter((r) => r.session_id !== 's-2'),
      ).ok,
      false,
    );
    assert.equal(checkpointCovers(checkpoint, [batch[1]!, batch[0]!, ...batch.slice(2)]).ok, false);
  });

  it('rejects tampering with heads, root, count or the chain link', () => {
    const edits: ((c: Checkpoint) => void)[] = [
      (c) => {
        c.heads[0]!.seq = 2;
      },
      (c) => {
        c.heads[0]!.hash = receiptHash(s1[1]!);
      },
      (c) => {
        c.heads.pop();
      },
      (c) => {
        c.merkle_root = merkleRoot([receiptHash(batch[0]!)]);
      },
      (c) => {
        c.count = 4;
      },
      (c) => {
        c.producer = 'replica-b';
      },
      (c) => {
        c.sequence = 2;
        c.prev_hash = hashOf('x');
      },
      (c) => {
        c.timestamp = '2025-01-02T00:00:00.000Z';
      },
    ];
    for (const edit of edits) {
      const copy = structuredClone(checkpoint);
      edit(copy);
      const check = verifyCheckpoint(copy, keys);
      assert.equal(check.ok, false, `accepted after ${edit.toString()}`);
    }
  });

  it('rejects an unknown kid, a non-canonical signature and malformed input', () => {
    assert.equal(verifyCheckpoint(checkpoint, keyMap(generateSigningKey())).ok, false);
    const noncanonical = structuredClone(checkpoint);
    noncanonical.signature.value = `${noncanonical.signature.value}=`;
    assert.equal(verifyCheckpoint(noncanonical, keys).ok, false);
    const extra = { ...structuredClone(checkpoint), note: 'unsigned' };
    assert.equal(verifyCheckpoint(extra, keys).ok, false);
    assert.equal(verifyCheckpoint(null, keys).ok, false);
    assert.equal(verifyCheckpoint([], keys).ok, false);
    const { signature: _s, ...unsigned } = checkpoint;
    assert.equal(verifyCheckpoint(unsigned, keys).ok, false);
  });

  it('signs the canonical form without the signature, under the key kid', () => {
    const { signature, ...body } = checkpoint;
    const signed = Buffer.from(canonicalize(body), 'utf8');
    assert.ok(verify(null, signed, key.publicKey, Buffer.from(signature.value, 'base64url')));
    const other = buildCheckpoint(
      { receipts: batch, producer: 'replica-a', sequence: 1, prevHash: null, timestamp: '2025-01-01T00:00:00.000Z' },
      key,
    );
    // Random ids make two checkpoints of one batch distinct, but equal in what they commit to.
    assert.notEqual(other.checkpoint_id, checkpoint.checkpoint_id);
    assert.equal(other.merkle_root, checkpoint.merkle_root);
    assert.deepEqual(other.heads, checkpoint.heads);
  });
});

describe('checkpoint chains', () => {
  it('links the second checkpoint of a producer to the first by prev_hash', () => {
    const receipts = chain('s-9', 4, () => key);
    const first = buildCheckpoint(
      {
        receipts: receipts.slice(0, 2),
        producer: 'p',
        sequence: 1,
        prevHash: null,
        timestamp: '2025-01-01T00:00:00.000Z',
      },
      key,
    );
    const second = buildCheckpoint(
      {
        receipts: receipts.slice(2),
        producer: 'p',
        sequence: 2,
        prevHash: checkpointHash(first),
        timestamp: '2025-01-01T00:00:01.000Z',
      },
      key,
    );
    assert.equal(second.prev_hash, checkpointHash(first));
    assert.equal(checkpointHash(first), `sha256:${createHash('sha256').update(canonicalize(first)).digest('hex')}`);
    assert.deepEqual(verifyCheckpoint(second, keys), { ok: true });
    // Any change to the first checkpoint (even of its signature) breaks the link.
    const altered = structuredClone(first);
    altered.count = 3;
    assert.notEqual(checkpointHash(altered), second.prev_hash);
    // The heads of consecutive checkpoints show how far the session got.
    assert.equal(first.heads[0]!.seq, 2);
    assert.equal(second.heads[0]!.seq, 4);
  });

  it('refuses inconsistent sequence and prev_hash at build time', () => {
    const receipts = chain('s-9', 1, () => key);
    const ts = '2025-01-01T00:00:00.000Z';
    assert.throws(() => buildCheckpoint({ receipts, producer: 'p', sequence: 2, prevHash: null, timestamp: ts }, key));
    assert.throws(() =>
      buildCheckpoint({ receipts, producer: 'p', sequence: 1, prevHash: hashOf('x'), timestamp: ts }, key),
    );
    assert.throws(() => buildCheckpoint({ receipts, producer: 'p', sequence: 0, prevHash: null, timestamp: ts }, key));
  });
});
