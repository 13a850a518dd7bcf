/**
 * The load generator the benchmarks share: keep-alive HTTP clients, each on its own
 * session, timing full decide round trips. Bounded by the counts it is given.
 */
import { Agent, request } from 'node:http';

export const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function post(url: string, payload: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/decide`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

function body(session: string, i: number): string {
  return JSON.stringify({
    action: { tool: 'files.read', operation: 'read', parameters: { path: `/data/${i}.csv` } },
    session: { id: session, intent: 'summarise the quarterly files' },
    identity: { agent: 'bench-agent', human: 'alice' },
  });
}

/** One full decision; throws on anything but a 200 ALLOW. Returns its latency in ms. */
export async function decide(url: string, session: string, i: number): Promise<number> {
  const started = performance.now();
  const res = await post(url, body(session, i));
  const answer = JSON.parse(res.text) as { decision?: string };
  if (res.status !== 200 || answer.decision !== 'ALLOW') throw new Error(`unexpected answer ${res.status} ${res.text}`);
  return performance.now() - started;
}

export interface LoadResult {
  decisions: number;
  perSecond: number;
  p50: number;
  p99: number;
}

export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** `clients` concurrent clients, one session each, `perClient` sequential decisions each. */
export async function runLoad(url: string, sessions: string[], perClient: number, offset = 0): Promise<LoadResult> {
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    sessions.map(async (s) => {
      for (let i = 0; i < perClient; i++) latencies.push(await decide(url, s, offset + i));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    decisions: latencies.length,
    perSecond: latencies.length / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}
