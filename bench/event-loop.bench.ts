/**
 * What one client's large requests do to everyone else (issue 11 item 4): /healthz and
 * small decisions, timed alone and then while another client posts 250 KB bodies to
 * /v1/decide in a loop.
 *
 *   node --import tsx bench/event-loop.bench.ts
 *
 * Runs one `arbiter serve` process on the local Redis (its own key prefix, removed after).
 * Each phase lasts BENCH_SECONDS (10): one client GETs /healthz every 5 ms, another sends
 * small decisions back to back, and in the second phase a third posts the large body back
 * to back. Bounded by the duration; every request goes to 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteKeys, TEST_REDIS_URL } from '../test/support/arbiter.js';
import { spawnArbiter } from '../test/support/process.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const LARGE_BYTES = 250_000;

/** One connection per client, so no client waits behind another's socket. */
function client() {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (url: string, method: string, payload?: string) =>
    new Promise<{ status: number; text: string; ms: number }>((resolve, reject) => {
      const started = performance.now();
      const req = request(
        url,
        { method, agent, headers: payload ? { 'content-type': 'application/json' } : {} },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, ms: performance.now() - started }));
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(payload);
    });
  return { send, close: () => agent.destroy() };
}

function smallBody(session: string, i: number): string {
  return JSON.stringify({
    action: { tool: 'files.read', operation: 'read', parameters: { path: `/data/${i}.csv` } },
    session: { id: session, intent: 'summarise the quarterly files' },
    identity: { agent: 'bench-agent', human: 'alice' },
  });
}

/** An email to thousands of recipients, padded to LARGE_BYTES: the request that held the event loop. */
function largeBody(session: string): string {
  const to = Array.from({ length: 9000 }, (_, i) => `person${i}@example.com`).join(',');
  const base = {
    action: { tool: 'email.send', operation: 'write', parameters: { to, subject: 'quarterly', body: '' } },
    session: { id: session, intent: 'send the quarterly report to the team' },
    identity: { agent: 'bench-agent', human: 'alice' },
  };
  const pad = LARGE_BYTES - JSON.stringify(base).length;
  base.action.parameters.body = 'x'.repeat(Math.max(0, pad));
  return JSON.stringify(base);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

interface Phase {
  healthz: number[];
  small: number[];
  large: number[];
  largeStatuses: Map<number, number>;
}

async function phase(url: string, withLarge: boolean): Promise<Phase> {
  const until = performance.now() + SECONDS * 1000;
  const result: Phase = { healthz: [], small: [], large: [], largeStatuses: new Map() };
  const health = client();
  const small = client();
  const large = client();
  try {
    await Promise.all([
      (async () => {
        while (performance.now() < until) {
          const r = await health.send(`${url}/healthz`, 'GET');
          if (r.status !== 200) throw new Error(`/healthz answered ${r.status}`);
          result.healthz.push(r.ms);
          await sleep(5);
        }
      })(),
      (async () => {
        const session = `small-${randomBytes(4).toString('hex')}`;
        for (let i = 0; performance.now() < until; i++) {
          const r = await small.send(`${url}/v1/decide`, 'POST', smallBody(session, i));
          if (r.status !== 200 || !r.text.includes('"decision":"ALLOW"'))
            throw new Error(`small: ${r.status} ${r.text}`);
          result.small.push(r.ms);
        }
      })(),
      (async () => {
        if (!withLarge) return;
        while (performance.now() < until) {
          const r = await large.send(`${url}/v1/decide`, 'POST', largeBody(`large-${randomBytes(4).toString('hex')}`));
          result.largeStatuses.set(r.status, (result.largeStatuses.get(r.status) ?? 0) + 1);
          result.large.push(r.ms);
        }
      })(),
    ]);
  } finally {
    health.close();
    small.close();
    large.close();
  }
  return result;
}

function row(label: string, p: Phase): string {
  const h = [...p.healthz].sort((a, b) => a - b);
  const s = [...p.small].sort((a, b) => a - b);
  const l = [...p.large].sort((a, b) => a - b);
  const large = p.large.length
    ? `${(p.large.length / SECONDS).toFixed(1)}/s, p50 ${quantile(l, 0.5).toFixed(0)} ms (${[...p.largeStatuses]
        .map(([status, n]) => `${n}× ${status}`)
        .join(', ')})`
    : '—';
  return (
    `| ${label} | ${quantile(h, 0.5).toFixed(2)} | ${quantile(h, 0.99).toFixed(2)} | ${(h.at(-1) ?? NaN).toFixed(2)} | ` +
    `${(p.small.length / SECONDS).toFixed(0)} | ${quantile(s, 0.5).toFixed(2)} | ${quantile(s, 0.99).toFixed(2)} | ${large} |`
  );
}

const prefix = `arbiter-bench:${randomBytes(4).toString('hex')}:`;
const server = await spawnArbiter({
  ARBITER_REDIS_URL: TEST_REDIS_URL,
  ARBITER_REDIS_PREFIX: prefix,
  ARBITER_LOG_LEVEL: 'error',
  ...(process.env.ARBITER_EVAL_WORKERS && { ARBITER_EVAL_WORKERS: process.env.ARBITER_EVAL_WORKERS }),
});
const rows: string[] = [];
try {
  // Warm-up (JIT, connections, scripts loaded), not recorded.
  const warm = client();
  for (let i = 0; i < 300; i++) await warm.send(`${server.url}/v1/decide`, 'POST', smallBody('warmup', i));
  for (let i = 0; i < 5; i++) await warm.send(`${server.url}/v1/decide`, 'POST', largeBody(`warmup-large-${i}`));
  warm.close();
  rows.push(row('alone', await phase(server.url, false)));
  console.log(rows.at(-1));
  rows.push(row('beside 250 KB bodies', await phase(server.url, true)));
  console.log(rows.at(-1));
} finally {
  await server.stop();
  await deleteKeys(TEST_REDIS_URL, prefix);
}
console.log(
  '\n| phase | /healthz p50 ms | /healthz p99 ms | /healthz max ms | small decisions/s | small p50 ms | small p99 ms | large bodies |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
