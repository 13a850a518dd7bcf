/**
 * Offline verification of a stream of receipts (several sessions may be interleaved):
 * signatures, and per session the chain seq 1, 2, … with prev_hash = hash of the previous.
 * Every receipt that was altered, dropped, reordered, inserted or duplicated is named,
 * without the follow-on noise one tampering would otherwise cause in its neighbours.
 */
import type { KeyObject } from 'node:crypto';
import { hashOf } from './canonical.js';
import { errorMessage } from '../errors.js';
import { isRecord } from './guards.js';
import { verifyReceiptSignature } from './sign.js';

export type VerifyProblemKind =
  'malformed' | 'unknown_kid' | 'altered' | 'dropped' | 'reordered' | 'inserted' | 'duplicate' | 'checkpoint';

export interface VerifyProblem {
  /** 0-based position in the input. */
  index: number;
  receipt_id: string | null;
  session_id: string | null;
  kind: VerifyProblemKind;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  receipts: number;
  sessions: number;
  problems: VerifyProblem[];
}

/** An input item that could not even be parsed (e.g. a JSON-lines line that is not JSON). */
export class UnparsedReceipt {
  constructor(readonly detail: string) {}
}

/** Where a receipt sits in its session's chain. */
interface ChainPosition {
  session: string;
  seq: number;
  prevHash: string | null;
}

interface Distrust {
  kind: 'malformed' | 'altered' | 'unknown_kid';
  detail: string;
}

interface EntryBase {
  index: number;
  receiptId: string | null;
  sessionId: string | null;
  hash: string;
  prevHashField: unknown;
}

/** A receipt whose signature verifies has usable chain fields, or it is reported malformed. */
type Entry =
  | (EntryBase & { distrust: null; claimed: ChainPosition })
  | (EntryBase & { distrust: Distrust; claimed: ChainPosition | null });

interface Member {
  entry: Entry;
  at: ChainPosition;
}

export function verifyReceipts(receipts: unknown[], keys: Map<string, KeyObject>): VerifyReport {
  const problems: VerifyProblem[] = [];
  const entries: Entry[] = [];
  const byHash = new Map<string, Entry>();
  receipts.forEach((raw, index) => {
    const read = readEntry(raw, index, keys);
    if ('kind' in read) {
      problems.push(read);
      return;
    }
    const original = byHash.get(read.hash);
    if (original !== undefined) {
      problems.push(problem(read, 'duplicate', `exact copy of the receipt at index ${original.index}`));
      return;
    }
    byHash.set(read.hash, read);
    entries.push(read);
  });

  const sessions = new Map<string, Member[]>();
  for (const entry of entries) {
    const at = position(entry, byHash);
    if ('kind' in at) {
      problems.push(problem(entry, at.kind, `${at.detail}; its session and seq are unusable`));
      continue;
    }
    const members = sessions.get(at.session) ?? [];
    members.push({ entry, at });
    sessions.set(at.session, members);
  }
  for (const members of sessions.values()) problems.push(...checkChain(members));

  problems.sort((a, b) => a.index - b.index);
  return {
    ok: problems.length === 0 && receipts.length > 0,
    receipts: receipts.length,
    sessions: sessions.size,
    problems,
  };
}

/**
 * A receipt that is a JSON object keeps its place in the chain even when its signature is
 * missing or fails, so that its neighbours are not reported for its sake.
 */
function readEntry(raw: unknown, index: number, keys: Map<string, KeyObject>): Entry | VerifyProblem {
  const ids = { receipt_id: stringField(raw, 'receipt_id'), session_id: stringField(raw, 'session_id') };
  const malformed = (detail: string): VerifyProblem => ({ index, ...ids, kind: 'malformed', detail });
  if (raw instanceof UnparsedReceipt) return malformed(raw.detail);
  if (!isRecord(raw)) return malformed('receipt is not a JSON object');
  let hash: string;
  try {
    hash = hashOf(raw);
  } catch (err) {
    return malformed(`receipt is not JSON data: ${errorMessage(err)}`);
  }
  const base = { index, receiptId: ids.receipt_id, sessionId: ids.session_id, hash, prevHashField: raw.prev_hash };
  const check = verifyReceiptSignature(raw, keys);
  const claimed = readChainPosition(raw);
  if (check.ok) {
    return typeof claimed === 'string'
      ? malformed(`validly signed, but ${claimed}`)
      : { ...base, distrust: null, claimed };
  }
  const kind = check.problem === 'bad_signature' ? 'altered' : check.problem;
  return { ...base, distrust: { kind, detail: check.detail }, claimed: typeof claimed === 'string' ? null : claimed };
}

function readChainPosition(receipt: Record<string, unknown>): ChainPosition | string {
  const { receipt_id, session_id, seq, prev_hash } = receipt;
  if (typeof receipt_id !== 'string' || receipt_id === '') return 'receipt_id is not a non-empty string';
  if (typeof session_id !== 'string' || session_id === '') return 'session_id is not a non-empty string';
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return 'seq is not a positive integer';
  if (prev_hash !== null && typeof prev_hash !== 'string') return 'prev_hash is neither a string nor null';
  return { session: session_id, seq, prevHash: prev_hash };
}

/**
 * A verified receipt sits where it says. The chain fields of one whose signature fails are
 * themselves suspect (seq or session_id may be what was altered), so its prev_hash, when it
 * names a verified receipt, places it more reliably than its own claims.
 */
function position(entry: Entry, byHash: Map<string, Entry>): ChainPosition | Distrust {
  if (entry.distrust === null) return entry.claimed;
  const { prevHashField } = entry;
  const predecessor = typeof prevHashField === 'string' ? byHash.get(prevHashField) : undefined;
  if (typeof prevHashField === 'string' && predecessor?.distrust === null) {
    return { session: predecessor.claimed.session, seq: predecessor.claimed.seq + 1, prevHash: prevHashField };
  }
  if (prevHashField === null && entry.sessionId !== null) return { session: entry.sessionId, seq: 1, prevHash: null };
  return entry.claimed ?? entry.distrust;
}

/** The problems of one session's receipts (in input order). */
function checkChain(members: Member[]): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const bySeq = new Map<number, Member[]>();
  for (const m of members) bySeq.set(m.at.seq, [...(bySeq.get(m.at.seq) ?? []), m]);

  const chain: Member[] = [];
  // Chain members already reported: their successors' links are not checked against them.
  const reported = new Set<Member>();
  for (const seq of [...bySeq.keys()].sort((a, b) => a - b)) {
    const before = chain.at(-1);
    const expected = before === undefined ? 1 : before.at.seq + 1;
    const candidates = bySeq.get(seq) ?? [];
    const member = pickMember(candidates, seq === expected ? before : undefined, bySeq.get(seq + 1) ?? []);
    for (const other of candidates) {
      if (other !== member) problems.push(problem(other.entry, 'inserted', seqTakenDetail(other, member)));
    }
    if (member.entry.distrust !== null) {
      problems.push(problem(member.entry, member.entry.distrust.kind, member.entry.distrust.detail));
      reported.add(member);
    }
    if (seq > expected) {
      problems.push(problem(member.entry, 'dropped', `missing before seq ${seq}: ${seqRange(expected, seq - 1)}`));
    } else if (member.entry.distrust === null) {
      const broken = brokenLink(member, before, reported);
      if (broken !== null) {
        problems.push(problem(member.entry, 'inserted', broken));
        reported.add(member);
      }
    }
    chain.push(member);
  }
  return [...problems, ...reorderings(chain)];
}

/**
 * Of several receipts claiming one seq, the chain member is the one that links to its
 * neighbours; then a verified one over an unverified one; then the first in the input.
 */
function pickMember(candidates: Member[], before: Member | undefined, after: Member[]): Member {
  const links = (m: Member): number =>
    Number(before === undefined ? m.at.seq === 1 && m.at.prevHash === null : m.at.prevHash === before.entry.hash) +
    Number(after.some((next) => next.at.prevHash === m.entry.hash));
  const rank = (m: Member): number[] => [links(m), m.entry.distrust === null ? 1 : 0, -m.entry.index];
  return candidates.reduce((best, m) => (isGreater(rank(m), rank(best)) ? m : best));
}

function isGreater(a: number[], b: number[]): boolean {
  const i = a.findIndex((value, k) => value !== b[k]);
  return i >= 0 && (a[i] ?? 0) > (b[i] ?? 0);
}

/** Why a verified receipt does not link to the chain member before it, or null. */
function brokenLink(member: Member, before: Member | undefined, reported: Set<Member>): string | null {
  if (before === undefined) {
    return member.at.prevHash === null ? null : 'seq 1 must have prev_hash null';
  }
  if (reported.has(before) || member.at.prevHash === before.entry.hash) return null;
  return `prev_hash does not match the hash of seq ${before.at.seq} (${describe(before)})`;
}

/** Chain members that appear in the input after a member of higher seq. */
function reorderings(chain: Member[]): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  let highest: Member | undefined;
  for (const m of [...chain].sort((a, b) => a.entry.index - b.entry.index)) {
    if (highest !== undefined && m.at.seq < highest.at.seq) {
      problems.push(
        problem(m.entry, 'reordered', `seq ${m.at.seq} appears after seq ${highest.at.seq} (${describe(highest)})`),
      );
    } else {
      highest = m;
    }
  }
  return problems;
}

function seqTakenDetail(other: Member, member: Member): string {
  const taken = `claims seq ${other.at.seq} of session ${other.at.session}, held by ${describe(member)}`;
  return other.entry.distrust === null ? taken : `${taken}; also: ${other.entry.distrust.detail}`;
}

function describe(m: Member): string {
  return `receipt ${m.entry.receiptId ?? '?'} at index ${m.entry.index}`;
}

function seqRange(from: number, to: number): string {
  return from === to ? `seq ${from}` : `seq ${from}..${to}`;
}

function problem(entry: Entry, kind: VerifyProblemKind, detail: string): VerifyProblem {
  return { index: entry.index, receipt_id: entry.receiptId, session_id: entry.sessionId, kind, detail };
}

function stringField(raw: unknown, name: string): string | null {
  const value = isRecord(raw) ? raw[name] : undefined;
  return typeof value === 'string' ? value : null;
}
