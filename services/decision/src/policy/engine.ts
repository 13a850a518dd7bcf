/**
 * The loaded policy and its lifecycle: compile, install in the evaluation workers (pool.ts),
 * evaluate, and swap on change. A new revision serves only once every worker holds it and
 * it answered an empty input with a well-formed decision; until then the old one keeps
 * serving, and a failed build is reported, never installed.
 */
import { ArbiterError, asError } from '../errors.js';
import { compileSnapshot, ENTRYPOINT, type CompileOptions } from './compile.js';
import { compileModule, EvalPool, jsonBytes, QUEUE_PER_WORKER, type PoolStatus } from './pool.js';
import { checkedDecision, PolicyDecisionSchema, type Evaluation, type Policy, type PolicyVersion } from './policy.js';
import { snapshotSources, type SourceSnapshot } from './sources.js';

/** WASM linear memory is capped so that one pathological input cannot take the process. */
const MAX_WASM_PAGES = 4096; // 256 MiB

/** Earlier revisions kept loaded, so a deferral is resolved under the policy that deferred it. */
const KEPT_REVISIONS = 8;

interface Loaded {
  version: PolicyVersion;
  data: unknown;
}

export interface PolicyStatus {
  revision: string | null;
  hash: string | null;
  loaded_at: string | null;
  last_error: { message: string; hash: string | null; at: string } | null;
  /** The evaluation workers (pool.ts). */
  evaluation: PoolStatus;
}

export type ReloadResult =
  | { outcome: 'loaded'; version: PolicyVersion; warnings: string[] }
  | { outcome: 'unchanged'; version: PolicyVersion }
  /** `serving`: the policy that keeps answering; none means every decision is a 503 DENY. */
  | { outcome: 'failed'; error: string; serving: PolicyVersion | undefined; warnings: string[] };

export interface PolicyEngineOptions extends CompileOptions {
  coreDir: string;
  dirs: string[];
  pollMs: number;
  /** ARBITER_EVAL_WORKERS and ARBITER_EVAL_TIMEOUT_MS. */
  evaluation: { workers: number; timeoutMs: number };
  /** An evaluation worker was replaced (deadline, crash): for the log. */
  onWorkerReplaced?: (event: { reason: 'timeout' | 'crash' | 'exit'; error?: string }) => void;
  now?: () => Date;
  onReload?: (result: ReloadResult) => void;
}

export class PolicyEngine implements Policy {
  private readonly pool: EvalPool;
  private loaded: Loaded | undefined;
  /** The current revision and the ones before it, newest last, at most KEPT_REVISIONS. */
  private readonly revisions = new Map<string, Loaded>();
  private lastError: PolicyStatus['last_error'] = null;
  /** The hash whose build last failed: not retried until the sources change again. */
  private failedHash: string | null = null;
  private reloading: Promise<ReloadResult> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PolicyEngineOptions) {
    this.pool = new EvalPool({
      size: options.evaluation.workers,
      timeoutMs: options.evaluation.timeoutMs,
      queueMax: options.evaluation.workers * QUEUE_PER_WORKER,
      entrypoint: ENTRYPOINT,
      maxPages: MAX_WASM_PAGES,
      ...(options.onWorkerReplaced && { onReplace: options.onWorkerReplaced }),
    });
  }

  get version(): PolicyVersion | undefined {
    return this.loaded?.version;
  }

  /** The policy's data document (every data file, layered), for what the service reads from it: the catalog. */
  get data(): unknown {
    return this.loaded?.data;
  }

  status(): PolicyStatus {
    const v = this.loaded?.version;
    return {
      revision: v?.revision ?? null,
      hash: v?.hash ?? null,
      loaded_at: v?.loadedAt ?? null,
      last_error: this.lastError,
      evaluation: this.pool.status(),
    };
  }

  /**
   * Evaluates the entrypoint with the revision serving now, in a worker. Rejects with
   * policy_unavailable when no policy is loaded, the evaluation fails or its result is not
   * a well-formed decision, policy_timeout past the deadline, policy_busy when no worker
   * came free in time: never a default ALLOW.
   */
  async evaluate(input: Record<string, unknown>): Promise<Evaluation> {
    // Taken once: the revision named to the worker is the one reported, whatever reloads meanwhile.
    const loaded = this.loaded;
    if (!loaded) throw new ArbiterError('policy_unavailable', 'no policy is loaded');
    return { decision: checkedDecision(await this.pool.run(loaded.version.revision, input)), version: loaded.version };
  }

  /**
   * Evaluates with an earlier revision, if this replica still holds it (the last
   * KEPT_REVISIONS it loaded); undefined otherwise, and the caller must not fall back.
   */
  async evaluateAt(revision: string, input: Record<string, unknown>): Promise<Evaluation | undefined> {
    const loaded = this.revisions.get(revision);
    if (!loaded) return undefined;
    return { decision: checkedDecision(await this.pool.run(revision, input)), version: loaded.version };
  }

  /** Recompiles if the sources changed (or always, with force). Concurrent calls share one build. */
  reload(force = false): Promise<ReloadResult> {
    this.reloading ??= this.doReload(force).finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async doReload(force: boolean): Promise<ReloadResult> {
    const now = this.options.now ?? (() => new Date());
    let snapshot: SourceSnapshot | undefined;
    try {
      snapshot = snapshotSources(this.options.coreDir, this.options.dirs);
      const current = this.loaded?.version;
      if (!force && current && current.hash === snapshot.hash) return { outcome: 'unchanged', version: current };
      if (!force && this.failedHash === snapshot.hash) {
        return { outcome: 'failed', error: this.lastError?.message ?? 'build failed', serving: current, warnings: [] };
      }
      const bundle = await compileSnapshot(snapshot, this.options);
      const version: PolicyVersion = {
        hash: snapshot.hash,
        revision: snapshot.hash.slice('sha256:'.length, 'sha256:'.length + 12),
        loadedAt: now().toISOString(),
      };
      // The same sources as a revision still held: the workers have it already.
      if (!this.revisions.has(version.revision)) {
        const probe = await this.pool.install({
          revision: version.revision,
          module: await compileModule(bundle.wasm),
          data: jsonBytes(bundle.data),
        });
        // A policy whose decision is undefined or malformed on an empty input would deny
        // everything with 503s: refuse it here and keep the one that works.
        if (!PolicyDecisionSchema.safeParse(probe).success) {
          this.pool.drop(version.revision);
          throw new Error(`data.aarm.decision is not a well-formed decision on an empty input`);
        }
      }
      this.loaded = { version, data: bundle.data };
      this.revisions.delete(version.revision);
      this.revisions.set(version.revision, this.loaded);
      for (const old of this.revisions.keys()) {
        if (this.revisions.size <= KEPT_REVISIONS) break;
        this.revisions.delete(old);
        this.pool.drop(old);
      }
      this.lastError = null;
      this.failedHash = null;
      const result: ReloadResult = { outcome: 'loaded', version, warnings: snapshot.warnings };
      this.options.onReload?.(result);
      return result;
    } catch (err) {
      const message = asError(err).message;
      const result: ReloadResult = {
        outcome: 'failed',
        error: message,
        serving: this.loaded?.version,
        warnings: snapshot?.warnings ?? [],
      };
      // Sources that cannot even be read (a missing folder) have no hash to remember:
      // the same error again on the next poll is not news.
      if (!force && !snapshot && this.lastError?.hash === null && this.lastError.message === message) return result;
      this.lastError = { message, hash: snapshot?.hash ?? null, at: now().toISOString() };
      this.failedHash = snapshot?.hash ?? null;
      this.options.onReload?.(result);
      return result;
    }
  }

  /** Polls the sources: unlike inotify, this also sees a ConfigMap's atomic symlink swap. */
  watch(): void {
    if (this.options.pollMs <= 0 || this.timer) return;
    const tick = () => {
      void this.reload().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.options.pollMs).unref();
      });
    };
    this.timer = setTimeout(tick, this.options.pollMs).unref();
  }

  /** Stops watching and ends the evaluation workers; evaluations still waiting fail (503 DENY). */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pool.close();
  }
}
