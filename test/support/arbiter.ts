/**
 * Starts a real Arbiter (real opa build, real WASM, real HTTP, memory or real Redis) for a
 * test, on an ephemeral port and its own Redis key prefix, and cleans up after it.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '../../services/decision/src/config.js';
import { startArbiter, type RunningArbiter } from '../../services/decision/src/main.js';

export const TEST_REDIS_URL = process.env.ARBITER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type StoreKind = 'memory' | 'redis';

export interface TestArbiter extends RunningArbiter {
  prefix: string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  get(path: string): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export async function startTestArbiter(
  options: { store?: StoreKind; env?: Record<string, string>; redisUrl?: string; processWide?: boolean } = {},
): Promise<TestArbiter> {
  const prefix = `arbiter-test:${randomBytes(6).toString('hex')}:`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ARBITER_PORT: '0',
    ARBITER_REDIS_PREFIX: prefix,
    ARBITER_POLICY_POLL_MS: '0',
    ...(process.env.ARBITER_OPA ? { ARBITER_OPA: process.env.ARBITER_OPA } : {}),
    ...(options.store === 'redis' ? { ARBITER_REDIS_URL: options.redisUrl ?? TEST_REDIS_URL } : {}),
    ...options.env,
  };
  const arbiter = await startArbiter(loadConfig(env), {
    logger: pino({ level: 'silent' }),
    processWide: options.processWide ?? false,
  });
  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${arbiter.url}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Prometheus text and the like stay strings.
    }
    return { status: res.status, body: parsed as any };
  };
  return {
    ...arbiter,
    prefix,
    post: (path, body, headers) => request('POST', path, body, headers),
    get: (path) => request('GET', path),
    stop: async () => {
      await arbiter.close();
      if (options.store === 'redis') await deleteKeys(options.redisUrl ?? TEST_REDIS_URL, prefix);
    },
  };
}

export type LogLine = { level: number; msg: string; [key: string]: any };

/**
 * A real Arbiter (memory store) whose log lines are collected as parsed JSON, for the tests
 * of what it tells an operator; `env` is added to the test defaults.
 */
export async function startLoggedArbiter(env: Record<string, string>) {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  const arbiter = await startArbiter(
    loadConfig({
      PATH: process.env.PATH ?? '',
      ARBITER_PORT: '0',
      ARBITER_POLICY_POLL_MS: '0',
      ...(process.env.ARBITER_OPA ? { ARBITER_OPA: process.env.ARBITER_OPA } : {}),
      ...env,
    }),
    { logger: pino({ level: 'info' }, sink) },
  );
  return { arbiter, lines, requests: () => lines.filter((l) => l.msg === 'request') };
}

/** Removes every key a test wrote under its prefix. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  // The HA tests' own Cluster and Sentinel servers are thrown away whole instead.
  if (!/^rediss?:\/\//.test(url)) return;
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // A test that killed its own Redis has nothing left to clean.
  } finally {
    redis.disconnect();
  }
}

/** A decide request with the usual envelope around an action. */
export function decideBody(
  sessionId: string,
  tool: string,
  parameters: Record<string, unknown> = {},
  extra: { actionId?: string; signals?: Record<string, unknown>; intent?: string; agent?: string } = {},
) {
  return {
    action: { ...(extra.actionId && { id: extra.actionId }), tool, operation: 'write', parameters },
    session: { id: sessionId, ...(extra.intent && { intent: extra.intent }) },
    identity: { agent: extra.agent ?? 'agent-1', human: 'alice' },
    signals: extra.signals ?? {},
  };
}

export function uniqueSession(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}
