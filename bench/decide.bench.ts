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
import { deleteKeys, TEST_REDIS_URL } from '../test/support/arbiter.js';
import { spawnArbiter } from '../test/support/process.js';
import { agent, decide, runLoad } from './load.js';

const LENGTHS = (process.env.BENCH_LENGTHS ?? '1,1000,10000').split(',').map(Number);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const MEASURED = Number(process.env.BENCH_MEASURED ?? 2000);

const prefix = `arbiter-bench:${randomBytes(4).toString('hex')}:`;
const server = await spawnArbiter({
  ARBITER_REDIS_URL: TEST_REDIS_URL,
  ARBITER_REDIS_PREFIX: prefix,
  ARBITER_LOG_LEVEL: 'error',
});
const rows: string[] = [];
try {
  // Warm-up (JIT, connections, scripts loaded), not timed.
  await runLoad(
    server.url,
    Array.from({ length: CLIENTS }, (_, c) => `warmup-${c}`),
    300,
  );
  for (const length of LENGTHS) {
    const sessions = Array.from(
      { length: CLIENTS },
      (_, c) => `bench-${length}-${c}-${randomBytes(3).toString('hex')}`,
    );
    // Fill: `length` prior actions per session (sequential within a session, sessions in parallel).
    await Promise.all(
      sessions.map(async (s) => {
        for (let i = 0; i < length; i++) await decide(server.url, s, i);
      }),
    );
    const r = await runLoad(server.url, sessions, MEASURED, length);
    const row = `| ${length} | ${CLIENTS} | ${r.decisions} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`;
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
