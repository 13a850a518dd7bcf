/**
 * The fields every receipt starts with, whatever its kind: identity of the record, its
 * place in the session's chain, and the OPA decision-log fields that let tools built for
 * OPA's decision logs read it.
 */
import { ENTRYPOINT } from '../policy/compile.js';
import type { ReceiptBody, ReceiptKind } from './types.js';

export interface Producer {
  /** This replica (ARBITER_INSTANCE_ID). */
  id: string;
  version: string;
}

export function receiptHeader(args: {
  receiptId: string;
  kind: ReceiptKind;
  session: { id: string; tenant: string };
  chain: { seq: number; head: string | null };
  at: string;
  producer: Producer;
  trace?: { traceId: string; spanId: string } | undefined;
}): Pick<
  ReceiptBody,
  | 'version'
  | 'receipt_id'
  | 'decision_id'
  | 'labels'
  | 'path'
  | 'kind'
  | 'session_id'
  | 'tenant'
  | 'seq'
  | 'prev_hash'
  | 'timestamp'
  | 'trace_id'
  | 'span_id'
> {
  return {
    version: '1',
    receipt_id: args.receiptId,
    decision_id: args.receiptId,
    labels: { id: args.producer.id, version: args.producer.version },
    path: ENTRYPOINT,
    kind: args.kind,
    session_id: args.session.id,
    tenant: args.session.tenant,
    seq: args.chain.seq + 1,
    prev_hash: args.chain.head,
    timestamp: args.at,
    ...(args.trace && { trace_id: args.trace.traceId, span_id: args.trace.spanId }),
  };
}
