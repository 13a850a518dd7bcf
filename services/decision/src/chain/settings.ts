/**
 * The session chain's bounds (docs/operations.md), as variables config.ts spreads into its
 * EnvSchema, the way drift/ does:
 *
 *   ARBITER_SESSION_QUEUE_MAX      steps one session may have waiting in one process
 *   ARBITER_SESSION_QUEUE_WAIT_MS  how long a step may wait for its session's turn
 *   ARBITER_COMMIT_DEADLINE_MS     how long an append keeps retrying after another
 *                                  replica committed to the session first
 *   ARBITER_COMMIT_RETRIES         attempts an append always gets, even past the deadline
 */
import { z } from 'zod';

export const CHAIN_ENV_SHAPE = {
  ARBITER_SESSION_QUEUE_MAX: z.coerce.number().int().min(1).max(100_000).default(256),
  ARBITER_SESSION_QUEUE_WAIT_MS: z.coerce.number().int().min(1).max(600_000).default(10_000),
  ARBITER_COMMIT_DEADLINE_MS: z.coerce.number().int().min(0).max(600_000).default(5000),
  ARBITER_COMMIT_RETRIES: z.coerce.number().int().min(1).max(100).default(8),
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

export function chainSettings(e: ChainEnv): ChainSettings {
  return {
    queueMax: e.ARBITER_SESSION_QUEUE_MAX,
    queueWaitMs: e.ARBITER_SESSION_QUEUE_WAIT_MS,
    deadlineMs: e.ARBITER_COMMIT_DEADLINE_MS,
    minAttempts: e.ARBITER_COMMIT_RETRIES,
  };
}
