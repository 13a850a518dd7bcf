/**
 * Arbiter beside `opa run --server` and a bare node:http echo (issue 11, item 6): every
 * server started side by side in one run, driven one at a time with the same closed-loop
 * load, rounds interleaved so that the shared machine's drift falls on all of them alike.
 *
 *   make bench-compare   (or: node --import tsx bench/compare.ts [--write BENCHMARKS.md])
 *
 * For each policy (the shipped one; a one-rule one beside the core library) it starts
 * Arbiter on Redis (its own key prefix, removed after) and on the memory store, `opa run
 * --server` on the same Rego and data with the decision log on the console and off, and
 * bench/echo.ts. Closed-loop load from `wrk` when it is on PATH, else from node
 * (bench/drive.ts). On the shipped policy it also sweeps the connection count (the
 * latency-against-load plot) and runs Arbiter open loop at half its throughput. Prints the
 * figures, the ratios and the issue's targets; with --write, replaces the generated part of
 * the file between the bench-compare markers and writes the plot beside it.
 *
 * Bounded: BENCH_SECONDS (4) per measured round, BENCH_ROUNDS (2), BENCH_WARMUP_SECONDS
 * (2), BENCH_CONNECTIONS (16), BENCH_SWEEP (1,4,16,64 connections, BENCH_SWEEP_SECONDS 2
 * each); BENCH_GENERATOR=node forces the node load generator. About three minutes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteKeys, TEST_REDIS_URL } from '../test/support/arbiter.js';
import { freePort, spawnArbiter } from '../test/support/process.js';
import { closedLoop, closedLoopGenerator, openLoop, type LoadFigures, type Target } from './drive.js';
import { latencyPlot, type Series } from './plot.js';

const ROOT = join(import.meta.dirname, '..');
const OPA = process.env.ARBITER_OPA ?? join(ROOT, '.tools', 'bin', 'opa');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SWEEP = (process.env.BENCH_SWEEP ?? '1,4,16,64').split(',').map(Number);
const SWEEP_SECONDS = Number(process.env.BENCH_SWEEP_SECONDS ?? 2);
const SESSIONS = 64;
const generator = process.env.BENCH_GENERATOR === 'node' ? 'node' : closedLoopGenerator();

const writeTo = process.argv.includes('--write') ? process.argv[process.argv.indexOf('--write') + 1] : undefined;
const BEGIN = '<!-- bench-compare:begin (written by bench/compare.ts) -->';
const END = '<!-- bench-compare:end -->';

/** The one-rule policy: a single rule package beside the core library, which always loads. */
const ONE_RULE = `package aarm.rules.bench_one

import rego.v1

findings contains {"effect": "ALLOW", "policy_id": "bench-one", "reason": "reads are allowed"} if {
	input.action.operation == "read"
}
`;

type PolicyName = 'shipped' | 'one-rule';
const SERVERS = [
  'Arbiter, Redis, receipts signed',
  'Arbiter, memory store',
  'opa run --server, decision log on console',
  'opa run --server, no decision log',
  'node:http JSON echo',
] as const;
type ServerName = (typeof SERVERS)[number];

interface Running {
  name: ServerName;
  target: Target;
  /** A well-formed allow from this server, checked once before it is timed. */
  allows(text: string): boolean;
  stop(): Promise<void>;
}

/** Starts a process and waits (bounded) until `ready` answers 200. */
async function spawnServer(command: string, args: string[], env: Record<string, string>, ready: string) {
  const child: ChildProcess = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(ready)).status === 200) return stop;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`${command} did not become ready: ${stderr}`);
}

const run = randomBytes(4).toString('hex');
const decideBodies = Array.from({ length: SESSIONS }, (_, i) =>
  JSON.stringify({
    action: { tool: 'files.read', operation: 'read', parameters: { path: '/docs/onboarding.md' } },
    session: { id: `bench-compare-${run}-${i}`, intent: 'summarise the onboarding guide' },
    identity: { agent: 'bench-agent', human: 'alice' },
  }),
);
/** What Arbiter sends its policy for that request (test/cases/benign-file-read.json), as OPA's input. */
const opaBody = JSON.stringify({
  input: (
    JSON.parse(readFileSync(join(ROOT, 'test', 'cases', 'benign-file-read.json'), 'utf8')) as Record<
      string,
      { input: unknown }
    >
  )['benign-file-read']!.input,
});

async function startServers(policy: PolicyName, policyDir: string, prefixes: string[]): Promise<Running[]> {
  const arbiterEnv: Record<string, string> = policy === 'one-rule' ? { ARBITER_POLICY_DIR: policyDir } : {};
  const arbiterAllows = (text: string) => (JSON.parse(text) as { decision?: string }).decision === 'ALLOW';
  const arbiter = async (name: ServerName, env: Record<string, string>): Promise<Running> => {
    const server = await spawnArbiter({ ARBITER_LOG_LEVEL: 'error', ...arbiterEnv, ...env });
    return {
      name,
      target: { url: server.url, path: '/v1/decide', bodies: decideBodies },
      allows: arbiterAllows,
      stop: server.stop,
    };
  };
  const opa = async (name: ServerName, log: boolean): Promise<Running> => {
    const port = await freePort();
    const sources = policy === 'shipped' ? ['rego'] : ['rego/aarm', policyDir];
    const args = ['run', '--server', '--addr', `127.0.0.1:${port}`, '--ignore', '*_test.rego', '--log-level', 'error'];
    if (log) args.push('--set', 'decision_logs.console=true');
    const url = `http://127.0.0.1:${port}`;
    const stop = await spawnServer(OPA, [...args, ...sources], {}, `${url}/health`);
    return {
      name,
      target: { url, path: '/v1/data/aarm/decision', bodies: [opaBody] },
      allows: (text) => (JSON.parse(text) as { result?: { decision?: string } }).result?.decision === 'ALLOW',
      stop,
    };
  };
  const echo = async (): Promise<Running> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const stop = await spawnServer(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'bench', 'echo.ts')],
      { PORT: String(port) },
      url,
    );
    return { name: 'node:http JSON echo', target: { url, path: '/', bodies: decideBodies }, allows: () => true, stop };
  };
  const prefix = `arbiter-bench:${run}:${policy}:`;
  prefixes.push(prefix);
  const started: Running[] = [];
  try {
    started.push(
      await arbiter('Arbiter, Redis, receipts signed', {
        ARBITER_REDIS_URL: TEST_REDIS_URL,
        ARBITER_REDIS_PREFIX: prefix,
      }),
    );
    started.push(await arbiter('Arbiter, memory store', {}));
    started.push(await opa('opa run --server, decision log on console', true));
    started.push(await opa('opa run --server, no decision log', false));
    started.push(await echo());
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw err;
  }
  for (const s of started) {
    const res = await fetch(`${s.target.url}${s.target.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: s.target.bodies[0],
    });
    const text = await res.text();
    if (res.status !== 200 || !s.allows(text)) {
      await Promise.all(started.map((x) => x.stop()));
      throw new Error(
        `${s.name} (${policy}) did not allow the benchmark's request: ${res.status} ${text.slice(0, 300)}`,
      );
    }
  }
  return started;
}

interface Summary {
  rounds: LoadFigures[];
  mean: number;
  min: number;
  max: number;
  /** The worst of the rounds: a tail is not averaged away. */
  p50: number;
  p99: number;
  p999: number;
  errors: number;
}

function summarise(rounds: LoadFigures[]): Summary {
  const rates = rounds.map((r) => r.perSecond);
  return {
    rounds,
    mean: rates.reduce((a, b) => a + b, 0) / rates.length,
    min: Math.min(...rates),
    max: Math.max(...rates),
    p50: Math.max(...rounds.map((r) => r.p50)),
    p99: Math.max(...rounds.map((r) => r.p99)),
    p999: Math.max(...rounds.map((r) => r.p999)),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
  };
}

const results = new Map<string, Summary>();
const key = (policy: PolicyName, server: ServerName) => `${policy}\0${server}`;
const sweep: Series[] = [];
const openLoopRows: string[] = [];
/** Arbiter on Redis, open loop at half its closed-loop rate: the p99 of the latency target. */
let halfRateP99 = NaN;
const load = loadavg().map((l) => l.toFixed(1));
const scratch = mkdtempSync(join(tmpdir(), 'arbiter-bench-compare-'));
writeFileSync(join(scratch, 'one_rule.rego'), ONE_RULE);
const prefixes: string[] = [];
const log = (line: string) => console.error(line);

try {
  for (const policy of ['shipped', 'one-rule'] as const) {
    log(`${policy} policy: starting ${SERVERS.length} servers`);
    const servers = await startServers(policy, scratch, prefixes);
    try {
      for (const s of servers) await closedLoop(generator, s.target, CONNECTIONS, WARMUP_SECONDS);
      const rounds = new Map<ServerName, LoadFigures[]>();
      for (let round = 1; round <= ROUNDS; round++) {
        for (const s of servers) {
          const r = await closedLoop(generator, s.target, CONNECTIONS, SECONDS);
          log(
            `  round ${round} ${s.name}: ${r.perSecond.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} p99.9 ${r.p999.toFixed(2)} ms, errors ${r.errors}`,
          );
          rounds.set(s.name, [...(rounds.get(s.name) ?? []), r]);
        }
      }
      for (const [name, rs] of rounds) results.set(key(policy, name), summarise(rs));
      if (policy !== 'shipped') continue;
      const points = new Map<ServerName, Series['points']>();
      for (const connections of SWEEP) {
        for (const s of servers) {
          const r = await closedLoop(generator, s.target, connections, SWEEP_SECONDS);
          log(`  sweep c=${connections} ${s.name}: ${r.perSecond.toFixed(0)} req/s, p99 ${r.p99.toFixed(2)} ms`);
          points.set(s.name, [
            ...(points.get(s.name) ?? []),
            { x: r.perSecond, p50: r.p50, p99: r.p99, label: `${connections} connections` },
          ]);
        }
      }
      for (const [name, ps] of points) sweep.push({ name, points: ps });
      // The issue's latency target: p99 at half of the saturation rate just measured.
      for (const s of servers.filter((x) => x.name.startsWith('Arbiter'))) {
        const rate = Math.max(1, Math.round(results.get(key(policy, s.name))!.mean / 2));
        const r = await openLoop(s.target, rate, SECONDS);
        log(
          `  open loop ${s.name} at ${rate}/s: p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms, errors ${r.errors}`,
        );
        if (s.name === 'Arbiter, Redis, receipts signed') halfRateP99 = r.p99;
        openLoopRows.push(
          `| ${s.name} | ${rate} | ${r.requests} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.p999.toFixed(2)} | ${r.errors} |`,
        );
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  }
} finally {
  for (const prefix of prefixes) await deleteKeys(TEST_REDIS_URL, prefix);
  rmSync(scratch, { recursive: true, force: true });
}

const get = (policy: PolicyName, server: ServerName) => results.get(key(policy, server))!;
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
const cell = (s: Summary) =>
  `${s.mean.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)}) | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.p999)}`;
const ratio = (a: Summary, b: Summary) => a.mean / b.mean;
const [redis, memory, opaLog, opaQuiet, echo] = SERVERS;
const targets = [
  {
    what: 'Arbiter on Redis ÷ node:http echo, one-rule policy',
    want: '≥ 0.10',
    value: ratio(get('one-rule', redis), get('one-rule', echo)),
    met: (v: number) => v >= 0.1,
  },
  {
    what: 'Arbiter on Redis ÷ `opa run --server` with decision log, shipped policy',
    want: '≥ 3',
    value: ratio(get('shipped', redis), get('shipped', opaLog)),
    met: (v: number) => v >= 3,
  },
  {
    what: 'Arbiter on Redis, p99 ms at half its saturation rate (open loop, shipped policy)',
    want: '≤ 5 ms',
    value: halfRateP99,
    met: (v: number) => v <= 5,
  },
];
const wrkVersion = generator === 'wrk' ? 'wrk' : 'the node load generator (bench/drive.ts; wrk not on PATH)';
const svgName = 'bench-compare-latency.svg';
const lines = [
  BEGIN,
  '',
  `Run of ${new Date().toISOString().slice(0, 10)}, \`make bench-compare\`; closed-loop load from ${wrkVersion}, ` +
    `${CONNECTIONS} connections, ${SECONDS} s per round, ${ROUNDS} rounds interleaved after a ${WARMUP_SECONDS} s warm-up ` +
    `each; load average before the run ${load.join(' / ')} on ${availableParallelism()} cores. req/s: mean of the rounds (range); ` +
    'latencies in ms: the worst round.',
  '',
  '| server | shipped req/s | p50 | p99 | p99.9 | one-rule req/s | p50 | p99 | p99.9 | errors |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...SERVERS.map(
    (s) =>
      `| ${s} | ${cell(get('shipped', s))} | ${cell(get('one-rule', s))} | ${get('shipped', s).errors + get('one-rule', s).errors} |`,
  ),
  '',
  '| ratio (same run) | shipped | one-rule |',
  '| --- | --- | --- |',
  ...(
    [
      ['Arbiter Redis ÷ echo', redis, echo],
      ['Arbiter memory ÷ echo', memory, echo],
      ['Arbiter Redis ÷ opa, decision log', redis, opaLog],
      ['Arbiter Redis ÷ opa, no decision log', redis, opaQuiet],
      ['Arbiter memory ÷ opa, no decision log', memory, opaQuiet],
    ] as const
  ).map(
    ([label, a, b]) =>
      `| ${label} | ${ratio(get('shipped', a), get('shipped', b)).toFixed(3)} | ${ratio(get('one-rule', a), get('one-rule', b)).toFixed(3)} |`,
  ),
  '',
  '| issue 11 target | wanted | measured | |',
  '| --- | --- | --- | --- |',
  ...targets.map((t) => `| ${t.what} | ${t.want} | ${t.value.toFixed(3)} | ${t.met(t.value) ? 'met' : '**missed**'} |`),
  '',
  `Open loop on the shipped policy, ${SECONDS} s at half the rate each reached closed loop (latency from when a request was due):`,
  '',
  '| server | rate /s | answered | p50 ms | p99 ms | p99.9 ms | errors |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...openLoopRows,
  '',
  `Latency against load on the shipped policy, ${SWEEP.join(', ')} connections, ${SWEEP_SECONDS} s each:`,
  '',
  `![latency against load](bench/${svgName})`,
  '',
  '| server | ' + SWEEP.map((c) => `${c} conn: req/s, p50, p99`).join(' | ') + ' |',
  '| --- | ' + SWEEP.map(() => '---').join(' | ') + ' |',
  ...sweep.map(
    (s) => `| ${s.name} | ${s.points.map((p) => `${p.x.toFixed(0)}, ${fmt(p.p50)}, ${fmt(p.p99)}`).join(' | ')} |`,
  ),
  '',
  END,
];
const markdown = lines.join('\n');
console.log(markdown);
if (writeTo) {
  const svg = latencyPlot('Latency against load, shipped policy (closed loop)', sweep);
  const svgPath = join(ROOT, 'bench', svgName);
  writeFileSync(svgPath, svg);
  const text = readFileSync(writeTo, 'utf8');
  const from = text.indexOf(BEGIN);
  const to = text.indexOf(END);
  if (from < 0 || to < from) throw new Error(`${writeTo} has no bench-compare markers to write between`);
  writeFileSync(writeTo, text.slice(0, from) + markdown + text.slice(to + END.length));
  console.error(`wrote ${writeTo} and ${relative(process.cwd(), svgPath)}`);
}
