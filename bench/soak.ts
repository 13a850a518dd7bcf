/**
 * A soak of the embedded in-memory store (issue 12): mixed traffic with large parameters
 * for SOAK_MINUTES, with sessions opening and going idle until the TTL frees them, and
 * the resident memory of the `arbiter serve` process sampled over time.
 *
 *   node --import tsx bench/soak.ts                     (2 minutes)
 *   SOAK_MINUTES=60 node --import tsx bench/soak.ts     (the hour of the issue)
 *
 * Each client cycles through every kind of decision (ALLOW with an outcome report,
 * MODIFY, DENY, STEP_UP half of them approved, DEFER) and parameters of every shape
 * (a long string, a long array, a wide object), each about SOAK_PARAM_BYTES, and opens a
 * new session every SOAK_SESSION_LENGTH decisions; ARBITER_SESSION_TTL_S is
 * SOAK_SESSION_TTL_S, so the sessions of the first minutes expire during the run. Prints
 * one row per SOAK_SAMPLE_S: RSS (from /proc), heap and event-loop delay (from /metrics),
 * and the answers; then the RSS slope over the second half. Bounded by time, all on
 * 127.0.0.1; a 503 DENY (the store's size cap) is counted, anything else unexpected stops it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnArbiter } from '../test/support/process.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 2);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 4);
const PARAM_BYTES = Number(process.env.SOAK_PARAM_BYTES ?? 32 * 1024);
const SESSION_LENGTH = Number(process.env.SOAK_SESSION_LENGTH ?? 50);
const SESSION_TTL_S = Number(process.env.SOAK_SESSION_TTL_S ?? 60);
const SAMPLE_S = Number(process.env.SOAK_SAMPLE_S ?? 10);
/** After the load: long enough for every session of the load to expire and be swept. */
const DRAIN_S = Number(process.env.SOAK_DRAIN_S ?? SESSION_TTL_S + 2 * SAMPLE_S);

const agent = new Agent({ keepAlive: true, maxSockets: 2 * CLIENTS });

function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  // The sampler's own connection: an idle keep-alive socket would be closed under it.
  via: Agent | false = agent,
): Promise<{ status: number; body: any }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method, agent: via, headers: payload === undefined ? {} : { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // /metrics is text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const WORDS = 'the quarterly figures for the northern region were revised after the audit of'.split(' ');

/** About PARAM_BYTES of parameters, in one of three shapes, different on every call. */
function large(i: number): Record<string, unknown> {
  const word = (k: number) => `${WORDS[k % WORDS.length]}-${i}-${k}`;
  const count = Math.ceil(PARAM_BYTES / 16);
  switch (i % 3) {
    case 0:
      return { text: Array.from({ length: count }, (_, k) => word(k)).join(' ') };
    case 1:
      return { rows: Array.from({ length: count }, (_, k) => word(k)) };
    default:
      return { fields: Object.fromEntries(Array.from({ length: count }, (_, k) => [`f${k}`, word(k)])) };
  }
}

/** One step of the mix: tool, parameters, and what else to do with the answer. */
const MIX: Array<(i: number) => { tool: string; parameters: Record<string, unknown> }> = [
  (i) => ({ tool: 'files.read', parameters: { path: `/reports/${i}.pdf`, ...large(i) } }),
  (i) => ({ tool: 'email.send', parameters: { to: 'x@example.com', subject: `report ${i}`, ...large(i) } }),
  () => ({ tool: 'db.query', parameters: { sql: 'select * from sales', limit: 5000 } }),
  () => ({ tool: 'db.drop', parameters: { database: 'production' } }),
  (i) => ({ tool: 'payments.transfer', parameters: { amount: 5000 + i, currency: 'EUR' } }),
  () => ({ tool: 'credentials.rotate', parameters: { name: 'db' } }),
];

const answers = new Map<string, number>();
const count = (key: string) => answers.set(key, (answers.get(key) ?? 0) + 1);
let decisions = 0;

async function client(url: string, c: number, until: number): Promise<void> {
  let session = '';
  for (let i = 0; Date.now() < until; i++) {
    if (i % SESSION_LENGTH === 0) session = `soak-${c}-${i}-${randomBytes(3).toString('hex')}`;
    const { tool, parameters } = MIX[i % MIX.length]!(i);
    const res = await call(url, 'POST', '/v1/decide', {
      action: { tool, operation: 'write', parameters },
      session: { id: session, intent: 'prepare the quarterly report and send it to the finance team' },
      identity: { agent: `soak-agent-${c}`, human: 'alice' },
    });
    decisions++;
    const key = res.status === 200 ? `200 ${res.body.decision}` : `${res.status} ${res.body?.error?.code}`;
    count(key);
    if (res.status === 503) continue;
    if (res.status !== 200) throw new Error(`unexpected answer ${res.status} ${JSON.stringify(res.body)}`);
    if (res.body.decision === 'ALLOW') {
      const outcome = await call(url, 'POST', `/v1/actions/${res.body.action_id}/outcome`, {
        status: 'success',
        data_classes: ['internal'],
      });
      count(`outcome ${outcome.status}`);
    } else if (res.body.decision === 'STEP_UP' && Math.floor(i / MIX.length) % 2 === 0) {
      const vote = await call(url, 'POST', `/v1/approvals/${res.body.approval.id}`, {
        decision: 'approve',
        approver: 'carol',
      });
      count(`approval ${vote.status} ${vote.body.status ?? ''}`.trim());
    }
  }
}

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

const server = await spawnArbiter({
  ARBITER_LOG_LEVEL: 'error',
  ARBITER_SESSION_TTL_S: String(SESSION_TTL_S),
  ARBITER_MAX_BODY_BYTES: String(Math.max(256 * 1024, 4 * PARAM_BYTES)),
});
const pid = server.child.pid!;
const rows: string[] = [];
const samples: Array<{ phase: string; t: number; rss: number; heap: number }> = [];
const started = Date.now();
const loadUntil = started + MINUTES * 60_000;
const drainUntil = loadUntil + DRAIN_S * 1000;
console.log(
  `soak: ${MINUTES} min, ${CLIENTS} clients, parameters ~${PARAM_BYTES} bytes, ` +
    `new session every ${SESSION_LENGTH} decisions, session TTL ${SESSION_TTL_S} s, then ${DRAIN_S} s of a trickle`,
);
try {
  const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(server.url, c, loadUntil)));
  let failed: unknown;
  load.catch((err: unknown) => (failed = err));
  let last = { at: started, decisions: 0 };
  const sample = async (phase: string) => {
    const now = Date.now();
    const metrics = String((await call(server.url, 'GET', '/metrics', undefined, false)).body);
    const t = (now - started) / 1000;
    const rss = rssMiB(pid);
    const heap = metric(metrics, 'arbiter_nodejs_heap_size_used_bytes') / 2 ** 20;
    samples.push({ phase, t, rss, heap });
    const row =
      `| ${phase} | ${t.toFixed(0)} | ${decisions} | ${((decisions - last.decisions) / ((now - last.at) / 1000)).toFixed(0)} | ` +
      `${rss.toFixed(0)} | ${heap.toFixed(0)} | ` +
      `${(metric(metrics, 'arbiter_nodejs_eventloop_lag_p99_seconds') * 1000).toFixed(1)} | ` +
      `${metric(metrics, 'arbiter_memory_store_refusals_total')} |`;
    rows.push(row);
    console.log(row);
    last = { at: now, decisions };
  };
  await sample('load');
  while (Date.now() < loadUntil && failed === undefined) {
    await sleep(Math.min(SAMPLE_S * 1000, Math.max(0, loadUntil - Date.now())));
    await sample('load');
  }
  await load;
  // The drain: the sessions of the load go idle and expire; one small decision a second
  // keeps the process allocating, so the collector runs as it would in service.
  let nextSample = Date.now() + SAMPLE_S * 1000;
  for (let i = 0; Date.now() < drainUntil; i++) {
    const res = await call(server.url, 'POST', '/v1/decide', {
      action: { tool: 'files.read', operation: 'read', parameters: { path: `/drain/${i}` } },
      session: { id: `soak-drain-${i}-${randomBytes(3).toString('hex')}` },
      identity: { agent: 'soak-agent', human: 'alice' },
    });
    decisions++;
    count(res.status === 200 ? `drain 200 ${res.body.decision}` : `drain ${res.status} ${res.body?.error?.code}`);
    await sleep(1000);
    if (Date.now() >= nextSample) {
      await sample('drain');
      nextSample += SAMPLE_S * 1000;
    }
  }
} finally {
  agent.destroy();
  await server.stop();
}

const load = samples.filter((x) => x.phase === 'load');
const secondHalf = load.filter((x) => x.t >= (MINUTES * 60) / 2).map((x): [number, number] => [x.t, x.rss]);
const end = samples[samples.length - 1]!;
console.log(
  '\n| phase | t s | decisions | decisions/s | RSS MiB | heap used MiB | event-loop p99 ms | memory store refusals |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
console.log(`\nanswers: ${[...answers].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
console.log(
  `RSS under load: start ${load[0]!.rss.toFixed(0)} MiB, peak ${Math.max(...load.map((x) => x.rss)).toFixed(0)} MiB, ` +
    `slope over the second half ${(slope(secondHalf) * 60).toFixed(1)} MiB/min; ` +
    `after the drain: RSS ${end.rss.toFixed(0)} MiB, heap used ${end.heap.toFixed(0)} MiB`,
);
