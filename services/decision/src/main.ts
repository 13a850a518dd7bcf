/**
 * The composition root: config → stores → policy → keys → HTTP. Nothing else constructs
 * a Redis client, a logger, a clock or a key.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { MemorySessionStore } from './context/memory.js';
import { RedisSessionStore } from './context/redis.js';
import { connectRedis } from './context/redis-connection.js';
import type { SessionStore } from './context/types.js';
import type { CapabilityCheckEvent } from './capabilities/http.js';
import { SessionChain } from './chain/chain.js';
import { createDriftEngine } from './drift/index.js';
import { createApp } from './http/app.js';
import { RedisTokenBuckets, TokenBuckets, type RateLimiter, type RateLimiters } from './http/rate-limit.js';
import { startExpirySweeper } from './enforce/pending.js';
import { createTokenVerifier, type TokenVerifier } from './intercept/identity.js';
import { createWebhookNotifier, NO_NOTIFIER, type Notifier } from './notify/webhooks.js';
import { errorMessage } from './errors.js';
import { PolicyEngine } from './policy/engine.js';
import { snapshotSources } from './policy/sources.js';
import {
  generateSigningKey,
  loadSigningKey,
  publicJwk,
  publicKeyFromPem,
  publicKeysFromJwks,
  type SigningKey,
} from './receipts/keys.js';
import { withMaskingKey } from './receipts/mask.js';
import { createReceiptExporter, type ReceiptExporter } from './telemetry/exporter.js';
import { tlsOptionsOf, watchTls } from './http/tls-reload.js';
import { Metrics } from './telemetry/metrics.js';
import { setupTracing } from './telemetry/tracing.js';

export interface RunningArbiter {
  url: string;
  policy: PolicyEngine;
  store: SessionStore;
  signingKey: SigningKey;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  clock?: () => Date;
  /** Process-wide extras (default Node metrics, the OTel SDK) only for the real process. */
  processWide?: boolean;
  /**
   * Refuse to start when a policy folder cannot be read (`arbiter serve` sets it). Without
   * it the service starts unready and the watcher loads the folders once they appear.
   */
  requirePolicyFolders?: boolean;
}

/**
 * The service cannot start as configured (a busy port, a policy folder that is not there,
 * an unreadable key). The message is one line for the operator; nothing is left running.
 */
export class StartError extends Error {}

type Server = HttpServer | HttpsServer;

const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'the address is not one of this host',
  ENOTFOUND: 'the host name does not resolve',
};

async function listen(server: Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    const problem = (err.code !== undefined ? LISTEN_PROBLEMS[err.code] : undefined) ?? err.message;
    throw new StartError(`cannot listen on ${host}:${port}: ${problem}${err.code ? ` (${err.code})` : ''}`, {
      cause: err,
    });
  });
}

export async function startArbiter(config: Config, options: StartOptions = {}): Promise<RunningArbiter> {
  const logger = options.logger ?? pino({ level: config.logLevel, name: 'arbiter' });
  const clock = options.clock ?? (() => new Date());
  // Checked before anything is started: a misspelt or unmounted folder is an operator's
  // mistake to fix now, not a service that answers 503 until someone reads its log (issue 12).
  if (options.requirePolicyFolders) {
    try {
      snapshotSources(config.policy.coreDir, config.policy.dirs);
    } catch (err) {
      throw new StartError(`cannot load the policy: ${errorMessage(err)}`, { cause: err });
    }
  }
  let signingKey: SigningKey;
  let verifyKeys: SigningKey['publicKey'][];
  let driftApiKey: string | undefined;
  let redisTlsCa: string | undefined;
  let tlsOptions: ServerOptions | undefined;
  try {
    signingKey = config.signingKeyPath
      ? loadSigningKey(readFileSync(config.signingKeyPath, 'utf8'))
      : generateSigningKey();
    if (config.maskingKeyPath) signingKey = withMaskingKey(signingKey, readFileSync(config.maskingKeyPath));
    verifyKeys = config.verifyKeyPaths.map((path) => publicKeyFromPem(readFileSync(path, 'utf8')));
    if (config.drift.mode === 'remote' && config.drift.apiKeyFile !== undefined) {
      driftApiKey = readFileSync(config.drift.apiKeyFile, 'utf8').trim();
    }
    if (config.redis?.tlsCaPath !== undefined) redisTlsCa = readFileSync(config.redis.tlsCaPath, 'utf8');
    if (config.tls) tlsOptions = tlsOptionsOf(config.tls);
  } catch (err) {
    throw new StartError(`cannot load the keys: ${errorMessage(err)}`, { cause: err });
  }
  const tracing = options.processWide ? setupTracing(config.otel) : { shutdown: async () => {} };
  const metrics = new Metrics({ defaultMetrics: options.processWide ?? false });

  const exporting = config.export !== undefined;
  const store: SessionStore = config.redis
    ? new RedisSessionStore(
        {
          ...config.redis,
          ...(redisTlsCa !== undefined && { tlsCa: redisTlsCa }),
          ttlSeconds: config.sessionTtlSeconds,
          outbox: exporting,
          revocationTtlSeconds: config.revocationTtlSeconds,
        },
        (err) => logger.warn({ err: err.message }, 'redis connection error'),
      )
    : new MemorySessionStore(config.sessionTtlSeconds, Date.now, {
        outbox: exporting,
        revocationTtlSeconds: config.revocationTtlSeconds,
        maxBytes: config.memoryMaxBytes,
        onRefused: () => metrics.memoryStoreRefusals.inc(),
      });
  // Rate limits live where the sessions do: in Redis a bucket is shared by every replica.
  const limiterRedis =
    config.rateLimit && config.redis
      ? connectRedis({ ...config.redis, ...(redisTlsCa !== undefined && { tlsCa: redisTlsCa }) })
      : undefined;
  limiterRedis?.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error (rate limits)'));
  const bucketsOf = (settings: { rps: number; burst: number }): RateLimiter =>
    limiterRedis
      ? new RedisTokenBuckets(limiterRedis, config.prefix, settings)
      : new TokenBuckets({ ...settings, maxCallers: config.rateLimit?.maxCallers ?? 1 });
  const rateLimiters: RateLimiters | undefined = config.rateLimit && {
    ...(config.rateLimit.caller && { caller: bucketsOf(config.rateLimit.caller) }),
    ...(config.rateLimit.tenant && { tenant: bucketsOf(config.rateLimit.tenant) }),
  };
  if (!config.redis) {
    logger.warn(
      { max_bytes: config.memoryMaxBytes },
      'ARBITER_REDIS_URL is not set: using the embedded in-memory store (one process, nothing survives a restart)',
    );
  }
  if (!exporting) {
    logger.warn(
      { store: store.kind, session_ttl_s: config.sessionTtlSeconds },
      `no OTLP export configured (OTEL_EXPORTER_OTLP_ENDPOINT unset): receipts are kept only in the ${store.kind} store and deleted with their session ${config.sessionTtlSeconds} s after its last write (docs/export.md)`,
    );
  }

  if (!config.signingKeyPath) {
    logger.warn({ kid: signingKey.kid }, 'ARBITER_SIGNING_KEY is not set: receipts are signed with an ephemeral key');
  }
  // After a rotation the old public keys stay published, so old receipts still verify.
  const jwks = {
    keys: [signingKey.publicKey, ...verifyKeys]
      .map(publicJwk)
      .filter((jwk, i, all) => all.findIndex((k) => k.kid === jwk.kid) === i),
  };

  let verifier: TokenVerifier | undefined;
  if (config.auth.mode === 'jwt') {
    const { mode: _mode, ...options } = config.auth;
    verifier = createTokenVerifier({ ...options, now: clock });
  } else if (config.auth.exposed) {
    // Allowed only by ARBITER_INSECURE_ALLOW_NO_AUTH=true (config.ts); said at error level so
    // it stands out in any log pipeline that filters warnings.
    logger.error(
      { host: config.host, port: config.port },
      `INSECURE: ARBITER_AUTH=off on ${config.host}, a non-loopback address (ARBITER_INSECURE_ALLOW_NO_AUTH=true): ` +
        'anyone who reaches the port holds every role, admin included, and names any agent or approver it likes',
    );
  } else {
    logger.warn(
      'ARBITER_AUTH=off: callers are not authenticated and agent ids are taken as sent (receipts say "verified": false)',
    );
  }

  const policy = new PolicyEngine({
    ...config.policy,
    capabilities: config.policy.wasmCapabilities,
    timeoutMs: config.policy.compileTimeoutMs,
    now: clock,
    // The decision that was evaluating is answered 503 DENY; the others keep their workers.
    onWorkerReplaced: (event) => {
      metrics.evalWorkersReplaced.inc({ reason: event.reason });
      logger.warn(
        { reason: event.reason, error: event.error, timeout_ms: config.policy.evaluation.timeoutMs },
        'policy evaluation worker replaced',
      );
    },
    onReload: (result) => {
      if (result.outcome === 'unchanged') return;
      for (const warning of result.warnings) logger.warn(warning);
      if (result.outcome === 'loaded') {
        metrics.policyReloads.inc({ result: 'loaded' });
        logger.info({ revision: result.version.revision, hash: result.version.hash }, 'policy loaded');
        return;
      }
      metrics.policyReloads.inc({ result: 'failed' });
      const serving = result.serving;
      if (serving) {
        logger.error(
          { error: result.error, serving_revision: serving.revision, serving_hash: serving.hash },
          `policy build failed; the previous policy (revision ${serving.revision}) keeps serving`,
        );
      } else {
        logger.error(
          { error: result.error },
          'policy build failed; no policy is loaded: every decision answers 503 DENY until a build succeeds',
        );
      }
    },
  });
  metrics.observeEvaluation(() => policy.status().evaluation);
  await policy.reload();
  policy.watch();

  const notifier: Notifier = config.webhooks
    ? createWebhookNotifier({
        ...config.webhooks,
        baseDelayMs: 500,
        maxDelayMs: 30_000,
        maxQueue: 1000,
        onResult: (r) => {
          metrics.webhookDeliveries.inc({ outcome: r.outcome });
          if (r.outcome === 'failed' || r.outcome === 'dropped')
            logger.warn({ url: r.url, type: r.type, outcome: r.outcome }, 'webhook not delivered');
        },
      })
    : NO_NOTIFIER;

  // Intent drift (AARM R7): the embedding provider, or nothing when ARBITER_DRIFT=off.
  const drift = createDriftEngine(config.drift, {
    ...(driftApiKey !== undefined && { apiKey: driftApiKey }),
    // Error kind and status only: never the texts or the key.
    onFailure: (e) =>
      logger.warn({ kind: e.kind, status: e.status, attempts: e.attempts }, 'embedding provider failed'),
  });
  if (drift) logger.info({ provider: drift.provider.name, alpha: drift.alpha }, 'intent drift is measured');

  // One chain per process: decide, approvals, deferrals, expiries and outcomes share its lanes.
  const chain = new SessionChain({
    store,
    signingKey,
    metrics,
    producer: config.instance,
    settings: config.chain,
  });

  const deps = {
    store,
    chain,
    policy,
    signingKey,
    metrics,
    clock,
    logger,
    verifier,
    notifier,
    producer: config.instance,
    historySize: config.historySize,
    drift,
    capabilityTtlSeconds: config.capabilityTtlSeconds,
    capabilityKeys: publicKeysFromJwks(jwks),
    redemptions: {
      redeem: (jti: string, expiresAtMs: number) => store.redeemCapability(jti, expiresAtMs),
      used: (jti: string) => store.capabilityRedeemed(jti),
    },
    // AARM R9 "credential usage logged": every check, never the token itself.
    onCapabilityCheck: (event: CapabilityCheckEvent) => logger.info(event, 'capability checked'),
    maxBodyBytes: config.maxBodyBytes,
    accessLog: config.accessLog,
    ...(rateLimiters && { rateLimiters }),
    metricsPublic: config.metricsPublic,
    // With auth off on an address others reach (allowed only explicitly), nobody is verified:
    // a vote on a gated approval or a deferral's resolution is refused rather than trusted.
    refuseUnverifiedAnswers: config.auth.mode === 'off' && config.auth.exposed,
    jwks,
    exportBacklog: () => backlog,
  };

  // Receipt export: the outbox → OTLP logs. The backlog is watched, never allowed to block
  // decisions; above the bound, /readyz says so (the replica leaves the load balancer).
  let backlog: { depth: number; max: number } | undefined;
  let exporter: ReceiptExporter | undefined;
  let backlogTimer: NodeJS.Timeout | undefined;
  if (config.export && store.outbox) {
    const maxBacklog = config.export.maxBacklog;
    backlog = { depth: 0, max: maxBacklog };
    exporter = createReceiptExporter({
      outbox: store.outbox,
      consumer: config.instance.id,
      endpoint: config.export.endpoint,
      protocol: config.export.protocol,
      headers: config.export.headers,
      serviceName: config.otel.serviceName,
      signingKey,
      batchSize: config.export.batchSize,
      pollMs: 200,
      claimIdleMs: config.export.claimIdleMs,
      timeoutMs: config.export.timeoutMs,
      minBackoffMs: 200,
      maxBackoffMs: 30_000,
      onExport: (r) => {
        metrics.exportedReceipts.inc({ outcome: r.outcome }, r.receipts);
        if (r.outcome === 'failed')
          logger.warn({ error: r.error, receipts: r.receipts }, 'receipt export failed; will retry');
      },
      onError: (e) => logger.warn({ stage: e.stage, error: e.error }, 'receipt exporter error; will retry'),
    });
    exporter.start();
    // Measured on its own clock: while the collector is down the exporter backs off for up
    // to 30 s, and /readyz must not report a backlog that old.
    const outbox = store.outbox;
    backlogTimer = setInterval(() => {
      outbox.depth().then(
        (depth) => {
          backlog = { depth, max: maxBacklog };
          metrics.outboxDepth.set(depth);
        },
        () => {},
      );
    }, 1000);
    backlogTimer.unref();
  }
  const app = createApp(deps);
  const stopSweeper = startExpirySweeper(deps, config.expirySweepMs, (err) =>
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'expiry sweep failed'),
  );
  let server: Server | undefined;
  let stopTlsWatch = () => {};
  const close = async () => {
    stopTlsWatch();
    await policy.stop();
    stopSweeper();
    clearInterval(backlogTimer);
    await exporter?.stop(2000);
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    }
    await notifier.close(2000);
    limiterRedis?.disconnect();
    await store.close();
    await tracing.shutdown();
  };
  let listening: Server;
  try {
    listening = tlsOptions ? createHttpsServer(tlsOptions, app) : createHttpServer(app);
  } catch (err) {
    // A certificate and key that do not match, or a file that is not PEM.
    await close();
    throw new StartError(`cannot use the TLS certificate: ${errorMessage(err)}`, { cause: err });
  }
  try {
    await listen(listening, config.port, config.host);
  } catch (err) {
    await close();
    throw err;
  }
  server = listening;
  if (config.tls && tlsOptions && config.tls.reloadMs > 0) {
    stopTlsWatch = watchTls(server as HttpsServer, config.tls, tlsOptions, config.tls.reloadMs, {
      onReloaded: () => logger.info({ cert: config.tls!.certPath }, 'TLS certificate reloaded: new connections use it'),
      onFailed: (error) => logger.error({ cert: config.tls!.certPath }, `${error}; the certificate in use stays`),
    });
  }
  // Bounded waits on the client side too: a stalled client cannot hold a socket forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tlsOptions ? 'https' : 'http'}://${host}:${address.port}`;
  logger.info(
    {
      url,
      store: store.kind,
      kid: signingKey.kid,
      tls: config.tls ? (config.tls.clientCaPath ? 'mtls' : 'tls') : 'off',
    },
    'arbiter listening',
  );

  return { url, policy, store, signingKey, close };
}
