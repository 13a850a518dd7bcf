/**
 * Decision throughput with receipt export (issue 5): export off, export on with the
 * collector up, and export on with the collector down (the backlog grows in the outbox).
 *
 *   make bench-export     (or: node --import tsx bench/export.bench.ts)
 *
 * Each mode runs its own `arbiter serve` process on the local Redis with its own key
 * prefix (removed after), and a real OTLP/HTTP receiver in this process. Bounded: CLIENTS ×
 * MEASURED decisions per mode, all to 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteKeys, TEST_REDIS_URL } from '../test/support/arbiter.js';
import { startOtlpReceiver } from '../test/support/otlp-receiver.js';
import { spawnArbiter } from '../test/support/process.js';
import { agent, runLoad } from './load.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const MEASURED = Number(process.env.BENCH_MEASURED ?? 2000);

const receiver = await startOtlpReceiver();
const rows: string[] = [];
try {
  for (const mode of ['export off', 'export on, collector up', 'export on, collector down'] as const) {
    const prefix = `arbiter-bench:${randomBytes(4).toString('hex')}:`;
    receiver.setMode(mode.endsWith('down') ? 'fail' : 'ok');
    const server = await spawnArbiter({
      ARBITER_REDIS_URL: TEST_REDIS_URL,
      ARBITER_REDIS_PREFIX: prefix,
      ARBITER_LOG_LEVEL: 'error',
      ...(mode !== 'export off' && {
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf',
      }),
    });
    try {
      const sessions = Array.from({ length: CLIENTS }, (_, c) => `export-bench-${c}-${randomBytes(3).toString('hex')}`);
      await runLoad(
        server.url,
        sessions.map((s) => `${s}-warm`),
        300,
      );
      const before = receiver.records().length;
      const r = await runLoad(server.url, sessions, MEASURED);
      await sleep(1000);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const backlog = /^arbiter_outbox_depth (\d+)/m.exec(metrics)?.[1] ?? '-';
      const exported = receiver.records().length - before;
      const row = `| ${mode} | ${r.decisions} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${mode === 'export off' ? '-' : exported} | ${mode === 'export off' ? '-' : backlog} |`;
      rows.push(row);
      console.log(row);
    } finally {
      await server.stop();
      await deleteKeys(TEST_REDIS_URL, prefix);
    }
  }
} finally {
  agent.destroy();
  await receiver.close();
}
console.log(
  '\n| mode | decisions timed | decisions/s | p50 ms | p99 ms | records received 1 s after | outbox backlog 1 s after |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
