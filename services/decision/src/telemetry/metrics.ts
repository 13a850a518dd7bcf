/**
 * Every Prometheus metric the service exposes, in one file, names with units.
 * Each instance has its own registry so tests and several apps in one process do not clash.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolStatus } from '../policy/pool.js';

export type Stage = 'validate' | 'context' | 'drift' | 'flow' | 'evaluate' | 'sign' | 'commit';

export class Metrics {
  readonly registry = new Registry();

  readonly decisions = new Counter({
    name: 'arbiter_decisions_total',
    help: 'Decisions answered, by decision.',
    labelNames: ['decision'] as const,
    registers: [this.registry],
  });

  readonly decisionErrors = new Counter({
    name: 'arbiter_decision_errors_total',
    help: 'Decide requests that ended in an error answer (never ALLOW), by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly decisionDuration = new Histogram({
    name: 'arbiter_decision_duration_seconds',
    help: 'Time from request parsed to answer ready, for answered decisions.',
    labelNames: ['decision'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  readonly stageDuration = new Histogram({
    name: 'arbiter_decision_stage_duration_seconds',
    help: 'Time spent in each stage of the decision lifecycle.',
    labelNames: ['stage'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });

  readonly commitConflicts = new Counter({
    name: 'arbiter_commit_conflicts_total',
    help: 'Decisions re-evaluated because the session moved on between read and commit.',
    registers: [this.registry],
  });

  readonly sessionQueueWaiting = new Gauge({
    name: 'arbiter_session_queue_waiting',
    help: "Requests in this process waiting for their session's turn to append (all sessions).",
    registers: [this.registry],
  });

  readonly sessionQueueRefusals = new Counter({
    name: 'arbiter_session_queue_refusals_total',
    help: "Requests refused as contention (503 DENY) while waiting for their session's turn, by reason: full (ARBITER_SESSION_QUEUE_MAX waiting already) or wait (no turn within ARBITER_SESSION_QUEUE_WAIT_MS).",
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly memoryStoreRefusals = new Counter({
    name: 'arbiter_memory_store_refusals_total',
    help: 'Writes the embedded in-memory store refused because ARBITER_MEMORY_MAX_BYTES was reached (answered 503 DENY store_unavailable).',
    registers: [this.registry],
  });

  readonly policyReloads = new Counter({
    name: 'arbiter_policy_reloads_total',
    help: 'Policy builds, by result (loaded or failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'arbiter_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by outcome (delivered, retry, failed, dropped).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly exportedReceipts = new Counter({
    name: 'arbiter_receipts_exported_total',
    help: 'Receipts sent to the OTLP collector, by outcome (exported, failed: will be retried).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly outboxDepth = new Gauge({
    name: 'arbiter_outbox_depth',
    help: 'Receipts stored but not yet accepted by the collector (all replicas).',
    registers: [this.registry],
  });

  /** Read at scrape time, so the decision path pays nothing for these gauges. */
  private evaluation?: () => PoolStatus;

  readonly evalWorkers = new Gauge({
    name: 'arbiter_eval_workers',
    help: 'Policy evaluation workers, by state: configured (ARBITER_EVAL_WORKERS), ready (started and holding the policy), busy (evaluating now).',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: () => {
      const status = this.evaluation?.();
      if (!status) return;
      this.evalWorkers.set({ state: 'configured' }, status.workers);
      this.evalWorkers.set({ state: 'ready' }, status.ready);
      this.evalWorkers.set({ state: 'busy' }, status.busy);
    },
  });

  readonly evalQueued = new Gauge({
    name: 'arbiter_eval_queued',
    help: 'Evaluations waiting for a free worker (past the queue bound they are refused: policy_busy, 503 DENY).',
    registers: [this.registry],
    collect: () => {
      const status = this.evaluation?.();
      if (status) this.evalQueued.set(status.queued);
    },
  });

  readonly evalWorkersReplaced = new Counter({
    name: 'arbiter_eval_workers_replaced_total',
    help: 'Evaluation workers replaced, by reason: timeout (ARBITER_EVAL_TIMEOUT_MS passed), crash (the evaluation threw), exit (the thread died).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** The pool whose state the evaluation gauges show. */
  observeEvaluation(status: () => PoolStatus): void {
    this.evaluation = status;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'arbiter_' });
  }

  /** Times `fn` as one lifecycle stage. */
  async stage<T>(stage: Stage, fn: () => T | Promise<T>): Promise<T> {
    const end = this.stageDuration.startTimer({ stage });
    try {
      return await fn();
    } finally {
      end();
    }
  }
}
