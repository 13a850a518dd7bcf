/**
 * A Policy that answers from a fixed function: the test double beside the WASM engine, so
 * lifecycle steps are unit-tested on the memory store without `opa build`. Its answers go
 * through the same decision check as the engine's, so a malformed one fails the same way.
 *
 * ```ts
 * const policy = new StaticPolicy(() => ({ decision: 'ALLOW', reasons: [] }), { data: catalog });
 * policy.publish('r2', () => ({ decision: 'DENY', reasons: [] })); // as a reload would
 * ```
 */
import { createHash } from 'node:crypto';
import { checkedDecision, type Evaluation, type Policy, type PolicyVersion } from './policy.js';

/** The function answers as `data.aarm.decision` would; throwing an ArbiterError stands for a failed evaluation. */
export type Answer = (input: Record<string, unknown>) => unknown;

interface Held {
  version: PolicyVersion;
  answer: Answer;
  data: unknown;
}

export class StaticPolicy implements Policy {
  private readonly held = new Map<string, Held>();
  private current: Held;

  constructor(answer: Answer, options: { revision?: string; data?: unknown; loadedAt?: Date } = {}) {
    this.current = this.hold(options.revision ?? 'static', answer, options.data ?? {}, options.loadedAt);
  }

  get version(): PolicyVersion {
    return this.current.version;
  }

  get data(): unknown {
    return this.current.data;
  }

  /** Serves a new revision from now on (data kept unless given); earlier ones stay reachable through evaluateAt. */
  publish(revision: string, answer: Answer, options: { data?: unknown; loadedAt?: Date } = {}): void {
    this.current = this.hold(revision, answer, options.data ?? this.current.data, options.loadedAt);
  }

  /** Forgets an earlier revision, as the engine does past the revisions it keeps. */
  forget(revision: string): void {
    if (revision !== this.current.version.revision) this.held.delete(revision);
  }

  async evaluate(input: Record<string, unknown>): Promise<Evaluation> {
    return evaluateWith(this.current, input);
  }

  async evaluateAt(revision: string, input: Record<string, unknown>): Promise<Evaluation | undefined> {
    const held = this.held.get(revision);
    return held && evaluateWith(held, input);
  }

  private hold(revision: string, answer: Answer, data: unknown, loadedAt = new Date(0)): Held {
    const held: Held = {
      version: {
        revision,
        hash: `sha256:${createHash('sha256').update(revision).digest('hex')}`,
        loadedAt: loadedAt.toISOString(),
      },
      answer,
      data,
    };
    this.held.set(revision, held);
    return held;
  }
}

function evaluateWith(held: Held, input: Record<string, unknown>): Evaluation {
  return { decision: checkedDecision(held.answer(input)), version: held.version };
}
