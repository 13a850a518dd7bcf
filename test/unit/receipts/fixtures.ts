/** Real signed receipt chains for the receipts tests. */
import type { KeyObject } from 'node:crypto';
import { hashOf } from '../../../services/decision/src/receipts/canonical.js';
import { publicJwk, type Jwks, type SigningKey } from '../../../services/decision/src/receipts/keys.js';
import { receiptHash, signReceipt } from '../../../services/decision/src/receipts/sign.js';
import type { Receipt, ReceiptBody } from '../../../services/decision/src/receipts/types.js';
import type { VerifyReport } from '../../../services/decision/src/receipts/verify.js';

export function receiptBody(session: string, seq: number, prevHash: string | null): ReceiptBody {
  const parameters = { path: `/tmp/${session}/${seq}`, api_key: hashOf('k') };
  return {
    version: '1',
    receipt_id: `rcpt_${session}_${seq}`,
    decision_id: `rcpt_${session}_${seq}`,
    labels: { id: 'test', version: '0' },
    path: 'aarm/decision',
    kind: 'decision',
    session_id: session,
    tenant: 'default',
    seq,
    prev_hash: prevHash,
    timestamp: `2025-01-01T00:00:0${seq % 10}.000Z`,
    action: {
      id: `act-${seq}`,
      tool: 'fs',
      operation: 'read',
      target: 'file',
      parameters_hash: hashOf(parameters),
      parameters,
    },
    identity: { agent: 'agent-1', human: 'alice', verified: false, method: 'none' },
    context_hash: hashOf({ seq }),
    decision: seq % 2 === 0 ? 'DENY' : 'ALLOW',
    reasons: [{ policy_id: 'p1', reason: 'because' }],
    policy: { revision: 'r1', hash: hashOf('policy'), path: 'arbiter/decision' },
  };
}

/** A session's chain of `length` receipts; `keyFor(seq)` picks the signing key (for rotation). */
export function chain(session: string, length: number, keyFor: (seq: number) => SigningKey): Receipt[] {
  const receipts: Receipt[] = [];
  for (let seq = 1; seq <= length; seq += 1) {
    const before = receipts.at(-1);
    receipts.push(signReceipt(receiptBody(session, seq, before ? receiptHash(before) : null), keyFor(seq)));
  }
  return receipts;
}

/** a[0], b[0], a[1], b[1], … */
export function interleave(a: Receipt[], b: Receipt[]): Receipt[] {
  return a.flatMap((r, i) => (b[i] ? [r, b[i]] : [r]));
}

export function jwksOf(...keys: SigningKey[]): Jwks {
  return { keys: keys.map((k) => publicJwk(k.publicKey)) };
}

export function keyMap(...keys: SigningKey[]): Map<string, KeyObject> {
  return new Map(keys.map((k) => [k.kid, k.publicKey]));
}

/** A deep copy with `edit` applied, as an attacker editing the JSON would produce. */
export function edited(receipt: Receipt, edit: (r: Receipt) => void): Receipt {
  const copy = structuredClone(receipt);
  edit(copy);
  return copy;
}

/** [index, kind] of each problem, the shape the verify tests assert on. */
export function found(report: VerifyReport): [number, string][] {
  return report.problems.map((p) => [p.index, p.kind]);
}
