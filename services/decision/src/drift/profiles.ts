/**
 * Default drift profiles, the content of `data.aarm.drift.profiles` (docs/drift.md).
 *
 * Calibrated with bench/drift-calibration.ts on test/fixtures/drift/sessions.json FOR THE
 * BUILT-IN PROVIDER ONLY (hashed-ngram-v1-1024, EMA α = 0.3). A neural embedding model
 * places on-task and off-task actions at other distances and needs its own calibration.
 * Derivation (recomputed and checked by the bench):
 *
 *   distance_threshold   = max(pooled best single threshold, the profile's farthest
 *                          on-task action), rounded up to 0.01
 *   cumulative_threshold = 99th percentile of `cumulative` over synthetic long on-task
 *                          sessions of the profile, rounded up to 0.01, at most
 *                          distance_threshold
 *
 * `default` is the same derivation over the whole set, for agents given no profile.
 * `action` is a choice, not a calibration: STEP_UP (a human confirms) where a person is
 * at hand; DEFER for devops, whose agents often run unattended (the deferral times out
 * to DENY).
 */
import type { DriftProfile } from './drift.js';

/** The profile used when data.aarm.drift assigns none to a session's agent. */
export const DEFAULT_DRIFT_PROFILE = 'default';

export const DEFAULT_DRIFT_PROFILES: Readonly<Record<string, DriftProfile>> = {
  default: { distance_threshold: 0.98, cumulative_threshold: 0.93, action: 'STEP_UP' },
  customer_service: { distance_threshold: 0.86, cumulative_threshold: 0.79, action: 'STEP_UP' },
  coding: { distance_threshold: 0.95, cumulative_threshold: 0.95, action: 'STEP_UP' },
  analyst: { distance_threshold: 0.86, cumulative_threshold: 0.69, action: 'STEP_UP' },
  research: { distance_threshold: 0.98, cumulative_threshold: 0.93, action: 'STEP_UP' },
  meeting_prep: { distance_threshold: 0.94, cumulative_threshold: 0.88, action: 'STEP_UP' },
  devops: { distance_threshold: 0.93, cumulative_threshold: 0.86, action: 'DEFER' },
};
