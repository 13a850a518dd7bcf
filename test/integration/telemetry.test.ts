/**
 * Telemetry: Prometheus metrics count decisions, and with OTEL_* set each decision is a
 * span exported over real OTLP/HTTP (JSON) into a receiver this test runs.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decideBody, startTestArbiter, uniqueSession, type TestArbiter } from '../support/arbiter.js';

interface OtlpSpan {
  name: string;
  attributes: { key: string; value: { stringValue?: string } }[];
}

describe('telemetry', () => {
  let receiver: Server;
  let receiverUrl: string;
  const spans: OtlpSpan[] = [];
  let arbiter: TestArbiter;

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        if (req.url === '/v1/traces') {
          const payload = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
          for (const rs of payload.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    arbiter = await startTestArbiter({
      processWide: true,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
    });
  });
  after(async () => {
    receiver.close();
  });

  test('decisions are counted by decision and timed', async () => {
    await arbiter.post('/v1/decide', decideBody(uniqueSession('m'), 'email.send'));
    await arbiter.post('/v1/decide', decideBody(uniqueSession('m'), 'db.drop', { database: 'production' }));
    await arbiter.post('/v1/decide', decideBody(uniqueSession('m'), 'db.drop', { database: 'production' }));
    await arbiter.post('/v1/decide', { action: {} });
    const metrics = (await arbiter.get('/metrics')).body as string;
    assert.match(metrics, /^arbiter_decisions_total\{decision="ALLOW"\} 1$/m);
    assert.match(metrics, /^arbiter_decisions_total\{decision="DENY"\} 2$/m);
    assert.match(metrics, /^arbiter_decision_errors_total\{code="invalid_request"\} 1$/m);
    assert.match(metrics, /^arbiter_decision_duration_seconds_count\{decision="DENY"\} 2$/m);
    assert.match(metrics, /^arbiter_decision_stage_duration_seconds_count\{stage="evaluate"\} 3$/m);
    assert.match(metrics, /^arbiter_policy_reloads_total\{result="loaded"\} 1$/m);
  });

  test("the decision continues the caller's W3C trace, and its receipt names that trace", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await arbiter.post('/v1/decide', decideBody(uniqueSession('trace'), 'files.read', { path: '/x' }), {
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    const receipt = (await arbiter.get(`/v1/receipts/${res.body.receipt.id}`)).body;
    assert.equal(receipt.trace_id, traceId);
    assert.match(receipt.span_id, /^[0-9a-f]{16}$/);
    assert.notEqual(receipt.span_id, '00f067aa0ba902b7', "with tracing on, the receipt names Arbiter's own span");
  });

  test('each decision is exported as an aarm.decide span with its AARM attributes', async () => {
    const session = uniqueSession('span');
    const res = await arbiter.post('/v1/decide', decideBody(session, 'db.query', { limit: 1000 }), {
      'X-Request-Id': 'span-req-1',
    });
    await arbiter.stop(); // shutdown flushes the batch processor
    const span = spans.find((s) =>
      s.attributes.some((a) => a.key === 'aarm.session' && a.value.stringValue === session),
    );
    assert.ok(span, 'the span reached the OTLP receiver');
    assert.equal(span.name, 'aarm.decide');
    const attr = (key: string) => span.attributes.find((a) => a.key === key)?.value.stringValue;
    assert.equal(attr('aarm.decision'), 'MODIFY');
    assert.equal(attr('aarm.tool'), 'db.query');
    assert.equal(attr('aarm.receipt_id'), res.body.receipt.id);
    assert.equal(attr('arbiter.request_id'), 'span-req-1', 'the access log id ties the span to its log line');
  });
});
