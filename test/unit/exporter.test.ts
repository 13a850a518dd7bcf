import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { hashOf } from '../../services/decision/src/receipts/canonical.js';
import {
  checkpointCovers,
  checkpointHash,
  verifyCheckpoint,
  type Checkpoint,
} from '../../services/decision/src/receipts/checkpoint.js';
import { generateSigningKey } from '../../services/decision/src/receipts/keys.js';
import type { Outbox, OutboxEntry } from '../../services/decision/src/receipts/outbox.js';
import { receiptHash, signReceipt, verifyReceiptSignature } from '../../services/decision/src/receipts/sign.js';
import type { Decision, Receipt, ReceiptBody, ReceiptKind } from '../../services/decision/src/receipts/types.js';
import {
  createReceiptExporter,
  type ReceiptExporter,
  type ReceiptExporterOptions,
} from '../../services/decision/src/telemetry/exporter.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedLog } from '../support/otlp-receiver.js';

const key = generateSigningKey();
const keys = new Map([[key.kid, key.publicKey]]);

// --- An in-memory Outbox with the semantics of the interface (and of a Redis stream group). --

interface Slot {
  receipt: Receipt;
  holder: string | null;
  deliveredAt: number;
}

class MemoryOutbox implements Outbox {
  private next = 0;
  private readonly slots = new Map<string, Slot>();
  /** Called with the receipts of each ack before they leave the outbox. */
  onAck: ((receipts: Receipt[]) => void) | undefined;

  append(receipt: Receipt): string {
    this.next += 1;
    const id = `${Date.now()}-${this.next}`;
    // Stored as bytes would be: a reader gets its own copy.
    this.slots.set(id, { receipt: structuredClone(receipt), holder: null, deliveredAt: 0 });
    return id;
  }

  async read(consumer: string, max: number, claimIdleMs: number): Promise<OutboxEntry[]> {
    await Promise.resolve();
    const now = Date.now();
    const out: OutboxEntry[] = [];
    const deliver = (id: string, slot: Slot): void => {
      slot.holder = consumer;
      slot.deliveredAt = now;
      out.push({ id, receipt: structuredClone(slot.receipt) });
    };
    // First entries another consumer has held unacknowledged for claimIdleMs or longer …
    for (const [id, slot] of this.slots) {
      if (out.length >= max) break;
      if (slot.holder !== null && slot.holder !== consumer && now - slot.deliveredAt >= claimIdleMs) deliver(id, slot);
    }
    // … then new ones. An entry held by someone (this consumer too) and not idle is not returned.
    for (const [id, slot] of this.slots) {
      if (out.length >= max) break;
      if (slot.holder === null) deliver(id, slot);
    }
    return out;
  }

  async ack(ids: string[]): Promise<void> {
    await Promise.resolve();
    const receipts = ids.flatMap((id) => {
      const slot = this.slots.get(id);
      return slot ? [slot.receipt] : [];
    });
    this.onAck?.(receipts);
    for (const id of ids) this.slots.delete(id); // unknown ids are ignored, as XACK does
  }

  async depth(): Promise<number> {
    await Promise.resolve();
    return this.slots.size;
  }

  /** Receipt id → consumer holding it (null: not delivered yet). */
  holders(): Map<string, string | null> {
    return new Map([...this.slots.values()].map((s) => [s.receipt.receipt_id, s.holder]));
  }
}

// --- Receipts of every kind, with parameter values that must never reach an attribute. -------

const PARAM_MARKER = 'PARAMVALUE';
const PARAM_NUMBER = 424242;

interface Spec {
  kind: ReceiptKind;
  decision: Decision;
  trace?: { trace_id: string; span_id: string };
}

function session(name: string, specs: Spec[], tenant = 'acme'): Receipt[] {
  const receipts: Receipt[] = [];
  specs.forEach((spec, i) => {
    const seq = i + 1;
    const before = receipts.at(-1);
    const parameters = {
      path: `/srv/${PARAM_MARKER}-${name}-${seq}/report.csv`,
      count: PARAM_NUMBER,
      api_key: hashOf('k'),
    };
    const body: ReceiptBody = {
      version: '1',
      receipt_id: `rcpt_${name}_${seq}`,
      decision_id: `rcpt_${name}_${seq}`,
      labels: { id: 'replica-test', version: '0' },
      path: 'aarm/decision',
      kind: spec.kind,
      session_id: name,
      tenant,
      seq,
      prev_hash: before ? receiptHash(before) : null,
      timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, seq, 123)).toISOString(),
      action: {
        id: `act-${name}-${seq}`,
        tool: 'fs.read',
        operation: 'read',
        target: 'file',
        parameters_hash: hashOf(parameters),
        parameters,
      },
      identity: { agent: 'agent-7', human: 'alice', verified: false, method: 'none' },
      context_hash: hashOf({ seq }),
      decision: spec.decision,
      reasons: [{ policy_id: 'p1', reason: 'because' }],
      policy: { revision: 'rev-42', hash: hashOf('policy'), path: 'arbiter/decision' },
    };
    if (spec.kind === 'approval') {
      body.approval = {
        id: 'apr_1',
        expires_at: '2025-01-01T01:00:00.000Z',
        status: 'approved',
        approver: 'bob',
        vote: 'approve',
        votes: 1,
        quorum: 1,
      };
    }
    if (spec.kind === 'deferral') {
      body.deferral = {
        id: 'dfr_1',
        expires_at: '2025-01-01T01:00:00.000Z',
        context_needed: ['ticket'],
        status: 'resolved',
        resolution_hash: hashOf('ctx'),
      };
    }
    if (spec.kind === 'outcome') {
      body.outcome = {
        status: 'success',
        data_classes: ['PII'],
        decision_receipt_id: `rcpt_${name}_1`,
        reported_by: 'pep-1',
        unauthorised: false,
      };
    }
    receipts.push(signReceipt(spec.trace ? { ...body, ...spec.trace } : body, key));
  });
  return receipts;
}

function simpleReceipts(name: string, n: number): Receipt[] {
  return session(
    name,
    Array.from({ length: n }, (_, i) => ({ kind: 'decision' as const, decision: i % 3 === 0 ? 'DENY' : 'ALLOW' })),
  );
}

// --- Helpers. ----------------------------------------------------------------------------------

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const exportersToStop: ReceiptExporter[] = [];
const receiversToClose: OtlpReceiver[] = [];
after(async () => {
  await Promise.all(exportersToStop.map((e) => e.stop(2000)));
  await Promise.all(receiversToClose.map((r) => r.close()));
});

async function receiver(): Promise<OtlpReceiver> {
  const r = await startOtlpReceiver();
  receiversToClose.push(r);
  return r;
}

function exporter(outbox: Outbox, url: string, overrides: Partial<ReceiptExporterOptions> = {}): ReceiptExporter {
  const e = createReceiptExporter({
    outbox,
    consumer: 'replica-a',
    endpoint: url,
    protocol: 'http/json',
    serviceName: 'arbiter-test',
    signingKey: key,
    batchSize: 4,
    pollMs: 10,
    claimIdleMs: 30000,
    timeoutMs: 500,
    minBackoffMs: 10,
    maxBackoffMs: 80,
    ...overrides,
  });
  exportersToStop.push(e);
  return e;
}

/** Every ack must name only receipts the collector already holds. */
function ackOnlyAccepted(outbox: MemoryOutbox, rx: OtlpReceiver): string[] {
  const violations: string[] = [];
  outbox.onAck = (receipts) => {
    const accepted = new Set(rx.records().map((r) => r.attributes['aarm.receipt_id']));
    for (const r of receipts) if (!accepted.has(r.receipt_id)) violations.push(r.receipt_id);
  };
  return violations;
}

const receiptLogs = (rx: OtlpReceiver): ReceivedLog[] => rx.records().filter((r) => r.eventName !== 'aarm.checkpoint');
const checkpointLogs = (rx: OtlpReceiver): ReceivedLog[] =>
  rx.records().filter((r) => r.eventName === 'aarm.checkpoint');

/** Checkpoint records with the receipts exported in the same request (records arrive in order). */
function batchesOf(logs: ReceivedLog[]): { checkpoint: Checkpoint; receipts: Receipt[] }[] {
  const out: { checkpoint: Checkpoint; receipts: Receipt[] }[] = [];
  let pending: Receipt[] = [];
  for (const log of logs) {
    const body = JSON.parse(log.body ?? 'null');
    if (log.eventName === 'aarm.checkpoint') {
      out.push({ checkpoint: body as Checkpoint, receipts: pending });
      pending = [];
    } else {
      pending.push(body as Receipt);
    }
  }
  assert.equal(pending.length, 0, 'receipts arrived without a checkpoint in their request');
  return out;
}

/** Per producer: sequences 1, 2, … linked by prev_hash, each signed. */
function assertCheckpointChains(checkpoints: Checkpoint[]): void {
  const byProducer = new Map<string, Checkpoint[]>();
  for (const c of checkpoints) byProducer.set(c.producer, [...(byProducer.get(c.producer) ?? []), c]);
  for (const [producer, chain] of byProducer) {
    chain.forEach((c, i) => {
      assert.deepEqual(verifyCheckpoint(c, keys), { ok: true }, `${producer} checkpoint ${i + 1}`);
      assert.equal(c.sequence, i + 1, `${producer} sequence`);
      assert.equal(c.prev_hash, i === 0 ? null : checkpointHash(chain[i - 1]!), `${producer} prev_hash of ${i + 1}`);
    });
  }
}

function assertNoParameterValues(log: ReceivedLog): void {
  for (const [name, value] of Object.entries(log.attributes)) {
    assert.ok(!JSON.stringify(value).includes(PARAM_MARKER), `attribute ${name} carries a parameter value`);
    assert.notEqual(value, PARAM_NUMBER, `attribute ${name} carries a parameter value`);
    assert.ok(!name.includes('parameters.'), `attribute ${name} names a parameter`);
  }
}

const EVENT_OF: Record<ReceiptKind, string> = {
  decision: 'aarm.decision',
  approval: 'aarm.approval',
  deferral: 'aarm.deferral',
  outcome: 'aarm.outcome',
};

/** The whole content check of a run: every receipt once or more, attributes, bodies, checkpoints. */
function assertExported(rx: OtlpReceiver, produced: Receipt[], protocol: 'http/json' | 'http/protobuf'): void {
  const logs = receiptLogs(rx);
  const ids = new Set(logs.map((l) => l.attributes['aarm.receipt_id']));
  assert.equal(ids.size, produced.length, 'distinct receipt ids exported');
  for (const receipt of produced) {
    const log = logs.find((l) => l.attributes['aarm.receipt_id'] === receipt.receipt_id);
    assert.ok(log, `${receipt.receipt_id} arrived`);
    assert.equal(log.protocol, protocol);
    assert.equal(log.eventName, EVENT_OF[receipt.kind]);
    assert.equal(log.resource['service.name'], 'arbiter-test');
    const expected: Record<string, unknown> = {
      'event.name': EVENT_OF[receipt.kind],
      'aarm.receipt_id': receipt.receipt_id,
      'aarm.kind': receipt.kind,
      'aarm.decision': receipt.decision,
      'aarm.session_id': receipt.session_id,
      'aarm.tenant': receipt.tenant,
      'aarm.seq': receipt.seq,
      'aarm.tool': receipt.action.tool,
      'aarm.parameters_hash': receipt.action.parameters_hash,
      'aarm.policy.revision': receipt.policy.revision,
      'aarm.policy.hash': receipt.policy.hash,
      'aarm.agent': receipt.identity.agent,
      'aarm.receipt_hash': receiptHash(receipt),
    };
    assert.deepEqual(log.attributes, expected);
    assertNoParameterValues(log);
    assert.equal(log.severityNumber, receipt.decision === 'DENY' ? 13 : 9);
    assert.equal(log.severityText, receipt.decision === 'DENY' ? 'WARN' : 'INFO');
    assert.equal(log.timeUnixNano, (BigInt(Date.parse(receipt.timestamp)) * 1_000_000n).toString());
    // The body is the signed receipt, verifiable by whoever reads the logs.
    const body = JSON.parse(log.body ?? 'null');
    assert.deepEqual(verifyReceiptSignature(body, keys), { ok: true });
    assert.deepEqual(body, receipt);
    assert.equal(log.traceId, receipt.trace_id);
    assert.equal(log.spanId, receipt.span_id);
  }
  const batches = batchesOf(rx.records());
  assert.ok(batches.length >= 1);
  for (const { checkpoint, receipts } of batches) {
    assert.deepEqual(verifyCheckpoint(checkpoint, keys), { ok: true });
    assert.deepEqual(checkpointCovers(checkpoint, receipts), { ok: true });
    // Heads: the last receipt of each session in the batch, by hash.
    for (const head of checkpoint.heads) {
      const last = receipts.filter((r) => r.session_id === head.session_id && r.tenant === head.tenant).at(-1);
      assert.equal(head.seq, last?.seq);
      assert.equal(head.hash, last ? receiptHash(last) : undefined);
    }
  }
  for (const log of checkpointLogs(rx)) {
    const checkpoint = JSON.parse(log.body ?? 'null') as Checkpoint;
    assert.equal(log.attributes['event.name'], 'aarm.checkpoint');
    assert.equal(log.attributes['aarm.checkpoint_id'], checkpoint.checkpoint_id);
    assert.equal(log.attributes['aarm.checkpoint_hash'], checkpointHash(checkpoint));
  }
  assertCheckpointChains(batches.map((b) => b.checkpoint));
}

const everyKind = (): Receipt[] => {
  const s1 = session('s-1', [
    {
      kind: 'decision',
      decision: 'ALLOW',
      trace: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' },
    },
    { kind: 'decision', decision: 'STEP_UP' },
    { kind: 'approval', decision: 'ALLOW' },
    { kind: 'outcome', decision: 'ALLOW' },
  ]);
  const s2 = session('s-2', [
    { kind: 'decision', decision: 'DENY' },
    { kind: 'decision', decision: 'DEFER' },
    { kind: 'deferral', decision: 'ALLOW' },
  ]);
  return [s1[0]!, s2[0]!, s1[1]!, s2[1]!, s1[2]!, s2[2]!, s1[3]!];
};

// --- Tests. -------------------------------------------------------------------------------------

describe('receipt exporter', () => {
  it('exports every receipt kind with its event name, attributes and signed body, and a checkpoint per batch (http/json)', async () => {
    const rx = await receiver();
    const outbox = new MemoryOutbox();
    const violations = ackOnlyAccepted(outbox, rx);
    const produced = everyKind();
    for (const r of produced) outbox.append(r);
    const depths: number[] = [];
    const exports: { outcome: string; receipts: number }[] = [];
    const e = exporter(outbox, rx.url, { onDepth: (d) => depths.push(d), onExport: (x) => exports.push(x) });
    e.start();
    assert.equal(await e.drain(15000), true);
    assertExported(rx, produced, 'http/json');
    // batchSize 4: two requests, two checkpoints of producer replica-a, linked.
    assert.equal(checkpointLogs(rx).length, 2);
    assert.equal(rx.requests(), 2);
    assert.deepEqual(exports, [
      { outcome: 'exported', receipts: 4 },
      { outcome: 'exported', receipts: 3 },
    ]);
    assert.deepEqual(violations, []);
    await waitFor('a depth report of 0', () => depths.includes(0));
    assert.ok(rx.requestLog().every((r) => r.contentType.startsWith('application/json')));
    await e.stop();
  });

  it('posts http/protobuf with content-type application/x-protobuf, decodable to the same records', async () => {
    const rx = await receiver();
    const outbox = new MemoryOutbox();
    const violations = ackOnlyAccepted(outbox, rx);
    const produced = everyKind();
    for (const r of produced) outbox.append(r);
    const e = exporter(outbox, rx.url, { protocol: 'http/protobuf', batchSize: 16 });
    e.start();
    assert.equal(await e.drain(15000), true);
    assert.equal(rx.requests(), 1);
    assert.ok(rx.requestLog().every((r) => r.contentType === 'application/x-protobuf' && r.bytes > 0));
    assertExported(rx, produced, 'http/protobuf');
    assert.equal(checkpointLogs(rx).length, 1);
    assert.deepEqual(violations, []);
    await e.stop();
  });

  it('sends the configured headers', async () => {
    const rx = await receiver();
    const outbox = new MemoryOutbox();
    outbox.append(simpleReceipts('s-h', 1)[0]!);
    const e = exporter(outbox, rx.url, { headers: { 'x-tenant': 'acme', authorization: 'Bearer t' } });
    e.start();
    assert.equal(await e.drain(15000), true);
    assert.equal(receiptLogs(rx).length, 1);
    const [request] = rx.requestLog();
    assert.equal(request?.headers['x-tenant'], 'acme');
    assert.equal(request?.headers.authorization, 'Bearer t');
    assert.match(request?.headers['content-type'] ?? '', /^application\/json/);
    await e.stop();
  });

  it('keeps receipts while the collector answers 503, then delivers each of them', async () => {
    const rx = await receiver();
    rx.setMode('fail');
    const outbox = new MemoryOutbox();
    const violations = ackOnlyAccepted(outbox, rx);
    const produced = [...simpleReceipts('s-f1', 6), ...simpleReceipts('s-f2', 4)];
    for (const r of produced) outbox.append(r);
    const failed: string[] = [];
    const e = exporter(outbox, rx.url, {
      onExport: (x) => {
        if (x.outcome === 'failed') failed.push(x.error ?? '');
      },
    });
    e.start();
    await waitFor('three failed requests', () => rx.requests() >= 3);
    // Nothing was acknowledged while the collector refused.
    assert.equal(await outbox.depth(), produced.length);
    assert.ok(failed.length >= 1);
    // The failing batch is retried as is; the rest waits undelivered.
    assert.equal([...outbox.holders().values()].filter((h) => h === 'replica-a').length, 4);
    rx.setMode('ok');
    assert.equal(await e.drain(15000), true);
    assert.equal(await outbox.depth(), 0);
    assertExported(rx, produced, 'http/json');
    assert.equal(new Set(receiptLogs(rx).map((l) => l.attributes['aarm.receipt_id'])).size, produced.length);
    assert.deepEqual(violations, []);
    await e.stop();
  });

  it('retries a request the collector never answers after it times out', async () => {
    const rx = await receiver();
    rx.setMode('hang');
    const outbox = new MemoryOutbox();
    const violations = ackOnlyAccepted(outbox, rx);
    const produced = simpleReceipts('s-hang', 3);
    for (const r of produced) outbox.append(r);
    const errors: string[] = [];
    const e = exporter(outbox, rx.url, {
      timeoutMs: 200,
      onExport: (x) => {
        if (x.outcome === 'failed') errors.push(x.error ?? '');
      },
    });
    e.start();
    await waitFor('a second attempt after the first timed out', () => rx.requests() >= 2);
    assert.match(errors[0] ?? '', /timed out/i);
    assert.equal(await outbox.depth(), produced.length);
    rx.setMode('ok');
    assert.equal(await e.drain(15000), true);
    assertExported(rx, produced, 'http/json');
    assert.deepEqual(violations, []);
    await e.stop();
  });

  it('stops within its bound while a request hangs, leaving the entries held', async () => {
    const rx = await receiver();
    rx.setMode('hang');
    const outbox = new MemoryOutbox();
    outbox.append(simpleReceipts('s-stop', 1)[0]!);
    const e = exporter(outbox, rx.url, { timeoutMs: 5000 });
    e.start();
    await waitFor('the request', () => rx.requests() >= 1);
    await e.stop(200);
    assert.equal(await outbox.depth(), 1);
    assert.equal(outbox.holders().get('rcpt_s-stop_1'), 'replica-a');
    assert.equal(await e.drain(50), false);
  });

  it('two exporters on one outbox export each receipt once while the collector is healthy', async () => {
    const rx = await receiver();
    const outbox = new MemoryOutbox();
    const violations = ackOnlyAccepted(outbox, rx);
    const produced = [...simpleReceipts('s-a', 15), ...simpleReceipts('s-b', 15), ...simpleReceipts('s-c', 10)];
    const a = exporter(outbox, rx.url, { consumer: 'replica-a' });
    const b = exporter(outbox, rx.url, { consumer: 'replica-b' });
    a.start();
    b.start();
    for (const r of produced) outbox.append(r);
    assert.equal(await a.drain(15000), true);
    const logs = receiptLogs(rx);
    assert.equal(logs.length, produced.length, 'no receipt exported twice');
    const checkpoints = checkpointLogs(rx).map((l) => JSON.parse(l.body ?? 'null') as Checkpoint);
    assert.equal(
      checkpoints.reduce((n, c) => n + c.count, 0),
      produced.length,
    );
    assertCheckpointChains(checkpoints);
    const perProducer = new Set(checkpoints.map((c) => c.producer));
    assert.ok([...perProducer].every((p) => p === 'replica-a' || p === 'replica-b'));
    assert.equal(new Set(logs.map((l) => l.attributes['aarm.receipt_id'])).size, produced.length);
    assert.deepEqual(violations, []);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('an entry held by a consumer that stopped without acking is taken over by another after claimIdleMs', async () => {
    const rx = await receiver();
    rx.setMode('fail');
    const outbox = new MemoryOutbox();
    const violations = ackOnlyAccepted(outbox, rx);
    const produced = simpleReceipts('s-take', 5);
    for (const r of produced) outbox.append(r);
    const a = exporter(outbox, rx.url, { consumer: 'replica-a', batchSize: 10, claimIdleMs: 300 });
    a.start();
    await waitFor('replica-a to try', () => rx.requests() >= 1);
    await a.stop();
    assert.ok(
      [...outbox.holders().values()].every((h) => h === 'replica-a'),
      'replica-a holds every entry',
    );
    rx.setMode('ok');
    const b = exporter(outbox, rx.url, { consumer: 'replica-b', batchSize: 10, claimIdleMs: 300 });
    b.start();
    assert.equal(await b.drain(15000), true);
    assertExported(rx, produced, 'http/json');
    const producers = new Set(checkpointLogs(rx).map((l) => (JSON.parse(l.body ?? 'null') as Checkpoint).producer));
    assert.deepEqual([...producers], ['replica-b']);
    assert.deepEqual(violations, []);
    await b.stop();
  });

  it('survives callbacks that throw and an outbox that fails for a while', async () => {
    const rx = await receiver();
    const outbox = new MemoryOutbox();
    const produced = simpleReceipts('s-x', 5);
    for (const r of produced) outbox.append(r);
    let readFailures = 3;
    const flaky: Outbox = {
      read: async (...args) => {
        if (readFailures > 0) {
          readFailures -= 1;
          throw new Error('redis down');
        }
        return outbox.read(...args);
      },
      ack: (ids) => outbox.ack(ids),
      depth: () => outbox.depth(),
    };
    const errors: string[] = [];
    const e = exporter(flaky, rx.url, {
      onExport: () => {
        throw new Error('callback bug');
      },
      onDepth: () => {
        throw new Error('callback bug');
      },
      onError: (x) => errors.push(`${x.stage}: ${x.error}`),
    });
    e.start();
    assert.equal(await e.drain(15000), true);
    assertExported(rx, produced, 'http/json');
    assert.deepEqual(errors, ['read: redis down', 'read: redis down', 'read: redis down']);
    await e.stop();
  });

  it('rejects invalid options at creation', () => {
    const outbox = new MemoryOutbox();
    const base = {
      outbox,
      consumer: 'c',
      endpoint: 'http://127.0.0.1:4318/v1/logs',
      protocol: 'http/json' as const,
      serviceName: 's',
      signingKey: key,
      batchSize: 4,
      pollMs: 10,
      claimIdleMs: 100,
      timeoutMs: 100,
      minBackoffMs: 10,
      maxBackoffMs: 100,
    };
    assert.throws(() => createReceiptExporter({ ...base, batchSize: 0 }), /batchSize/);
    assert.throws(() => createReceiptExporter({ ...base, endpoint: 'not a url' }), /endpoint/);
    assert.throws(() => createReceiptExporter({ ...base, maxBackoffMs: 5 }), /maxBackoffMs/);
    assert.throws(() => createReceiptExporter({ ...base, timeoutMs: 0 }), /timeoutMs/);
  });
});
