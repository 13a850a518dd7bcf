/**
 * One evaluation worker (pool.ts): holds compiled policy revisions and evaluates inputs
 * with exactly the revision each message names. opa-wasm evaluation is synchronous and
 * cannot be interrupted from JavaScript: here it blocks only this thread, and the pool
 * terminates the thread when the deadline passes.
 *
 * Messages are handled one at a time, in order, so a revision sent before an evaluation
 * is always there for it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import type { ToPool, ToWorker, WasmModule, WorkerData } from './pool.js';

interface LoadedPolicy {
  evaluate(input: unknown, entrypoint?: string | number): Array<{ result?: unknown }>;
  setData(data: unknown): void;
}

interface Held {
  module: WasmModule;
  /** The data document as JSON bytes: opa-wasm copies it into the instance's memory. */
  data: ArrayBuffer;
  instance?: Promise<LoadedPolicy>;
}

const { entrypoint, maxPages } = workerData as WorkerData;
const port = parentPort!;
const held = new Map<string, Held>();

/** opa-wasm throws strings: the pool gets a message either way. */
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

function instanceOf(revision: string): Promise<LoadedPolicy> | undefined {
  const h = held.get(revision);
  if (!h) return undefined;
  // Instantiated on first use: a replacement worker pays only for the revisions it is asked for.
  h.instance ??= (loadPolicy(h.module, { initial: 5, maximum: maxPages }) as Promise<LoadedPolicy>).then((p) => {
    p.setData(h.data);
    return p;
  });
  return h.instance;
}

async function handle(message: ToWorker): Promise<ToPool | undefined> {
  switch (message.type) {
    case 'load': {
      held.set(message.revision, { module: message.module, data: message.data });
      if (message.ack === undefined) return undefined;
      try {
        const policy = await instanceOf(message.revision)!;
        return { type: 'loaded', ack: message.ack, probe: policy.evaluate({}, entrypoint)[0]?.result };
      } catch (err) {
        held.delete(message.revision);
        return { type: 'load-failed', ack: message.ack, error: messageOf(err) };
      }
    }
    case 'drop':
      held.delete(message.revision);
      return undefined;
    case 'sync':
      return { type: 'synced', ack: message.ack };
    case 'eval': {
      const instance = instanceOf(message.revision);
      if (!instance) {
        return { type: 'failed', id: message.id, error: `revision ${message.revision} is not held`, fatal: false };
      }
      let policy: LoadedPolicy;
      try {
        policy = await instance;
      } catch (err) {
        return { type: 'failed', id: message.id, error: messageOf(err), fatal: false };
      }
      try {
        return { type: 'result', id: message.id, result: policy.evaluate(message.input, entrypoint)[0]?.result };
      } catch (err) {
        // Out of WASM memory, or an abort inside the policy: the instance's memory stays
        // grown and its state is not trusted again; the pool replaces this worker.
        return { type: 'failed', id: message.id, error: messageOf(err), fatal: true };
      }
    }
  }
}

let queue = Promise.resolve();
port.on('message', (message: ToWorker) => {
  queue = queue.then(async () => {
    const reply = await handle(message);
    if (reply) port.postMessage(reply);
  });
});
