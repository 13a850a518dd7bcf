/**
 * Load drivers for bench/compare.ts. Closed loop (a fixed number of connections, each
 * sending its next request when the last one answered): `wrk` when it is on PATH, else an
 * in-process node:http generator with keep-alive. Open loop (requests sent at a fixed rate,
 * each timed from when it was due, so a stall is not hidden by the requests it delayed):
 * always the node one. Every driver is bounded by its duration.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { quantile } from './load.js';

const execFileAsync = promisify(execFile);

/** Where to send and what: `bodies` are sent in turn (one session each, for Arbiter). */
export interface Target {
  url: string;
  path: string;
  bodies: string[];
}

export interface LoadFigures {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  p999: number;
  /** Answers other than 2xx, and requests that failed on the socket: a valid run has none. */
  errors: number;
}

export type Generator = 'wrk' | 'node';

export function closedLoopGenerator(): Generator {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (err) {
    // wrk --version exits 1 after printing its version: it is there.
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'node' : 'wrk';
  }
}

/** The wrk script: the bodies in turn, and one machine-readable line at the end. */
function wrkScript(target: Target): string {
  const bodies = target.bodies.map((b) => `[==[${b}]==]`).join(',\n');
  return `local bodies = {${bodies}}
local headers = { ["Content-Type"] = "application/json" }
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "${target.path}", headers, bodies[(n % #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %.1f %.1f %.1f\\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
`;
}

async function wrkLoad(target: Target, connections: number, seconds: number): Promise<LoadFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'arbiter-wrk-'));
  try {
    const script = join(dir, 'load.lua');
    writeFileSync(script, wrkScript(target));
    const { stdout } = await execFileAsync(
      'wrk',
      ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, target.url],
      { timeout: (seconds + 30) * 1000 },
    );
    const line = /^BENCH (.*)$/m.exec(stdout)?.[1];
    if (!line) throw new Error(`wrk printed no figures: ${stdout}`);
    const [requests, durationUs, status, socket, p50, p99, p999] = line.split(' ').map(Number) as number[];
    return {
      requests: requests!,
      perSecond: requests! / (durationUs! / 1e6),
      p50: p50! / 1000,
      p99: p99! / 1000,
      p999: p999! / 1000,
      errors: status! + socket!,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One POST; resolves with whether it was a 2xx. */
function post(agent: Agent, target: Target, body: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${target.url}${target.path}`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

function figures(latencies: number[], errors: number, seconds: number): LoadFigures {
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    perSecond: latencies.length / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    p999: quantile(latencies, 0.999),
    errors,
  };
}

async function nodeLoad(target: Target, connections: number, seconds: number): Promise<LoadFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < end) {
          const body = target.bodies[n++ % target.bodies.length]!;
          const sent = performance.now();
          if (await post(agent, target, body)) latencies.push(performance.now() - sent);
          else errors++;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return figures(latencies, errors, (performance.now() - started) / 1000);
}

/** `connections` connections back to back for `seconds`. */
export function closedLoop(
  generator: Generator,
  target: Target,
  connections: number,
  seconds: number,
): Promise<LoadFigures> {
  return generator === 'wrk' ? wrkLoad(target, connections, seconds) : nodeLoad(target, connections, seconds);
}

/**
 * `rate` requests a second for `seconds`, whatever the answers do; latency counts from when
 * a request was due. Requests still open at the end are waited for (each is bounded).
 */
export async function openLoop(target: Target, rate: number, seconds: number): Promise<LoadFigures> {
  const agent = new Agent({ keepAlive: true });
  const latencies: number[] = [];
  const pending: Array<Promise<void>> = [];
  let errors = 0;
  const total = Math.round(rate * seconds);
  const started = performance.now();
  try {
    await new Promise<void>((resolve) => {
      let sent = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        while (sent < total && started + (sent * 1000) / rate <= now) {
          const due = started + (sent * 1000) / rate;
          const body = target.bodies[sent % target.bodies.length]!;
          sent++;
          pending.push(
            post(agent, target, body).then((ok) => {
              if (ok) latencies.push(performance.now() - due);
              else errors++;
            }),
          );
        }
        if (sent >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    await Promise.all(pending);
  } finally {
    agent.destroy();
  }
  return figures(latencies, errors, seconds);
}
