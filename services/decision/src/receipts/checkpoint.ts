/**
 * Signed checkpoints over exported batches of receipts, so that deleting whole sessions, or
 * the tail of a session, is detectable offline. A session's own chain (seq, prev_hash) shows
 * a receipt missing from its middle, but not one missing from its end, nor a session that is
 * gone entirely; a checkpoint closes that gap:
 *
 * - Each exporter (a "producer", the replica's outbox consumer name) signs one checkpoint per
 *   batch it exports, in the same OTLP request as the batch.
 * - `count` and `merkle_root` commit to exactly the receipts of the batch, in batch order.
 * - `heads` names, for each session in the batch, its last receipt in the batch (highest
 *   seq) and that receipt's hash: a verifier holding the receipts sees that every session
 *   it was told about is present and reaches at least that far.
 * - Checkpoints of one producer form their own chain: `sequence` 1, 2, … and `prev_hash` =
 *   checkpointHash() of the producer's previous checkpoint (null for the first), so deleting
 *   a checkpoint (and with it the knowledge of its batch) breaks the chain.
 *
 * The sequence and prev_hash of a producer live in the exporter's memory: after a restart the
 * producer begins a new chain at sequence 1 with prev_hash null. A verifier therefore sees
 * one chain per producer run; the tail of a run that ended in a crash is not covered by a
 * later checkpoint of the same chain.
 *
 * Merkle tree (RFC 6962 §2.1, with SHA-256):
 *   leaf i      = SHA-256(0x00 || UTF-8 bytes of the i-th receipt's receiptHash() string,
 *                 i.e. the full text "sha256:<64 lowercase hex>")
 *   inner node  = SHA-256(0x01 || left || right), left and right being the raw 32-byte
 *                 digests of the children (not their hex)
 *   MTH(D[n])   = for n > 1: node(MTH(D[0:k]), MTH(D[k:n])) with k the largest power of two
 *                 smaller than n; for n = 1: the leaf; for n = 0: SHA-256 of the empty string.
 * Built bottom-up this is the same as pairing neighbours level by level, left to right, and
 * promoting an unpaired last node unchanged to the next level (it is never duplicated, unlike
 * Bitcoin's tree). merkle_root is "sha256:" + hex of MTH over all receipts of the batch.
 *
 * The signature is Ed25519 (alg "EdDSA") with the receipt signing key, over RFC 8785
 * canonical JSON of the checkpoint without `signature`, exactly as receipts are signed.
 */
import { createHash, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalize, hashOf } from './canonical.js';
import { errorMessage } from '../errors.js';
import { isRecord } from './guards.js';
import type { SigningKey } from './keys.js';
import { receiptHash } from './sign.js';
import type { Receipt, ReceiptSignature } from './types.js';

export interface CheckpointHead {
  session_id: string;
  tenant: string;
  /** The highest seq of the session in the batch. */
  seq: number;
  /** receiptHash() of that receipt. */
  hash: string;
}

export interface CheckpointBody {
  version: '1';
  kind: 'checkpoint';
  checkpoint_id: string;
  /** The replica / exporter that exported the batch (its outbox consumer name). */
  producer: string;
  /** 1 for the producer's first checkpoint (of this run), then +1 per checkpoint. */
  sequence: number;
  /** checkpointHash() of the producer's previous checkpoint; null when sequence is 1. */
  prev_hash: string | null;
  /** RFC 3339 with milliseconds, UTC. */
  timestamp: string;
  /** Number of receipts in the batch. */
  count: number;
  /** "sha256:<hex>": RFC 6962 Merkle tree hash over the receipts' hashes, in batch order. */
  merkle_root: string;
  /** One per (tenant, session_id) in the batch, sorted by tenant, then session_id. */
  heads: CheckpointHead[];
}

export type Checkpoint = CheckpointBody & { signature: ReceiptSignature };

export interface BuildCheckpointArgs {
  receipts: Receipt[];
  producer: string;
  sequence: number;
  prevHash: string | null;
  timestamp: string;
}

export type CheckpointCheck = { ok: true } | { ok: false; detail: string };

const HASH = /^sha256:[0-9a-f]{64}$/;
/** An Ed25519 signature is 64 bytes: 86 base64url characters without padding. */
const SIGNATURE_VALUE = /^[A-Za-z0-9_-]{86}$/;
const BODY_MEMBERS = [
  'version',
  'kind',
  'checkpoint_id',
  'producer',
  'sequence',
  'prev_hash',
  'timestamp',
  'count',
  'merkle_root',
  'heads',
] as const;
const HEAD_MEMBERS = ['session_id', 'tenant', 'seq', 'hash'] as const;

export function buildCheckpoint(args: BuildCheckpointArgs, key: SigningKey): Checkpoint {
  if (!Number.isSafeInteger(args.sequence) || args.sequence < 1) {
    throw new TypeError(`checkpoint sequence must be an integer >= 1, not ${args.sequence}`);
  }
  if ((args.sequence === 1) !== (args.prevHash === null)) {
    throw new TypeError('checkpoint prev_hash must be null exactly when sequence is 1');
  }
  const hashes = args.receipts.map((r) => receiptHash(r));
  const body: CheckpointBody = {
    version: '1',
    kind: 'checkpoint',
    checkpoint_id: `ckpt_${randomBytes(16).toString('hex')}`,
    producer: args.producer,
    sequence: args.sequence,
    prev_hash: args.prevHash,
    timestamp: args.timestamp,
    count: args.receipts.length,
    merkle_root: merkleRoot(hashes),
    heads: headsOf(args.receipts, hashes),
  };
  const value = sign(null, Buffer.from(canonicalize(body), 'utf8'), key.privateKey);
  return { ...body, signature: { alg: 'EdDSA', kid: key.kid, value: value.toString('base64url') } };
}

/** "sha256:<hex>" of the canonical checkpoint including its signature: what prev_hash links to. */
export function checkpointHash(checkpoint: Checkpoint): string {
  return hashOf(checkpoint);
}

/** RFC 6962 Merkle tree hash over the given "sha256:<hex>" strings (see the file comment). */
export function merkleRoot(hashes: string[]): string {
  const leaves = hashes.map((h) => digest(Buffer.from([0x00]), Buffer.from(h, 'utf8')));
  return `sha256:${treeHash(leaves).toString('hex')}`;
}

/**
 * Structure and signature of a checkpoint. It does not see the receipts: whether a batch of
 * receipts matches a checkpoint is checkpointCovers().
 */
export function verifyCheckpoint(checkpoint: unknown, keys: Map<string, KeyObject>): CheckpointCheck {
  if (!isRecord(checkpoint)) return fail('checkpoint is not a JSON object');
  const { signature, ...body } = checkpoint;
  const problem = bodyProblem(body);
  if (problem !== null) return fail(problem);
  if (!isRecord(signature)) return fail('checkpoint has no "signature" object');
  const extra = Object.keys(signature).filter((k) => k !== 'alg' && k !== 'kid' && k !== 'value');
  if (extra.length > 0) return fail(`signature has unexpected members: ${extra.join(', ')}`);
  const { alg, kid, value } = signature;
  if (alg !== 'EdDSA') return fail(`signature alg must be "EdDSA", not ${JSON.stringify(alg) ?? 'missing'}`);
  if (typeof kid !== 'string' || kid === '') return fail('signature kid must be a non-empty string');
  if (typeof value !== 'string') return fail('signature value must be a string');
  const key = keys.get(kid);
  if (key === undefined) return fail(`signed with kid "${kid}", which is not in the key set`);
  const bytes = Buffer.from(value, 'base64url');
  if (!SIGNATURE_VALUE.test(value) || bytes.toString('base64url') !== value) {
    return fail('signature value is not 64 bytes in base64url');
  }
  let signed: Buffer;
  try {
    signed = Buffer.from(canonicalize(body), 'utf8');
  } catch (err) {
    return fail(`checkpoint is not JSON data: ${errorMessage(err)}`);
  }
  try {
    if (!verify(null, signed, key, bytes)) {
      return fail('signature does not match the content: the checkpoint was changed after signing');
    }
  } catch (err) {
    return fail(`signature cannot be checked with key "${kid}": ${errorMessage(err)}`);
  }
  return { ok: true };
}

/**
 * Whether `receipts` (in export order) are exactly the batch a checkpoint commits to: count,
 * Merkle root and heads. Call verifyCheckpoint() first: this trusts the checkpoint.
 */
export function checkpointCovers(checkpoint: CheckpointBody, receipts: Receipt[]): CheckpointCheck {
  if (receipts.length !== checkpoint.count) {
    return fail(`checkpoint counts ${checkpoint.count} receipts, the batch has ${receipts.length}`);
  }
  const hashes = receipts.map((r) => receiptHash(r));
  const root = merkleRoot(hashes);
  if (root !== checkpoint.merkle_root) {
    return fail('the receipts do not hash to the checkpoint merkle_root: one was changed, dropped, added or reordered');
  }
  const heads = headsOf(receipts, hashes);
  if (canonicalize(heads) !== canonicalize(checkpoint.heads)) {
    return fail('the heads of the receipts differ from the checkpoint heads');
  }
  return { ok: true };
}

function headsOf(receipts: Receipt[], hashes: string[]): CheckpointHead[] {
  const heads = new Map<string, CheckpointHead>();
  receipts.forEach((r, i) => {
    const id = `${r.tenant}\0${r.session_id}`;
    const known = heads.get(id);
    if (known === undefined || r.seq > known.seq) {
      heads.set(id, { session_id: r.session_id, tenant: r.tenant, seq: r.seq, hash: hashes[i] as string });
    }
  });
  return [...heads.values()].sort((a, b) => compare(a.tenant, b.tenant) || compare(a.session_id, b.session_id));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function treeHash(nodes: Buffer[]): Buffer {
  if (nodes.length === 0) return digest();
  if (nodes.length === 1) return nodes[0] as Buffer;
  let k = 1;
  while (k * 2 < nodes.length) k *= 2;
  return digest(Buffer.from([0x01]), treeHash(nodes.slice(0, k)), treeHash(nodes.slice(k)));
}

function digest(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function bodyProblem(body: Record<string, unknown>): string | null {
  const extra = Object.keys(body).filter((k) => !(BODY_MEMBERS as readonly string[]).includes(k));
  if (extra.length > 0) return `checkpoint has unexpected members: ${extra.join(', ')}`;
  if (body.version !== '1') return 'checkpoint version must be "1"';
  if (body.kind !== 'checkpoint') return 'checkpoint kind must be "checkpoint"';
  if (!nonEmptyString(body.checkpoint_id)) return 'checkpoint_id must be a non-empty string';
  if (!nonEmptyString(body.producer)) return 'producer must be a non-empty string';
  if (!positiveInteger(body.sequence)) return 'sequence must be an integer >= 1';
  if (body.prev_hash !== null && !isHash(body.prev_hash)) return 'prev_hash must be null or "sha256:<hex>"';
  if ((body.sequence === 1) !== (body.prev_hash === null)) return 'prev_hash must be null exactly when sequence is 1';
  if (typeof body.timestamp !== 'string' || Number.isNaN(Date.parse(body.timestamp))) {
    return 'timestamp must be an RFC 3339 date-time';
  }
  if (!Number.isSafeInteger(body.count) || (body.count as number) < 0) return 'count must be an integer >= 0';
  if (!isHash(body.merkle_root)) return 'merkle_root must be "sha256:<hex>"';
  if (!Array.isArray(body.heads)) return 'heads must be an array';
  if (body.heads.length > (body.count as number)) return 'heads name more sessions than the batch has receipts';
  const seen = new Set<string>();
  for (const [i, head] of body.heads.entries()) {
    if (!isRecord(head)) return `heads[${i}] is not an object`;
    const extraHead = Object.keys(head).filter((k) => !(HEAD_MEMBERS as readonly string[]).includes(k));
    if (extraHead.length > 0) return `heads[${i}] has unexpected members: ${extraHead.join(', ')}`;
    if (typeof head.session_id !== 'string' || typeof head.tenant !== 'string') {
      return `heads[${i}] session_id and tenant must be strings`;
    }
    if (!positiveInteger(head.seq)) return `heads[${i}].seq must be an integer >= 1`;
    if (!isHash(head.hash)) return `heads[${i}].hash must be "sha256:<hex>"`;
    const id = `${head.tenant}\0${head.session_id}`;
    if (seen.has(id)) return `heads[${i}] repeats session "${head.session_id}"`;
    seen.add(id);
  }
  return null;
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

function positiveInteger(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 1;
}

function isHash(v: unknown): v is string {
  return typeof v === 'string' && HASH.test(v);
}

function fail(detail: string): CheckpointCheck {
  return { ok: false, detail };
}
