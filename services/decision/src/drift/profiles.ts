/**
 * Default drift profiles for `data.aarm.drift.profiles` (docs/drift.md). Calibrated with
 * bench/drift-calibration.ts on test/fixtures/drift/sessions.json, FOR THE BUILT-IN
 * hashed n-gram provider only (hashed-ngram-v1-1024, EMA α = 0.3): a neural embedding
 * model puts on-task and off-task actions at other distances and needs its own.
 */
import type { DriftProfile } from './drift.js';

export const DEFAULT_DRIFT_PROFILES: Readonly<Record<string, DriftProfile>> = {
  customer_service: { distance_threshold: 0.86, cumulative_threshold: 0.79, action: 'STEP_UP' },
  coding: { distance_threshold: 0.95, cumulative_threshold: 0.95, action: 'STEP_UP' },
  analyst: { distance_threshold: 0.86, cumulative_threshold: 0.69, action: 'STEP_UP' },
  research: { distance_threshold: 0.98, cumulative_threshold: 0.93, action: 'STEP_UP' },
  meeting_prep: { distance_threshold: 0.94, cumulative_threshold: 0.94, action: 'STEP_UP' },
  devops: { distance_threshold: 0.93, cumulative_threshold: 0.93, action: 'STEP_UP' },
};

/** The profile used when data.aarm.drift names none for a session's agent. */
export const DEFAULT_DRIFT_PROFILE = 'default';
