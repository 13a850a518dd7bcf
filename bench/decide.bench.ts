/**
 * Decision throughput and latency against session length (issue 3): a decision must cost
 * the same on a session's first action and on its ten-thousandth.
 *
 *   make bench            (or: node --import tsx bench/decide.bench.ts)
 *
 * Runs one `arbiter serve` process on the local Redis (its own key prefix, removed after),
 * fills CLIENTS sessions to each length with real decisions, then times MEASURED more
 * decisions per session from CLIENTS concurrent clients over HTTP keep-alive. Bounded:
 * at most LENGTHS × CLIENTS × (length + MEASURED) requests, all to 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { deleteKeys, TEST_REDIS_URL } from '../test/support/arbiter.js';
import { spawnArbiter } from '../test/support/process.js';

const LENGTHS = (process.env.BENCH_LENGTHS ?? '1,1000,10000').split(',').map(Number);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const MEASURED = Number(process.env.BENCH_MEASURED ?? 2000);

const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS * 2 });

function post(url: string, payload: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/decide`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

function body(session: string, i: number) {
  return JSON.stringify({
    action: { tool: 'files.read', operation: 'read', parameters: { path: `/data/${i}.csv` } },
    session: { id: session, intent: 'summarise the quarterly files' },
    identity: { agent: 'bench-agent', human: 'alice' },
  });
}

async function decide(url: string, session: string, i: number): Promise<number> {
  const started = performance.now();
  const res = await post(url, body(session, i));
  const answer = JSON.parse(res.text) as { decision?: string };
  if (res.status !== 200 || answer.decision !== 'ALLOW') throw new Error(`unexpected answer ${res.status} ${res.text}`);
  return performance.now() - started;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const prefix = `arbiter-bench:${randomBytes(4).toString('hex')}:`;
const server = await spawnArbiter({ ARBITER_REDIS_URL: TEST_REDIS_URL, ARBITER_REDIS_PREFIX: prefix, ARBITER_LOG_LEVEL: 'error' });
const rows: string[] = [];
try {
  // Warm-up (JIT, connections, scripts loaded), not timed.
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = 0; i < 300; i++) await decide(server.url, `warmup-${c}`, i);
  }));
  for (const length of LENGTHS) {
    const sessions = Array.from({ length: CLIENTS }, (_, c) => `bench-${length}-${c}-${randomBytes(3).toString('hex')}`);
    // Fill: `length` prior actions per session (sequential within a session, sessions in parallel).
    await Promise.all(sessions.map(async (s) => {
      for (let i = 0; i < length; i++) await decide(server.url, s, i);
    }));
    const latencies: number[] = [];
    const started = performance.now();
    await Promise.all(sessions.map(async (s) => {
      for (let i = 0; i < MEASURED; i++) latencies.push(await decide(server.url, s, length + i));
    }));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const row = `| ${length} | ${CLIENTS} | ${latencies.length} | ${(latencies.length / seconds).toFixed(0)} | ${quantile(latencies, 0.5).toFixed(2)} | ${quantile(latencies, 0.99).toFixed(2)} |`;
    rows.push(row);
    console.log(row);
  }
} finally {
  agent.destroy();
  await server.stop();
  await deleteKeys(TEST_REDIS_URL, prefix);
}
console.log('\n| prior actions per session | concurrent clients | decisions timed | decisions/s | p50 ms | p99 ms |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
