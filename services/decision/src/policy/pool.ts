/**
 * Policy evaluation off the event loop (issue 11 item 4): a fixed number of worker threads
 * (worker.ts) hold the compiled revisions and evaluate one input at a time each.
 *
 * - Each evaluation has a deadline: past it the caller gets `policy_timeout` and the
 *   worker, still stuck in WASM, is terminated and replaced.
 * - A worker whose evaluation threw (WASM out of memory, an abort) or that died is
 *   replaced; its caller gets `policy_unavailable`.
 * - Waiting is bounded in length and time: past either the caller gets `policy_busy`.
 * - A revision is installed in every worker before anyone is told it exists, and every
 *   evaluation names its revision, so a reload never splits a decision between two.
 *
 * Every failure rejects with an ArbiterError: the lifecycle answers it with 503 DENY.
 */
import { Worker } from 'node:worker_threads';
import { ArbiterError } from '../errors.js';

/**
 * A compiled WebAssembly.Module: Node has the global, the project's `lib` setting does not
 * declare it (it comes with the DOM typings).
 */
export type WasmModule = object;

const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } })
  .WebAssembly;

/** Compiled once in the main thread; every worker instantiates the same module. */
export function compileModule(bytes: Uint8Array): Promise<WasmModule> {
  return wasm.compile(bytes);
}

export interface WorkerData {
  entrypoint: string;
  maxPages: number;
}

export type ToWorker =
  | { type: 'load'; revision: string; module: WasmModule; data: ArrayBuffer; ack?: number }
  | { type: 'drop'; revision: string }
  | { type: 'sync'; ack: number }
  | { type: 'eval'; id: number; revision: string; input: ArrayBuffer };

export type ToPool =
  | { type: 'loaded'; ack: number; probe: unknown }
  | { type: 'load-failed'; ack: number; error: string }
  | { type: 'synced'; ack: number }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'failed'; id: number; error: string; fatal: boolean };

export interface PoolOptions {
  /** ARBITER_EVAL_WORKERS. */
  size: number;
  /** ARBITER_EVAL_TIMEOUT_MS: the deadline of one evaluation, and of its wait for a worker. */
  timeoutMs: number;
  /** Evaluations that may wait for a worker; more are refused at once. */
  queueMax: number;
  entrypoint: string;
  /** WASM linear memory cap per instance, in 64 KiB pages. */
  maxPages: number;
  /** A worker was replaced (deadline passed, evaluation threw, thread died); for logs. */
  onReplace?: (event: { reason: 'timeout' | 'crash' | 'exit'; error?: string }) => void;
}

export interface PoolStatus {
  workers: number;
  /** Started and holding the revisions: evaluating or free. */
  ready: number;
  busy: number;
  queued: number;
  /** Evaluations that may wait; more are refused at once (policy_busy). */
  queue_max: number;
  /** Workers replaced since start (deadline passed, evaluation threw, thread died). */
  replaced: number;
  timeout_ms: number;
}

export interface Revision {
  revision: string;
  module: WasmModule;
  /** The data document as JSON bytes. */
  data: ArrayBuffer;
}

interface Task {
  id: number;
  revision: string;
  input: ArrayBuffer;
  resolve(result: unknown): void;
  reject(error: ArbiterError): void;
  timer: NodeJS.Timeout;
}

interface Ack {
  resolve(reply: ToPool | undefined): void;
}

interface Slot {
  worker: Worker;
  /** Ready once it holds every revision installed before it started. */
  ready: boolean;
  task: Task | undefined;
  acks: Map<number, Ack>;
  dead: boolean;
}

/** Run from source (tsx), the worker is a .ts file and needs tsx's hooks in its own thread. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);

function spawnWorker(data: WorkerData): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL, { workerData: data });
  // Node 20 does not apply the parent's `--import tsx` to workers, later versions do: the
  // worker starts with no flags of the parent's and registers tsx itself, exactly once.
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(code, { eval: true, workerData: data, execArgv: [] });
}

/** A JSON document as bytes of their own, as opa-wasm takes input and data. */
export function jsonBytes(value: unknown): ArrayBuffer {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes.buffer as ArrayBuffer)
    : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

/** Evaluations that may wait per worker (ARBITER_EVAL_WORKERS × this bounds the queue). */
export const QUEUE_PER_WORKER = 64;

export class EvalPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  /** Installed revisions, oldest first: what a new worker is given. */
  private readonly revisions = new Map<string, Revision>();
  private nextId = 1;
  private closed = false;
  /** Consecutive workers that died before they were ready: spawning again waits longer. */
  private startFailures = 0;
  private replaced = 0;

  constructor(private readonly options: PoolOptions) {
    for (let i = 0; i < options.size; i++) this.slots.push(this.spawn());
  }

  /**
   * Installs a revision in every worker and resolves with the entrypoint's result on an
   * empty input (for the caller to check) once all hold it; a worker that cannot load it
   * fails the install, and the revision is dropped everywhere.
   */
  async install(revision: Revision): Promise<unknown> {
    this.revisions.delete(revision.revision);
    this.revisions.set(revision.revision, revision);
    const replies = await Promise.all(
      this.slots.map((slot) => this.request(slot, (ack) => ({ type: 'load', ...revision, ack }))),
    );
    const failed = replies.find((r) => r?.type === 'load-failed');
    if (failed?.type === 'load-failed') {
      this.drop(revision.revision);
      throw new Error(`the policy cannot be loaded: ${failed.error}`);
    }
    const loaded = replies.find((r) => r?.type === 'loaded');
    if (loaded?.type !== 'loaded') {
      this.drop(revision.revision);
      throw new Error('every evaluation worker was replaced while the policy was loading');
    }
    return loaded.probe;
  }

  drop(revision: string): void {
    this.revisions.delete(revision);
    for (const slot of this.slots) slot.worker.postMessage({ type: 'drop', revision } satisfies ToWorker);
  }

  /** The entrypoint's raw result for this input under this revision. */
  run(revision: string, input: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(new ArbiterError('policy_unavailable', 'the service is stopping'));
    if (this.queue.length >= this.options.queueMax) {
      return Promise.reject(new ArbiterError('policy_busy', `${this.queue.length} evaluations are already waiting`));
    }
    // Serialised here once; opa-wasm takes the bytes as they are, and the transfer copies nothing.
    const buffer = jsonBytes(input);
    return new Promise((resolve, reject) => {
      const task: Task = {
        id: this.nextId++,
        revision,
        input: buffer,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.queue.splice(this.queue.indexOf(task), 1);
          reject(new ArbiterError('policy_busy', `no evaluation worker was free within ${this.options.timeoutMs} ms`));
        }, this.options.timeoutMs),
      };
      this.queue.push(task);
      this.pump();
    });
  }

  /** For GET /v1/policy, /readyz and /metrics: how many workers serve, and how much waits. */
  status(): PoolStatus {
    return {
      workers: this.options.size,
      ready: this.slots.filter((s) => s.ready && !s.dead).length,
      busy: this.slots.filter((s) => s.task !== undefined).length,
      queued: this.queue.length,
      queue_max: this.options.queueMax,
      replaced: this.replaced,
      timeout_ms: this.options.timeoutMs,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) {
      clearTimeout(task.timer);
      task.reject(new ArbiterError('policy_unavailable', 'the service is stopping'));
    }
    await Promise.all(this.slots.map((slot) => this.retire(slot, 'the service is stopping')));
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.task || slot.dead) continue;
      const task = this.queue.shift()!;
      clearTimeout(task.timer);
      if (!this.revisions.has(task.revision)) {
        task.reject(new ArbiterError('policy_unavailable', `policy revision ${task.revision} is no longer held`));
        continue;
      }
      slot.task = task;
      task.timer = setTimeout(() => {
        slot.task = undefined;
        task.reject(
          new ArbiterError('policy_timeout', `the policy did not answer within ${this.options.timeoutMs} ms`),
        );
        this.replace(slot, { reason: 'timeout' });
      }, this.options.timeoutMs);
      slot.worker.postMessage(
        { type: 'eval', id: task.id, revision: task.revision, input: task.input } satisfies ToWorker,
        [task.input],
      );
    }
  }

  private spawn(): Slot {
    const worker = spawnWorker({ entrypoint: this.options.entrypoint, maxPages: this.options.maxPages });
    // The HTTP server keeps the process alive; an idle pool must not.
    worker.unref();
    const slot: Slot = { worker, ready: false, task: undefined, acks: new Map(), dead: false };
    worker.on('message', (message: ToPool) => this.received(slot, message));
    worker.on('error', (err: unknown) =>
      this.replace(slot, { reason: 'crash', error: err instanceof Error ? err.message : String(err) }),
    );
    worker.on('exit', (code) => this.replace(slot, { reason: 'exit', error: `exit code ${code}` }));
    // Every revision, the newest instantiated now (it is the one that serves), then ready.
    const held = [...this.revisions.values()];
    held.forEach((revision, i) =>
      worker.postMessage({
        type: 'load',
        ...revision,
        ...(i === held.length - 1 && { ack: this.nextId++ }),
      } satisfies ToWorker),
    );
    void this.request(slot, (ack) => ({ type: 'sync', ack })).then((reply) => {
      if (!reply || slot.dead) return;
      slot.ready = true;
      this.startFailures = 0;
      this.pump();
    });
    return slot;
  }

  /** Sends a message that is answered; resolves undefined if the worker goes first. */
  private request(slot: Slot, message: (ack: number) => ToWorker): Promise<ToPool | undefined> {
    if (slot.dead) return Promise.resolve(undefined);
    const ack = this.nextId++;
    return new Promise((resolve) => {
      slot.acks.set(ack, { resolve });
      slot.worker.postMessage(message(ack));
    });
  }

  private received(slot: Slot, message: ToPool): void {
    if (message.type === 'loaded' || message.type === 'load-failed' || message.type === 'synced') {
      slot.acks.get(message.ack)?.resolve(message);
      slot.acks.delete(message.ack);
      return;
    }
    const task = slot.task;
    if (!task || task.id !== message.id) return;
    clearTimeout(task.timer);
    slot.task = undefined;
    if (message.type === 'result') {
      task.resolve(message.result);
    } else {
      task.reject(
        new ArbiterError('policy_unavailable', undefined, {
          cause: new Error(`policy evaluation failed: ${message.error}`),
        }),
      );
      if (message.fatal) {
        this.replace(slot, { reason: 'crash', error: message.error });
        return;
      }
    }
    this.pump();
  }

  /** Takes a worker out (its evaluation, if any, fails) and starts another in its place. */
  private replace(slot: Slot, event: { reason: 'timeout' | 'crash' | 'exit'; error?: string }): void {
    if (slot.dead) return;
    const readyBefore = slot.ready;
    void this.retire(slot, event.error ?? 'the evaluation worker stopped');
    if (this.closed) return;
    this.replaced += 1;
    this.options.onReplace?.(event);
    const index = this.slots.indexOf(slot);
    this.startFailures = readyBefore ? 0 : this.startFailures + 1;
    // A worker that cannot even start (a broken install) must not be respawned in a tight loop.
    const delay = this.startFailures === 0 ? 0 : Math.min(5000, 100 * 2 ** this.startFailures);
    const start = () => {
      if (this.closed) return;
      this.slots[index] = this.spawn();
    };
    if (delay === 0) start();
    else setTimeout(start, delay).unref();
  }

  private async retire(slot: Slot, why: string): Promise<void> {
    if (slot.dead) return;
    slot.dead = true;
    slot.ready = false;
    if (slot.task) {
      clearTimeout(slot.task.timer);
      slot.task.reject(new ArbiterError('policy_unavailable', undefined, { cause: new Error(why) }));
      slot.task = undefined;
    }
    for (const ack of slot.acks.values()) ack.resolve(undefined);
    slot.acks.clear();
    await slot.worker.terminate();
  }
}
