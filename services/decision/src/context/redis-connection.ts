/**
 * One place that turns ARBITER_REDIS_URL into an ioredis client, for the three ways Redis
 * is run in production:
 *
 *   redis://[user:password@]host:6379[/db]            one server (rediss:// for TLS)
 *   redis+sentinel://[:password@]s1:26379,s2:26379/<master>[?tls=1]
 *                                                      Sentinel: the client asks the sentinels
 *                                                      for the current primary and follows failovers
 *   redis+cluster://[:password@]n1:6379,n2:6379[?tls=1] Redis Cluster
 *
 * A password given separately (ARBITER_REDIS_PASSWORD, e.g. from a Kubernetes secret)
 * wins over one in the URL.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

export interface ConnectionOptions {
  url: string;
  password?: string;
  timeoutMs: number;
  /**
   * PEM CA bundle trusted for this connection's TLS only (ARBITER_REDIS_TLS_CA). Given to
   * ioredis as `tls.ca` rather than NODE_EXTRA_CA_CERTS, which would make every outbound
   * TLS connection of the process (JWKS, webhooks, OTLP, embeddings) trust it too.
   */
  tlsCa?: string;
  /**
   * A pub/sub subscriber: it waits for messages indefinitely and re-subscribes after a
   * reconnect, so it queues while disconnected and has no command timeout.
   */
  subscriber?: boolean;
}

interface Endpoint {
  host: string;
  port: number;
}

function endpoints(list: string, defaultPort: number): Endpoint[] {
  return list.split(',').map((hostPort) => {
    const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(hostPort.trim());
    if (!m || !m[1]) throw new Error(`invalid Redis host "${hostPort}"`);
    return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
  });
}

/** The parts of a multi-host URL, which URL() cannot parse (several hosts in the authority). */
function parseMultiHost(url: string): {
  tls: boolean;
  password?: string;
  username?: string;
  hosts: string;
  path: string;
  query: URLSearchParams;
} {
  const m = /^(rediss?)\+(?:sentinel|cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]+)(\/[^?]*)?(?:\?(.*))?$/.exec(
    url,
  );
  if (!m) throw new Error('invalid Redis URL');
  const query = new URLSearchParams(m[6] ?? '');
  return {
    tls: m[1] === 'rediss' || query.get('tls') === '1' || query.get('tls') === 'true',
    ...(m[2] ? { username: decodeURIComponent(m[2]) } : {}),
    ...(m[3] !== undefined ? { password: decodeURIComponent(m[3]) } : {}),
    hosts: m[4]!,
    path: m[5] ?? '',
    query,
  };
}

export function connectRedis(options: ConnectionOptions): RedisClient {
  const tls = options.tlsCa !== undefined ? { ca: options.tlsCa } : {};
  const common: RedisOptions = {
    // Fail fast instead of queueing: a decision waiting on a dead Redis must become a
    // 503 DENY within the timeout, not hang (fail closed, bounded waits).
    enableOfflineQueue: options.subscriber === true,
    maxRetriesPerRequest: options.subscriber ? null : 0,
    ...(!options.subscriber && { commandTimeout: options.timeoutMs }),
    connectTimeout: options.timeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  };
  const { url } = options;
  if (url.startsWith('redis+sentinel://') || url.startsWith('rediss+sentinel://')) {
    const p = parseMultiHost(url);
    const name = p.path.replace(/^\//, '').split('/')[0];
    if (!name) throw new Error('a redis+sentinel:// URL names the primary after the hosts: …/mymaster');
    const password = options.password ?? p.password;
    return new Redis({
      ...common,
      sentinels: endpoints(p.hosts, 26379),
      name,
      ...(password !== undefined && { password }),
      ...(p.query.get('sentinelPassword') !== null && { sentinelPassword: p.query.get('sentinelPassword')! }),
      ...(p.tls && { tls, enableTLSForSentinelMode: true }),
      // After a failover the client reconnects to the new primary found through the sentinels.
      sentinelRetryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
  }
  if (url.startsWith('redis+cluster://') || url.startsWith('rediss+cluster://')) {
    const p = parseMultiHost(url);
    const password = options.password ?? p.password;
    const clusterOptions: ClusterOptions = {
      enableOfflineQueue: options.subscriber === true,
      redisOptions: {
        ...common,
        ...(password !== undefined && { password }),
        ...(p.username !== undefined && { username: p.username }),
        ...(p.tls && { tls }),
      },
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2000),
      slotsRefreshTimeout: options.timeoutMs,
    };
    return new Cluster(endpoints(p.hosts, 6379), clusterOptions);
  }
  return new Redis(url, {
    ...common,
    ...(options.password !== undefined && { password: options.password }),
    // ioredis turns rediss:// into TLS with the system CAs; the explicit options win.
    ...(url.startsWith('rediss://') && options.tlsCa !== undefined && { tls }),
  });
}
