/**
 * The one place that reads the environment (ARCHITECTURE: "config read once").
 * Everything else receives a typed, validated `Config`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CHAIN_ENV_SHAPE, chainSettings, type ChainSettings } from './chain/settings.js';
import { DRIFT_ENV_SHAPE, driftSettings, type DriftSettings } from './drift/index.js';
import type { TokenVerifierOptions } from './intercept/identity.js';

/** The checkout (or image) root: the nearest folder above this file with a package.json. */
export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

const intFrom = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const EnvSchema = z.object({
  ARBITER_PORT: intFrom(0, 65535, 8700),
  ARBITER_HOST: z.string().min(1).default('127.0.0.1'),
  ARBITER_REDIS_URL: z
    .string()
    .regex(/^rediss?(\+sentinel|\+cluster)?:\/\//, 'must be redis://, rediss://, redis+sentinel:// or redis+cluster://')
    .optional(),
  ARBITER_REDIS_PASSWORD: z.string().min(1).optional(),
  ARBITER_REDIS_SHARDS: intFrom(1, 1024, 16),
  ARBITER_REDIS_WAIT_REPLICAS: intFrom(0, 16, 0),
  ARBITER_REDIS_PREFIX: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[^{}]+$/, 'must not contain { or }: the service places its own hash tags')
    .default('arbiter:'),
  ARBITER_REDIS_TIMEOUT_MS: intFrom(10, 60_000, 1000),
  ARBITER_REDIS_TLS_CA: z.string().min(1).optional(),
  ARBITER_TLS_CERT: z.string().min(1).optional(),
  ARBITER_TLS_KEY: z.string().min(1).optional(),
  ARBITER_TLS_CLIENT_CA: z.string().min(1).optional(),
  ARBITER_TLS_RELOAD_MS: intFrom(0, 86_400_000, 60_000),
  ARBITER_ACCESS_LOG: z.enum(['on', 'off']).default('on'),
  ARBITER_RATE_LIMIT_RPS: z.coerce.number().min(0).max(1_000_000).default(0),
  ARBITER_RATE_LIMIT_BURST: intFrom(0, 10_000_000, 0),
  ARBITER_RATE_LIMIT_MAX_CALLERS: intFrom(1, 10_000_000, 10_000),
  ARBITER_RATE_LIMIT_TENANT_RPS: z.coerce.number().min(0).max(1_000_000).default(0),
  ARBITER_RATE_LIMIT_TENANT_BURST: intFrom(0, 10_000_000, 0),
  ARBITER_POLICY_DIR: z.string().optional(),
  ARBITER_POLICY_POLL_MS: intFrom(0, 3_600_000, 2000),
  ARBITER_POLICY_COMPILE_TIMEOUT_MS: intFrom(1000, 600_000, 60_000),
  ARBITER_EVAL_WORKERS: intFrom(1, 256, availableParallelism()),
  ARBITER_EVAL_TIMEOUT_MS: intFrom(10, 60_000, 1000),
  ARBITER_OPA: z.string().optional(),
  ARBITER_SIGNING_KEY: z.string().optional(),
  ARBITER_MASKING_KEY: z.string().optional(),
  ARBITER_AUTH: z.enum(['off', 'jwt']).default('off'),
  ARBITER_INSECURE_ALLOW_NO_AUTH: z.enum(['true', 'false']).default('false'),
  ARBITER_METRICS_PUBLIC: z.enum(['true', 'false']).default('false'),
  ARBITER_JWKS_FILE: z.string().min(1).optional(),
  ARBITER_JWKS_URL: z
    .string()
    .regex(/^https?:\/\//, 'must be an http(s) URL')
    .optional(),
  ARBITER_JWT_ISSUER: z.string().min(1).optional(),
  ARBITER_JWT_AUDIENCE: z.string().min(1).optional(),
  ARBITER_AGENT_AUDIENCE: z.string().min(1).optional(),
  ARBITER_JWT_MAX_AGE_S: intFrom(0, 30 * 24 * 3600, 3600),
  ARBITER_JWT_CLOCK_TOLERANCE_S: intFrom(0, 300, 30),
  ARBITER_JWKS_TIMEOUT_MS: intFrom(100, 60_000, 2000),
  ARBITER_MAX_BODY_BYTES: intFrom(1024, 16 * 1024 * 1024, 256 * 1024),
  ARBITER_HISTORY_SIZE: intFrom(1, 1000, 20),
  ARBITER_SESSION_TTL_S: intFrom(60, 30 * 24 * 3600, 24 * 3600),
  ARBITER_MEMORY_MAX_BYTES: intFrom(1024 * 1024, 1024 ** 4, 256 * 1024 * 1024),
  ARBITER_REVOCATION_TTL_S: intFrom(3600, 10 * 365 * 24 * 3600, 90 * 24 * 3600),
  ARBITER_CAPABILITY_TTL_S: intFrom(1, 3600, 60),
  ARBITER_WEBHOOK_URLS: z.string().optional(),
  ARBITER_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  ARBITER_WEBHOOK_TIMEOUT_MS: intFrom(100, 60_000, 5000),
  ARBITER_WEBHOOK_MAX_ATTEMPTS: intFrom(1, 20, 5),
  ARBITER_EXPIRY_SWEEP_MS: intFrom(100, 60_000, 1000),
  ARBITER_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ARBITER_INSTANCE_ID: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\x21-\x7e]+$/)
    .optional(),
  ARBITER_VERIFY_KEYS: z.string().optional(),
  ARBITER_EXPORT_BATCH: intFrom(1, 10_000, 256),
  ARBITER_EXPORT_CLAIM_IDLE_MS: intFrom(1000, 3_600_000, 30_000),
  ARBITER_EXPORT_MAX_BACKLOG: intFrom(1, 100_000_000, 100_000),
  ARBITER_EXPORT_TIMEOUT_MS: intFrom(100, 120_000, 10_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: z.enum(['http/json', 'http/protobuf']).optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_LOGS_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/json', 'http/protobuf']).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/json', 'http/protobuf']).optional(),
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).optional(),
  OTEL_SERVICE_NAME: z.string().default('arbiter'),
  ...DRIFT_ENV_SHAPE,
  ...CHAIN_ENV_SHAPE,
});

export interface Config {
  /** Intent-drift measurement (docs/drift.md). */
  drift: DriftSettings;
  /** The session chain's queue and retry bounds (chain/settings.ts). */
  chain: ChainSettings;
  port: number;
  host: string;
  redis:
    | {
        url: string;
        password?: string;
        /** ARBITER_REDIS_TLS_CA: a PEM bundle trusted for the Redis connection only (not process-wide). */
        tlsCaPath?: string;
        prefix: string;
        timeoutMs: number;
        shards: number;
        waitReplicas: number;
      }
    | undefined;
  /**
   * HTTPS on Arbiter's own listener; undefined: plain HTTP. `reloadMs`: how often the files
   * are checked for a renewed certificate (0: read once at start).
   */
  tls: { certPath: string; keyPath: string; clientCaPath?: string; reloadMs: number } | undefined;
  /** ARBITER_ACCESS_LOG: one line per request at info (http/access-log.ts). */
  accessLog: boolean;
  /**
   * Token buckets per caller (http/rate-limit.ts), and per tenant when `tenant` is set;
   * undefined when ARBITER_RATE_LIMIT_RPS and ARBITER_RATE_LIMIT_TENANT_RPS are both 0. In
   * Redis when the store is, shared by every replica.
   */
  rateLimit:
    | {
        caller?: { rps: number; burst: number };
        tenant?: { rps: number; burst: number };
        maxCallers: number;
      }
    | undefined;
  /** Key prefix used by whichever store is active. */
  prefix: string;
  policy: {
    /** The core library (package aarm), always loaded. */
    coreDir: string;
    /** ARBITER_POLICY_DIR, split on ':'. */
    dirs: string[];
    opa: string;
    wasmCapabilities: string;
    pollMs: number;
    compileTimeoutMs: number;
    /**
     * Evaluation off the event loop (policy/pool.ts): ARBITER_EVAL_WORKERS threads, each
     * evaluation bounded by ARBITER_EVAL_TIMEOUT_MS (and so is its wait for a free worker).
     */
    evaluation: { workers: number; timeoutMs: number };
  };
  signingKeyPath: string | undefined;
  /** ARBITER_MASKING_KEY: a file of at least 32 bytes that keys masked receipt values; else derived from the signing key. */
  maskingKeyPath: string | undefined;
  /** Older keys (PEM files) whose public halves stay in /v1/keys after a rotation. */
  verifyKeyPaths: string[];
  instance: { id: string; version: string };
  /** Receipt export over OTLP logs; undefined when no OTLP endpoint is configured. */
  export:
    | {
        endpoint: string;
        protocol: 'http/json' | 'http/protobuf';
        headers: Record<string, string>;
        batchSize: number;
        claimIdleMs: number;
        maxBacklog: number;
        timeoutMs: number;
      }
    | undefined;
  auth:
    | {
        mode: 'off';
        /** Bound to a non-loopback address anyway (ARBITER_INSECURE_ALLOW_NO_AUTH=true): warned about at start. */
        exposed: boolean;
      }
    | ({ mode: 'jwt' } & Omit<TokenVerifierOptions, 'now' | 'jwksCooldownMs'> & {
          issuer: string;
          audience: string;
          agentAudience: string;
        });
  maxBodyBytes: number;
  /** /metrics without a token when auth is on (for scrapers that cannot send one). */
  metricsPublic: boolean;
  historySize: number;
  sessionTtlSeconds: number;
  /** ARBITER_MEMORY_MAX_BYTES: what the embedded store may hold (serialized bytes); unused with Redis. */
  memoryMaxBytes: number;
  /** ARBITER_REVOCATION_TTL_S: how long a subject revocation (or a jti one without exp) is kept. */
  revocationTtlSeconds: number;
  webhooks: { urls: string[]; secret: string; timeoutMs: number; maxAttempts: number } | undefined;
  expirySweepMs: number;
  /** ARBITER_CAPABILITY_TTL_S: lifetime of the capability of an ALLOW/MODIFY (capabilities/). */
  capabilityTtlSeconds: number;
  logLevel: z.infer<typeof EnvSchema>['ARBITER_LOG_LEVEL'];
  otel: { tracesEndpoint: string | undefined; protocol: 'http/json' | 'http/protobuf'; serviceName: string };
}

export class ConfigError extends Error {}

/** OTEL_EXPORTER_OTLP_HEADERS: "key=value,key2=value2", values URL-encoded (OTel spec). */
function otlpHeaders(raw: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

function projectVersion(): string {
  try {
    return (
      (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0'
    );
  } catch {
    return '0.0.0';
  }
}

/** Finds `opa`: ARBITER_OPA, else the one on PATH, else the one `make setup` installed. */
function locateOpa(env: NodeJS.ProcessEnv, explicit: string | undefined): string {
  if (explicit) return explicit;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'opa'))) return join(dir, 'opa');
  }
  return join(PROJECT_ROOT, '.tools', 'bin', 'opa');
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * The address is this host's own loopback interface: nobody else can connect. A name other
 * than `localhost` may resolve anywhere, so it does not count.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost') return true;
  const family = isIP(bare);
  // BlockList also matches IPv4-mapped IPv6 (::ffff:127.0.0.1) against the IPv4 subnet.
  return family !== 0 && LOOPBACK.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Authentication is refused when it would leave the service open (issue 12): `off` on an
 * address others can reach, `jwt` without an issuer and audience to check, or with agent
 * tokens that a caller could present as its own (CONTRACT §1, "Tokens").
 */
function authSettings(e: z.infer<typeof EnvSchema>): Config['auth'] {
  if (e.ARBITER_AUTH === 'off') {
    const exposed = !isLoopbackHost(e.ARBITER_HOST);
    if (exposed && e.ARBITER_INSECURE_ALLOW_NO_AUTH !== 'true') {
      throw new ConfigError(
        `ARBITER_AUTH=off on ${e.ARBITER_HOST}, which is not a loopback address: whoever reaches the port would hold every role (admin included). ` +
          'Set ARBITER_AUTH=jwt, or ARBITER_HOST=127.0.0.1, or ARBITER_INSECURE_ALLOW_NO_AUTH=true to run open on purpose',
      );
    }
    return { mode: 'off', exposed };
  }
  if (!e.ARBITER_JWKS_FILE === !e.ARBITER_JWKS_URL) {
    // Refusing to start beats running "jwt" with nothing to verify tokens against.
    throw new ConfigError('ARBITER_AUTH=jwt needs exactly one of ARBITER_JWKS_FILE and ARBITER_JWKS_URL');
  }
  const missing = [
    e.ARBITER_JWT_ISSUER === undefined && 'ARBITER_JWT_ISSUER',
    e.ARBITER_JWT_AUDIENCE === undefined && 'ARBITER_JWT_AUDIENCE',
  ].filter((name): name is string => name !== false);
  if (missing.length > 0) {
    // Without them any token signed by a key of the set is accepted, whoever it was issued for.
    throw new ConfigError(
      `ARBITER_AUTH=jwt needs ${missing.join(' and ')}: the iss and aud of every token are checked`,
    );
  }
  const audience = e.ARBITER_JWT_AUDIENCE!;
  const agentAudience = e.ARBITER_AGENT_AUDIENCE ?? `${audience}:agent`;
  if (agentAudience === audience) {
    throw new ConfigError(
      'ARBITER_AGENT_AUDIENCE must differ from ARBITER_JWT_AUDIENCE: otherwise an agent token is also a caller token',
    );
  }
  return {
    mode: 'jwt',
    ...(e.ARBITER_JWKS_FILE !== undefined && { jwksFile: e.ARBITER_JWKS_FILE }),
    ...(e.ARBITER_JWKS_URL !== undefined && { jwksUrl: e.ARBITER_JWKS_URL }),
    issuer: e.ARBITER_JWT_ISSUER!,
    audience,
    agentAudience,
    maxAgeSeconds: e.ARBITER_JWT_MAX_AGE_S,
    clockToleranceSeconds: e.ARBITER_JWT_CLOCK_TOLERANCE_S,
    fetchTimeoutMs: e.ARBITER_JWKS_TIMEOUT_MS,
  };
}

/** A bucket's rate and size; a size of 0 means twice the rate (at least 1). */
function bucket(rps: number, burst: number): { rps: number; burst: number } {
  return { rps, burst: burst > 0 ? burst : Math.max(1, Math.ceil(2 * rps)) };
}

/** Both files or neither: a certificate without its key (or the reverse) is a typo, not plain HTTP. */
function tlsSettings(e: z.infer<typeof EnvSchema>): Config['tls'] {
  if (e.ARBITER_TLS_CERT === undefined && e.ARBITER_TLS_KEY === undefined) {
    if (e.ARBITER_TLS_CLIENT_CA !== undefined) {
      throw new ConfigError(
        'ARBITER_TLS_CLIENT_CA needs ARBITER_TLS_CERT and ARBITER_TLS_KEY: client certificates are asked for over TLS only',
      );
    }
    return undefined;
  }
  if (e.ARBITER_TLS_CERT === undefined || e.ARBITER_TLS_KEY === undefined) {
    throw new ConfigError('ARBITER_TLS_CERT and ARBITER_TLS_KEY go together: set both, or neither for plain HTTP');
  }
  return {
    certPath: e.ARBITER_TLS_CERT,
    keyPath: e.ARBITER_TLS_KEY,
    ...(e.ARBITER_TLS_CLIENT_CA !== undefined && { clientCaPath: e.ARBITER_TLS_CLIENT_CA }),
    reloadMs: e.ARBITER_TLS_RELOAD_MS,
  };
}

/** Whether a Redis URL connects with TLS (rediss://…, or ?tls=1 on the multi-host forms). */
function redisUsesTls(url: string): boolean {
  return url.startsWith('rediss') || /[?&]tls=(1|true)(&|$)/.test(url);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const e = parsed.data;
  const auth = authSettings(e);
  const tls = tlsSettings(e);
  if (
    e.ARBITER_REDIS_TLS_CA !== undefined &&
    !(e.ARBITER_REDIS_URL !== undefined && redisUsesTls(e.ARBITER_REDIS_URL))
  ) {
    throw new ConfigError(
      'ARBITER_REDIS_TLS_CA needs a TLS Redis URL (rediss://, or ?tls=1 on redis+sentinel:// and redis+cluster://)',
    );
  }
  const dirs = (e.ARBITER_POLICY_DIR ?? join(PROJECT_ROOT, 'rego'))
    .split(':')
    .filter((d) => d.length > 0)
    .map((d) => resolve(d));
  const webhookUrls = (e.ARBITER_WEBHOOK_URLS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
  if (webhookUrls.length > 0 && !e.ARBITER_WEBHOOK_SECRET) {
    // Unsigned notifications could be forged by anyone who can reach the receiver.
    throw new ConfigError('ARBITER_WEBHOOK_URLS needs ARBITER_WEBHOOK_SECRET to sign the notifications');
  }
  let drift: DriftSettings;
  try {
    drift = driftSettings(e);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const otelDisabled = e.OTEL_SDK_DISABLED === 'true';
  const logsEndpoint = otelDisabled
    ? undefined
    : (e.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT ??
      (e.OTEL_EXPORTER_OTLP_ENDPOINT ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/logs` : undefined));
  const tracesEndpoint = otelDisabled
    ? undefined
    : (e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
      (e.OTEL_EXPORTER_OTLP_ENDPOINT ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` : undefined));
  return {
    drift,
    chain: chainSettings(e),
    port: e.ARBITER_PORT,
    host: e.ARBITER_HOST,
    redis: e.ARBITER_REDIS_URL
      ? {
          url: e.ARBITER_REDIS_URL,
          ...(e.ARBITER_REDIS_PASSWORD !== undefined && { password: e.ARBITER_REDIS_PASSWORD }),
          ...(e.ARBITER_REDIS_TLS_CA !== undefined && { tlsCaPath: e.ARBITER_REDIS_TLS_CA }),
          prefix: e.ARBITER_REDIS_PREFIX,
          timeoutMs: e.ARBITER_REDIS_TIMEOUT_MS,
          shards: e.ARBITER_REDIS_SHARDS,
          waitReplicas: e.ARBITER_REDIS_WAIT_REPLICAS,
        }
      : undefined,
    prefix: e.ARBITER_REDIS_PREFIX,
    tls,
    accessLog: e.ARBITER_ACCESS_LOG === 'on',
    // Off by default: a PEP gateway speaks for all its agents under one subject, so no
    // number fits every deployment, and a wrong one denies legitimate actions (docs/operations.md).
    rateLimit:
      e.ARBITER_RATE_LIMIT_RPS > 0 || e.ARBITER_RATE_LIMIT_TENANT_RPS > 0
        ? {
            ...(e.ARBITER_RATE_LIMIT_RPS > 0 && {
              caller: bucket(e.ARBITER_RATE_LIMIT_RPS, e.ARBITER_RATE_LIMIT_BURST),
            }),
            ...(e.ARBITER_RATE_LIMIT_TENANT_RPS > 0 && {
              tenant: bucket(e.ARBITER_RATE_LIMIT_TENANT_RPS, e.ARBITER_RATE_LIMIT_TENANT_BURST),
            }),
            maxCallers: e.ARBITER_RATE_LIMIT_MAX_CALLERS,
          }
        : undefined,
    policy: {
      coreDir: join(PROJECT_ROOT, 'rego', 'aarm'),
      dirs,
      opa: locateOpa(env, e.ARBITER_OPA),
      wasmCapabilities: join(PROJECT_ROOT, 'node_modules', '@open-policy-agent', 'opa-wasm', 'capabilities.json'),
      pollMs: e.ARBITER_POLICY_POLL_MS,
      compileTimeoutMs: e.ARBITER_POLICY_COMPILE_TIMEOUT_MS,
      evaluation: { workers: e.ARBITER_EVAL_WORKERS, timeoutMs: e.ARBITER_EVAL_TIMEOUT_MS },
    },
    signingKeyPath: e.ARBITER_SIGNING_KEY,
    maskingKeyPath: e.ARBITER_MASKING_KEY,
    verifyKeyPaths: (e.ARBITER_VERIFY_KEYS ?? '').split(':').filter((p) => p.length > 0),
    instance: { id: e.ARBITER_INSTANCE_ID ?? `${hostname()}-${process.pid}`, version: projectVersion() },
    export: logsEndpoint
      ? {
          endpoint: logsEndpoint,
          protocol: e.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
          headers: { ...otlpHeaders(e.OTEL_EXPORTER_OTLP_HEADERS), ...otlpHeaders(e.OTEL_EXPORTER_OTLP_LOGS_HEADERS) },
          batchSize: e.ARBITER_EXPORT_BATCH,
          claimIdleMs: e.ARBITER_EXPORT_CLAIM_IDLE_MS,
          maxBacklog: e.ARBITER_EXPORT_MAX_BACKLOG,
          timeoutMs: e.ARBITER_EXPORT_TIMEOUT_MS,
        }
      : undefined,
    auth,
    maxBodyBytes: e.ARBITER_MAX_BODY_BYTES,
    metricsPublic: e.ARBITER_METRICS_PUBLIC === 'true',
    historySize: e.ARBITER_HISTORY_SIZE,
    sessionTtlSeconds: e.ARBITER_SESSION_TTL_S,
    memoryMaxBytes: e.ARBITER_MEMORY_MAX_BYTES,
    revocationTtlSeconds: e.ARBITER_REVOCATION_TTL_S,
    webhooks:
      webhookUrls.length > 0
        ? {
            urls: webhookUrls,
            secret: e.ARBITER_WEBHOOK_SECRET!,
            timeoutMs: e.ARBITER_WEBHOOK_TIMEOUT_MS,
            maxAttempts: e.ARBITER_WEBHOOK_MAX_ATTEMPTS,
          }
        : undefined,
    expirySweepMs: e.ARBITER_EXPIRY_SWEEP_MS,
    capabilityTtlSeconds: e.ARBITER_CAPABILITY_TTL_S,
    logLevel: e.ARBITER_LOG_LEVEL,
    otel: {
      tracesEndpoint,
      protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
      serviceName: e.OTEL_SERVICE_NAME,
    },
  };
}
