/**
 * Intent drift for the decision path (AARM R7), in three calls:
 *
 *   config.ts   DRIFT_ENV_SHAPE (its ARBITER_DRIFT_* variables) and driftSettings()
 *   main.ts     createDriftEngine(settings, …): the provider, or undefined when off
 *   decide.ts   driftStep(engine, …) once per action: what policy sees as input.drift
 *               and the next SessionSummary.drift; sessions.ts intentEmbeddingFor()
 *               when a session opens
 *
 * The decision itself is policy's (the Rego rule of docs/drift.md, over
 * data.aarm.drift.profiles); this module only measures. docs/drift.md.
 */
import { z } from 'zod';
import {
  actionText,
  embedIntent,
  measureDrift,
  updateDrift,
  type CatalogEntryText,
  type DriftAction,
  type DriftState,
  type StoredEmbedding,
} from './drift.js';
import {
  createHashedNgramProvider,
  createRemoteProvider,
  EmbeddingError,
  EmbeddingUnavailableError,
  withFallback,
  type EmbeddingProvider,
} from './provider.js';

export * from './drift.js';
export * from './profiles.js';
export * from './provider.js';

const intFrom = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** The environment variables of drift measurement, to spread into config.ts's EnvSchema. */
export const DRIFT_ENV_SHAPE = {
  /** off: not measured (input.drift absent); hashed: the built-in provider; remote: an embeddings endpoint. */
  ARBITER_DRIFT: z.enum(['off', 'hashed', 'remote']).default('off'),
  ARBITER_DRIFT_ALPHA: z.coerce.number().gt(0).max(1).default(0.3),
  /** Buckets of the built-in provider (the shipped profiles are calibrated for 1024). */
  ARBITER_DRIFT_DIMENSIONS: intFrom(16, 65536, 1024),
  ARBITER_DRIFT_URL: z
    .string()
    .regex(/^https?:\/\//, 'must be an http(s) URL')
    .optional(),
  ARBITER_DRIFT_MODEL: z.string().min(1).max(200).optional(),
  /** A file holding the API key (sent as a bearer token); never logged. */
  ARBITER_DRIFT_API_KEY_FILE: z.string().min(1).optional(),
  ARBITER_DRIFT_TIMEOUT_MS: intFrom(50, 60_000, 2000),
  ARBITER_DRIFT_MAX_RETRIES: intFrom(0, 10, 1),
  ARBITER_DRIFT_CACHE_SIZE: intFrom(0, 1_000_000, 10_000),
  /** When the remote provider fails: defer (policy DEFERs the action) or fallback (built-in provider). */
  ARBITER_DRIFT_ON_FAILURE: z.enum(['defer', 'fallback']).default('defer'),
  /** After a remote failure, how long the remote is not asked again (its failure mode applies meanwhile). */
  ARBITER_DRIFT_COOLDOWN_MS: intFrom(0, 3_600_000, 10_000),
};

const DriftEnvSchema = z.object(DRIFT_ENV_SHAPE);
export type DriftEnv = z.infer<typeof DriftEnvSchema>;

export type DriftSettings =
  | { mode: 'off' }
  | { mode: 'hashed'; alpha: number; dimensions: number }
  | {
      mode: 'remote';
      alpha: number;
      dimensions: number;
      url: string;
      model: string;
      apiKeyFile: string | undefined;
      timeoutMs: number;
      maxRetries: number;
      cacheSize: number;
      onFailure: 'defer' | 'fallback';
      cooldownMs: number;
    };

/** The parsed variables as settings. Throws (an Error to wrap in ConfigError) when remote lacks its URL or model. */
export function driftSettings(e: DriftEnv): DriftSettings {
  if (e.ARBITER_DRIFT === 'off') return { mode: 'off' };
  if (e.ARBITER_DRIFT === 'hashed')
    return { mode: 'hashed', alpha: e.ARBITER_DRIFT_ALPHA, dimensions: e.ARBITER_DRIFT_DIMENSIONS };
  if (!e.ARBITER_DRIFT_URL || !e.ARBITER_DRIFT_MODEL) {
    throw new Error('ARBITER_DRIFT=remote needs ARBITER_DRIFT_URL and ARBITER_DRIFT_MODEL');
  }
  return {
    mode: 'remote',
    alpha: e.ARBITER_DRIFT_ALPHA,
    dimensions: e.ARBITER_DRIFT_DIMENSIONS,
    url: e.ARBITER_DRIFT_URL,
    model: e.ARBITER_DRIFT_MODEL,
    apiKeyFile: e.ARBITER_DRIFT_API_KEY_FILE,
    timeoutMs: e.ARBITER_DRIFT_TIMEOUT_MS,
    maxRetries: e.ARBITER_DRIFT_MAX_RETRIES,
    cacheSize: e.ARBITER_DRIFT_CACHE_SIZE,
    onFailure: e.ARBITER_DRIFT_ON_FAILURE,
    cooldownMs: e.ARBITER_DRIFT_COOLDOWN_MS,
  };
}

export interface DriftEngine {
  provider: EmbeddingProvider;
  alpha: number;
}

export function createDriftEngine(
  settings: DriftSettings,
  options: {
    /** The key read from settings.apiKeyFile (main.ts reads files). */
    apiKey?: string;
    /** The remote failed: told the error kind and status only (log it, count it). */
    onFailure?: (error: EmbeddingError) => void;
    fetchImpl?: typeof fetch;
  } = {},
): DriftEngine | undefined {
  if (settings.mode === 'off') return undefined;
  const builtIn = createHashedNgramProvider({ dimensions: settings.dimensions });
  if (settings.mode === 'hashed') return { provider: builtIn, alpha: settings.alpha };
  const remote = createRemoteProvider({
    url: settings.url,
    model: settings.model,
    ...(options.apiKey !== undefined && { apiKey: options.apiKey }),
    timeoutMs: settings.timeoutMs,
    maxRetries: settings.maxRetries,
    cacheSize: settings.cacheSize,
    ...(options.fetchImpl && { fetchImpl: options.fetchImpl }),
  });
  const provider = withFallback(remote, builtIn, {
    mode: settings.onFailure,
    cooldownMs: settings.cooldownMs,
    ...(options.onFailure && { onFailure: options.onFailure }),
  });
  return { provider, alpha: settings.alpha };
}

/** What policy sees as input.drift. */
export type DriftInput =
  | ({ status: 'measured'; provider: string; fell_back: boolean } & DriftState)
  | { status: 'unavailable'; provider: string; reason: string };

export interface DriftStepResult {
  /** input.drift; undefined when drift is not measured (no engine, or no intent). */
  input: DriftInput | undefined;
  /** The session's drift after this action (SessionSummary.drift); the previous one when not measured. */
  state: DriftState | undefined;
  /** The intent's embedding when it was computed now: store it in a new session's meta. */
  intentEmbedding: StoredEmbedding | undefined;
}

/**
 * One action's drift. Never throws for a provider failure: that is input.drift
 * {status: 'unavailable'} (policy DEFERs), and the session's state is left as it was.
 * Pass the parameters already masked (maskParameters) so masked values are never sent
 * to a remote provider.
 */
export async function driftStep(
  engine: DriftEngine | undefined,
  args: {
    intent: string | undefined;
    stored: StoredEmbedding | undefined;
    previous: DriftState | undefined;
    action: DriftAction;
    catalogEntry: CatalogEntryText | undefined;
  },
): Promise<DriftStepResult> {
  if (!engine || args.intent === undefined || args.intent.trim() === '') {
    return { input: undefined, state: args.previous, intentEmbedding: undefined };
  }
  try {
    const m = await measureDrift(
      engine.provider,
      { text: args.intent, stored: args.stored },
      actionText(args.action, args.catalogEntry),
    );
    const state = updateDrift(args.previous, m.distance, engine.alpha);
    return {
      input: { status: 'measured', provider: m.provider, fell_back: m.fellBack, ...state },
      state,
      intentEmbedding: m.intentEmbedding,
    };
  } catch (err) {
    if (!(err instanceof EmbeddingUnavailableError || err instanceof EmbeddingError)) throw err;
    const reason = err instanceof EmbeddingUnavailableError ? err.reason : err;
    return {
      input: { status: 'unavailable', provider: engine.provider.name, reason: reason.kind },
      state: args.previous,
      intentEmbedding: undefined,
    };
  }
}

/** The intent's embedding for a new session's meta; undefined when off or when the provider fails (measured at the first action then). */
export async function intentEmbeddingFor(
  engine: DriftEngine | undefined,
  intent: string | undefined,
): Promise<StoredEmbedding | undefined> {
  if (!engine || intent === undefined || intent.trim() === '') return undefined;
  try {
    return await embedIntent(engine.provider, intent);
  } catch {
    return undefined;
  }
}
