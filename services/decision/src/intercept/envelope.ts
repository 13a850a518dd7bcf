/**
 * The edge: every request body is checked against a schema before anything else looks
 * at it. A failure names the field and ends in 400, never in a decision.
 */
import { z } from 'zod';
import { ArbiterError } from '../errors.js';

/** Deeper JSON than this is refused before any recursive code walks it. */
export const MAX_JSON_DEPTH = 32;

const identifier = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const jsonObject = z.record(z.string(), z.unknown());

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

/** Iterative, so a hostile nesting cannot overflow the stack of the check itself. */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    max = Math.max(max, depth);
    if (max > MAX_JSON_DEPTH) return max;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}

/** Parses a body with a schema; the 400 names the first offending field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ArbiterError('invalid_request', 'the body must be a JSON object');
  }
  if (jsonDepth(body) > MAX_JSON_DEPTH) {
    throw new ArbiterError('invalid_request', `the body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? issue.path.join('.') : '(body)';
    throw new ArbiterError('invalid_request', `${field}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
