/**
 * The loaded policy and its lifecycle: compile, load into opa-wasm, evaluate, and swap on
 * change. A new policy replaces the old only once it compiled and loaded; until then the
 * old one keeps serving, and a failed build is reported, never installed.
 */
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { z } from 'zod';
import { ArbiterError, asError } from '../errors.js';
import { DECISIONS } from '../receipts/types.js';
import { compileSnapshot, ENTRYPOINT, type CompileOptions } from './compile.js';
import { snapshotSources, type SourceSnapshot } from './sources.js';

/** What `data.aarm.decision` must look like; anything else is a policy failure (503 DENY). */
const PolicyFinding = z.object({
  policy_id: z.string(),
  reason: z.string(),
  effect: z.enum(DECISIONS as [string, ...string[]]).optional(),
  priority: z.number().optional(),
  risk: z.string().optional(),
});

export const PolicyDecisionSchema = z.object({
  decision: z.enum(DECISIONS as ['ALLOW', 'DENY', 'MODIFY', 'STEP_UP', 'DEFER']),
  reasons: z.array(PolicyFinding),
  patch: z.array(z.record(z.string(), z.unknown())).optional(),
  approvers: z.array(z.string()).optional(),
  quorum: z.number().int().min(1).optional(),
  four_eyes: z.boolean().optional(),
  context_needed: z.array(z.string()).optional(),
  timeout_s: z.number().positive().optional(),
  risk: z.string().optional(),
  default: z.boolean().optional(),
});
export type PolicyDecision = z.infer<typeof PolicyDecisionSchema>;

/** WASM linear memory is capped so that one pathological input cannot take the process. */
const MAX_WASM_PAGES = 4096; // 256 MiB

/** Earlier revisions kept loaded, so a deferral is resolved under the policy that deferred it. */
const KEPT_REVISIONS = 8;

interface LoadedPolicy {
  evaluate(input: unknown, entrypoint?: string | number): Array<{ result?: unknown }>;
  setData(data: unknown): void;
}

interface Loaded {
  version: PolicyVersion;
  policy: LoadedPolicy;
  data: unknown;
}

export interface PolicyVersion {
  revision: string;
  hash: string;
  loadedAt: string;
}

export interface PolicyStatus {
  revision: string | null;
  hash: string | null;
  loaded_at: string | null;
  last_error: { message: string; hash: string | null; at: string } | null;
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
  now?: () => Date;
  onReload?: (result: ReloadResult) => void;
}

export class PolicyEngine {
  private loaded: Loaded | undefined;
  /** The current revision and the ones before it, newest last, at most KEPT_REVISIONS. */
  private readonly revisions = new Map<string, Loaded>();
  private lastError: PolicyStatus['last_error'] = null;
  /** The hash whose build last failed: not retried until the sources change again. */
  private failedHash: string | null = null;
  private reloading: Promise<ReloadResult> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PolicyEngineOptions) {}

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
    };
  }

  /**
   * Evaluates the entrypoint. Throws policy_unavailable when no policy is loaded, the
   * evaluation aborts, or the result is not a well-formed decision: never a default ALLOW.
   */
  evaluate(input: unknown): { decision: PolicyDecision; version: PolicyVersion } {
    if (!this.loaded) throw new ArbiterError('policy_unavailable', 'no policy is loaded');
    return this.evaluateWith(this.loaded, input);
  }

  /**
   * Evaluates with an earlier revision, if this replica still holds it (the last
   * KEPT_REVISIONS it loaded); undefined otherwise, and the caller must not fall back.
   */
  evaluateAt(revision: string, input: unknown): { decision: PolicyDecision; version: PolicyVersion } | undefined {
    const loaded = this.revisions.get(revision);
    return loaded && this.evaluateWith(loaded, input);
  }

  private evaluateWith(loaded: Loaded, input: unknown): { decision: PolicyDecision; version: PolicyVersion } {
    let raw: unknown;
    try {
      raw = loaded.policy.evaluate(input, ENTRYPOINT)[0]?.result;
    } catch (err) {
      throw new ArbiterError('policy_unavailable', undefined, { cause: asError(err) });
    }
    const parsed = PolicyDecisionSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ArbiterError('policy_unavailable', undefined, {
        cause: new Error(`policy returned a malformed decision: ${parsed.error.issues[0]?.message ?? 'undefined'}`),
      });
    }
    return { decision: parsed.data, version: loaded.version };
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
      const policy = (await loadPolicy(bundle.wasm, { initial: 5, maximum: MAX_WASM_PAGES })) as LoadedPolicy;
      policy.setData(bundle.data);
      // A policy whose decision is undefined or malformed on an empty input would deny
      // everything with 503s: refuse it here and keep the one that works.
      const probe = PolicyDecisionSchema.safeParse(policy.evaluate({}, ENTRYPOINT)[0]?.result);
      if (!probe.success) throw new Error(`data.aarm.decision is not a well-formed decision on an empty input`);
      const version: PolicyVersion = {
        hash: snapshot.hash,
        revision: snapshot.hash.slice('sha256:'.length, 'sha256:'.length + 12),
        loadedAt: now().toISOString(),
      };
      this.loaded = { version, policy, data: bundle.data };
      this.revisions.delete(version.revision);
      this.revisions.set(version.revision, this.loaded);
      for (const old of this.revisions.keys()) {
        if (this.revisions.size <= KEPT_REVISIONS) break;
        this.revisions.delete(old);
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

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
