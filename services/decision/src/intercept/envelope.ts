/**
 * The edge: every request body is checked against a schema before anything else looks
 * at it. A failure names the field and ends in 400, never in a decision.
 */
import { z } from 'zod';
import { ArbiterError } from '../errors.js';

/** Deeper JSON than this is refused before any recursive code walks it. */
export const MAX_JSON_DEPTH = 32;

/**
 * Caps on the caller's free-form JSON (`action.parameters`, `signals`), per member, so one
 * field cannot carry what the body limit allows in all (issue 11: a request naming 9,000
 * recipients was evaluated, hashed and stored whole). A string is counted in UTF-16 units.
 */
export const MAX_JSON_ARRAY_LENGTH = 1000;
export const MAX_JSON_OBJECT_KEYS = 1000;
export const MAX_JSON_STRING_LENGTH = 256 * 1024;

const identifier = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const jsonObject = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const over = overJsonCap(value);
  if (over !== undefined) ctx.addIssue({ code: 'custom', path: over.path, message: over.message });
});

export const DecideRequestSchema = z.object({
  action: z.object({
    id: identifier(128).optional(),
    tool: identifier(256),
    operation: z.string().min(1).max(64).optional(),
    parameters: jsonObject.default({}),
    target: z.string().max(2048).optional(),
  }),
  session: z.object({
    id: identifier(128),
    intent: z
      .string()
      .max(16 * 1024)
      .optional(),
  }),
  identity: z
    .object({
      agent_token: z
        .string()
        .max(16 * 1024)
        .optional(),
      agent: identifier(256).optional(),
      human: z.string().min(1).max(256).optional(),
      service: z.string().min(1).max(256).optional(),
      role: z.string().min(1).max(256).optional(),
    })
    .default({}),
  signals: jsonObject.default({}),
});
export type DecideRequest = z.infer<typeof DecideRequestSchema>;

interface Node {
  value: unknown;
  depth: number;
  key: string;
  parent: Node | undefined;
}

/**
 * One iterative walk (a hostile nesting cannot overflow the stack of the check itself):
 * the depth, up to the first level past MAX_JSON_DEPTH, and the path of the first prototype
 * key, the same keys the HTTP reader refuses (json.ts), for values that did not come
 * through it: zod drops `__proto__`, so nothing after this would see it.
 */
function inspectJson(value: unknown): { depth: number; prototypeKey: string | undefined } {
  let max = 0;
  let prototypeKey: string | undefined;
  const stack: Node[] = [{ value, depth: 1, key: '', parent: undefined }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const v = node.value;
    if (v === null || typeof v !== 'object') continue;
    max = Math.max(max, node.depth);
    if (max > MAX_JSON_DEPTH) break;
    for (const [key, child] of Object.entries(v)) {
      const next = { value: child, depth: node.depth + 1, key, parent: node };
      const viaConstructor = key === 'prototype' && !Array.isArray(v) && node.key === 'constructor';
      if (prototypeKey === undefined && (key === '__proto__' || viaConstructor)) prototypeKey = pathOf(next).join('.');
      stack.push(next);
    }
  }
  return { depth: max, prototypeKey };
}

function pathOf(node: Node): string[] {
  const keys: string[] = [];
  for (let n: Node | undefined = node; n?.parent !== undefined; n = n.parent) keys.push(n.key);
  return keys.reverse();
}

/**
 * The path (from `value`) and the reason of the first member past a cap: an array longer
 * than MAX_JSON_ARRAY_LENGTH, an object with more than MAX_JSON_OBJECT_KEYS keys, a string
 * longer than MAX_JSON_STRING_LENGTH. Iterative like inspectJson, and it stops at the first.
 *
 *   overJsonCap({ to: Array(1001).fill('a') })  → { path: ['to'], message: 'the array has more than 1000 elements' }
 */
export function overJsonCap(value: unknown): { path: string[]; message: string } | undefined {
  const stack: Node[] = [{ value, depth: 1, key: '', parent: undefined }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const v = node.value;
    let message: string | undefined;
    if (typeof v === 'string') {
      if (v.length > MAX_JSON_STRING_LENGTH) message = `the string is longer than ${MAX_JSON_STRING_LENGTH} characters`;
    } else if (Array.isArray(v)) {
      if (v.length > MAX_JSON_ARRAY_LENGTH) message = `the array has more than ${MAX_JSON_ARRAY_LENGTH} elements`;
    } else if (v !== null && typeof v === 'object') {
      if (Object.keys(v).length > MAX_JSON_OBJECT_KEYS)
        message = `the object has more than ${MAX_JSON_OBJECT_KEYS} keys`;
    }
    if (message !== undefined) return { path: pathOf(node), message };
    if (v === null || typeof v !== 'object') continue;
    for (const [key, child] of Object.entries(v))
      stack.push({ value: child, depth: node.depth + 1, key, parent: node });
  }
  return undefined;
}

/** The nesting depth of a value (objects and arrays), counted up to MAX_JSON_DEPTH + 1. */
export function jsonDepth(value: unknown): number {
  return inspectJson(value).depth;
}

/** Parses a body with a schema; the 400 names the first offending field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ArbiterError('invalid_request', 'the body must be a JSON object');
  }
  const shape = inspectJson(body);
  if (shape.depth > MAX_JSON_DEPTH) {
    throw new ArbiterError('invalid_request', `the body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (shape.prototypeKey !== undefined) {
    throw new ArbiterError('invalid_request', `${shape.prototypeKey}: prototype keys are refused`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? issue.path.join('.') : '(body)';
    throw new ArbiterError('invalid_request', `${field}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
