/**
 * The session chain's bounds (docs/operations.md), as variables to spread into config.ts's
 * EnvSchema, the way drift/ does:
 *
 *   ARBITER_SESSION_QUEUE_MAX      steps one session may have waiting in one process
 *   ARBITER_SESSION_QUEUE_WAIT_MS  how long a step may wait for its session's turn
 *   ARBITER_COMMIT_DEADLINE_MS     how long an append keeps retrying after another
 *                                  replica committed to the session first
 */
import { z } from 'zod';

export const CHAIN_ENV_SHAPE = {
  ARBITER_SESSION_QUEUE_MAX: z.coerce.number().int().min(1).max(100_000).default(256),
  ARBITER_SESSION_QUEUE_WAIT_MS: z.coerce.number().int().min(1).max(600_000).default(10_000),
  ARBITER_COMMIT_DEADLINE_MS: z.coerce.number().int().min(0).max(600_000).default(5000),
};

const ChainEnvSchema = z.object(CHAIN_ENV_SHAPE);
export type ChainEnv = z.infer<typeof ChainEnvSchema>;

export interface ChainSettings {
  queueMax: number;
  queueWaitMs: number;
  deadlineMs: number;
  /**
   * ARBITER_COMMIT_RETRIES: attempts an append always gets, even past the deadline, so a
   * short deadline still leaves room for a few conflicts.
   */
  minAttempts: number;
}

export function chainSettings(e: ChainEnv, commitRetries: number): ChainSettings {
  return {
    queueMax: e.ARBITER_SESSION_QUEUE_MAX,
    queueWaitMs: e.ARBITER_SESSION_QUEUE_WAIT_MS,
    deadlineMs: e.ARBITER_COMMIT_DEADLINE_MS,
    minAttempts: commitRetries,
  };
}

/**
 * Interim, until config.ts spreads CHAIN_ENV_SHAPE and main.ts builds the chain: the
 * variables read from the environment, refused with the variable's name when invalid.
 */
export function chainSettingsFromEnv(env: NodeJS.ProcessEnv, commitRetries: number): ChainSettings {
  const parsed = ChainEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return chainSettings(parsed.data, commitRetries);
}
