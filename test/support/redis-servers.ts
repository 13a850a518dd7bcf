/**
 * Real redis-server processes on loopback ports for the high-availability tests: a
 * three-primary Cluster, and a primary with a replica under Sentinel. Nothing on disk
 * beyond a temporary folder removed at stop().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './process.js';

export interface RedisProcess {
  port: number;
  child: ChildProcess;
}

async function startServer(args: string[], port: number, ready: RegExp): Promise<RedisProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server on ${port} did not start: ${output.slice(-500)}`)),
      10_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`redis-server on ${port} exited with ${code}: ${output.slice(-500)}`)),
    );
  });
  child.removeAllListeners('exit');
  return { port, child };
}

function cli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout}${r.stderr}`;
}

async function stopAll(processes: RedisProcess[], dir: string): Promise<void> {
  await Promise.all(
    processes.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }),
  );
  rmSync(dir, { recursive: true, force: true });
}

const BASE = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];

export interface RedisCluster {
  url: string;
  nodes: RedisProcess[];
  /** Keys held by each node (to see that sessions spread over the primaries). */
  keysPerNode(): number[];
  stop(): Promise<void>;
}

export async function startCluster(primaries = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'arbiter-cluster-'));
  const nodes: RedisProcess[] = [];
  try {
    for (let i = 0; i < primaries; i++) {
      const port = await freePort();
      nodes.push(
        await startServer(
          [
            ...BASE,
            '--port',
            String(port),
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--dir',
            dir,
          ],
          port,
          /Ready to accept connections/,
        ),
      );
    }
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (created.status !== 0) throw new Error(`cluster create failed: ${created.stdout}${created.stderr}`);
    for (let i = 0; i < 100 && !nodes.every((n) => cli(n.port, 'cluster', 'info').includes('cluster_state:ok')); i++)
      await sleep(100);
    return {
      url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
      nodes,
      keysPerNode: () => nodes.map((n) => Number.parseInt(cli(n.port, 'dbsize').trim(), 10)),
      stop: () => stopAll(nodes, dir),
    };
  } catch (err) {
    await stopAll(nodes, dir);
    throw err;
  }
}

export interface RedisSentinel {
  url: string;
  primary: RedisProcess;
  replica: RedisProcess;
  sentinel: RedisProcess;
  /** The port of the primary the sentinel currently names. */
  currentPrimaryPort(): number;
  /** Starts a fresh replica of the current primary (as a replacement pod would be). */
  addReplica(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSentinel(): Promise<RedisSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'arbiter-sentinel-'));
  const processes: RedisProcess[] = [];
  try {
    const primaryPort = await freePort();
    const primary = await startServer(
      [...BASE, '--port', String(primaryPort), '--dir', dir],
      primaryPort,
      /Ready to accept connections/,
    );
    processes.push(primary);
    const replicaPort = await freePort();
    const replica = await startServer(
      [...BASE, '--port', String(replicaPort), '--dir', dir, '--replicaof', '127.0.0.1', String(primaryPort)],
      replicaPort,
      /Ready to accept connections/,
    );
    processes.push(replica);
    for (let i = 0; i < 100 && !cli(replicaPort, 'info', 'replication').includes('master_link_status:up'); i++)
      await sleep(100);
    const sentinelPort = await freePort();
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor mymaster 127.0.0.1 ${primaryPort} 1`,
        'sentinel down-after-milliseconds mymaster 500',
        'sentinel failover-timeout mymaster 3000',
        'sentinel parallel-syncs mymaster 1',
        '',
      ].join('\n'),
    );
    const sentinel = await startServer([conf, '--sentinel'], sentinelPort, /Sentinel ID is|monitor master/);
    processes.push(sentinel);
    return {
      url: `redis+sentinel://127.0.0.1:${sentinelPort}/mymaster`,
      primary,
      replica,
      sentinel,
      currentPrimaryPort: () => {
        const out = cli(sentinelPort, 'sentinel', 'get-master-addr-by-name', 'mymaster').trim().split('\n');
        return Number(out[1]);
      },
      addReplica: async () => {
        const current = Number(
          cli(sentinelPort, 'sentinel', 'get-master-addr-by-name', 'mymaster').trim().split('\n')[1],
        );
        const port = await freePort();
        processes.push(
          await startServer(
            [
              ...BASE,
              '--port',
              String(port),
              '--dir',
              join(dir),
              '--dbfilename',
              `dump-${port}.rdb`,
              '--replicaof',
              '127.0.0.1',
              String(current),
            ],
            port,
            /Ready to accept connections/,
          ),
        );
        for (let i = 0; i < 100 && !cli(port, 'info', 'replication').includes('master_link_status:up'); i++)
          await sleep(100);
      },
      stop: () => stopAll(processes, dir),
    };
  } catch (err) {
    await stopAll(processes, dir);
    throw err;
  }
}

export interface RedisServer {
  url: string;
  port: number;
  /** SIGKILL: no shutdown; only what the append-only file already holds survives. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data folder, and waits until it serves. */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing is answered (a stalled server). */
  pause(): void;
  /** SIGCONT: it answers what was sent while it was paused. */
  resume(): void;
  stop(): Promise<void>;
}

/**
 * One durable server for fault injection: every write is fsynced to the append-only file
 * before it is acknowledged (appendfsync always), so a SIGKILL loses nothing that was
 * acknowledged, as on a primary configured not to lose commits.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'arbiter-redis-'));
  const port = await freePort();
  const args = [
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'no',
    '--port',
    String(port),
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
  ];
  let current = await startServer(args, port, /Ready to accept connections/);
  const alive = () => current.child.exitCode === null && current.child.signalCode === null;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: async () => {
      if (!alive()) return;
      const exited = new Promise((resolve) => current.child.once('exit', resolve));
      current.child.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      if (alive()) throw new Error(`redis-server on ${port} is still running`);
      current = await startServer(args, port, /Ready to accept connections/);
    },
    pause: () => {
      current.child.kill('SIGSTOP');
    },
    resume: () => {
      current.child.kill('SIGCONT');
    },
    stop: () => stopAll([current], dir),
  };
}
