/**
 * Runs Arbiter as a separate OS process (`arbiter serve`), for tests that need several
 * replicas or must kill one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'services', 'decision', 'src', 'cli', 'main.ts');

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ArbiterProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `arbiter serve` and waits (bounded) until /readyz answers 200. */
export async function spawnArbiter(env: Record<string, string>): Promise<ArbiterProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ARBITER_PORT: String(port),
      ARBITER_LOG_LEVEL: 'warn',
      ARBITER_POLICY_POLL_MS: '0',
      ...(process.env.ARBITER_OPA ? { ARBITER_OPA: process.env.ARBITER_OPA } : {}),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`arbiter exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) {
        return {
          url,
          child,
          stop: async () => {
            if (child.exitCode !== null) return;
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGTERM');
            await exited;
          },
        };
      }
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`arbiter did not become ready: ${stderr}`);
}

/** POST /v1/decide to a replica, as a PEP would. */
export async function postDecide(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/v1/decide`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}
