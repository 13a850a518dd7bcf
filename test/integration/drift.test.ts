/**
 * Intent drift end to end (AARM R7): a real embeddings server run by the test (the remote,
 * OpenAI-compatible provider), whose vectors put each text at a known angle from the
 * intent, so the distances are exact: on-task actions pass, a hijack and a slow creep are
 * stepped up as the default profile says, and a provider outage never fails open.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decideBody, startTestArbiter, uniqueSession, type TestArbiter } from '../support/arbiter.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

/** "degNN" in a text puts it at NN degrees from the intent (deg0): distance = 1 − cos(NN°). */
function vectorOf(text: string): number[] {
  const deg = Number(/deg(\d+)/.exec(text)?.[1] ?? 0);
  return [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
}

describe('intent drift with a remote embeddings provider', () => {
  let server: Server;
  let requests = 0;
  let failing = false;
  let arbiter: TestArbiter;
  let receiver: OtlpReceiver;

  before(async () => {
    receiver = await startOtlpReceiver();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        requests++;
        if (failing) return void res.writeHead(503).end();
        const { input } = JSON.parse(body) as { input: string[] };
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ data: input.map((text, index) => ({ index, embedding: vectorOf(text) })) }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    arbiter = await startTestArbiter({
      env: {
        ARBITER_DRIFT: 'remote',
        ARBITER_DRIFT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        ARBITER_DRIFT_MODEL: 'test-angles',
        ARBITER_DRIFT_MAX_RETRIES: '0',
        ARBITER_DRIFT_COOLDOWN_MS: '0',
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json',
      },
    });
  });
  after(async () => {
    await arbiter.stop();
    await receiver.close();
    server.close();
  });

  const step = async (session: string, deg: number) =>
    (
      await arbiter.post(
        '/v1/decide',
        decideBody(session, 'files.read', { note: `deg${deg}` }, { intent: 'deg0 summarise the quarter' }),
      )
    ).body;

  test('on-task actions are allowed and carry their drift', async () => {
    const session = uniqueSession('on-task');
    const answers = [await step(session, 10), await step(session, 20), await step(session, 15)];
    assert.deepEqual(
      answers.map((a) => a.decision),
      ['ALLOW', 'ALLOW', 'ALLOW'],
    );
    assert.ok(Math.abs(answers[1].drift.distance - (1 - Math.cos(Math.PI / 9))) < 1e-3, 'the distance is 1 − cosine');
    const view = await arbiter.get(`/v1/sessions/${session}`);
    assert.equal(view.body.context.drift.count, 3);
    assert.equal(view.body.intent_embedding, undefined, 'the stored intent vector is not shown');
  });

  test('an action far from the intent is stepped up, as the default profile says', async () => {
    const session = uniqueSession('hijack');
    assert.equal((await step(session, 5)).decision, 'ALLOW');
    const far = await step(session, 120);
    assert.equal(far.decision, 'STEP_UP');
    assert.deepEqual(
      far.reasons.map((r: { policy_id: string }) => r.policy_id),
      ['intent-drift'],
    );
    assert.ok(far.drift.distance > 0.98);
    const receipt = (await arbiter.get(`/v1/receipts/${far.receipt.id}`)).body;
    assert.equal(receipt.input.drift.status, 'measured', 'the receipt records the measurement policy saw');
    const driftEvent = async () =>
      receiver
        .records()
        .find((l) => l.eventName === 'aarm.drift' && l.attributes['aarm.receipt_id'] === far.receipt.id);
    for (let i = 0; i < 100 && !(await driftEvent()); i++) await sleep(100);
    const event = await driftEvent();
    assert.ok(event, 'an aarm.drift event was exported');
    assert.equal(event.attributes['aarm.drift.distance'], far.drift.distance);
    assert.equal(event.attributes['aarm.session_id'], session);
  });

  test('a slow creep, each step under the threshold, is caught by the cumulative measure', async () => {
    const session = uniqueSession('creep');
    const degrees = [60, 75, 87, 88];
    const answers = [];
    for (const d of degrees) answers.push(await step(session, d));
    for (const a of answers) assert.ok(a.drift.distance < 0.98, 'no single step crosses the distance threshold');
    assert.deepEqual(
      answers.map((a) => a.decision),
      ['ALLOW', 'ALLOW', 'ALLOW', 'STEP_UP'],
    );
    assert.ok(answers[3].drift.cumulative > 0.93);
  });

  test('when the provider fails, the action is deferred, never allowed unmeasured', async () => {
    const session = uniqueSession('outage');
    assert.equal((await step(session, 5)).decision, 'ALLOW');
    failing = true;
    try {
      const before = requests;
      const answer = await step(session, 6);
      assert.ok(requests > before, 'the provider was asked');
      assert.equal(answer.decision, 'DEFER');
      assert.deepEqual(
        answer.reasons.map((r: { policy_id: string }) => r.policy_id),
        ['intent-drift'],
      );
    } finally {
      failing = false;
    }
  });
});
