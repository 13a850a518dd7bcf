/**
 * The error catalogue: every failure the service reports has a stable `code`, one HTTP
 * status and a public message. Internal causes are logged, never sent to the caller.
 * docs/errors.md lists the same codes; test/unit/errors.test.ts keeps the two in step.
 */
export const ERROR_CATALOGUE = {
  invalid_request: { status: 400, message: 'the request is invalid' },
  invalid_json: { status: 400, message: 'the body is not valid JSON' },
  unauthenticated: { status: 401, message: 'a valid bearer token is required' },
  unauthenticated_unavailable: { status: 503, message: 'the keys that verify tokens cannot be fetched' },
  forbidden: { status: 403, message: 'the caller may not do this' },
  not_found: { status: 404, message: 'no such resource' },
  conflict: { status: 409, message: 'the request conflicts with an earlier one' },
  payload_too_large: { status: 413, message: 'the body is larger than the configured limit' },
  unsupported_media_type: { status: 415, message: 'the body must be application/json' },
  rate_limited: { status: 429, message: 'too many requests from this caller; retry after the Retry-After seconds' },
  policy_build_failed: { status: 422, message: 'the policy could not be built; the previous one keeps serving' },
  policy_unavailable: { status: 503, message: 'no policy is loaded or it failed to evaluate' },
  policy_timeout: { status: 503, message: 'the policy did not answer within its deadline' },
  policy_busy: { status: 503, message: 'no policy evaluation worker came free in time; retry' },
  store_unavailable: { status: 503, message: 'the context store cannot serve' },
  contention: { status: 503, message: 'the session changed too often to commit; retry' },
  internal: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class ArbiterError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Public detail: safe to send (names a field, never echoes a secret). */
  readonly detail: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${code}: ${detail}` : code, options);
    this.name = 'ArbiterError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.detail = detail;
  }

  /** The body sent to the caller. */
  toBody(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.detail ?? ERROR_CATALOGUE[this.code].message } };
  }
}

/** opa-wasm and some drivers throw strings or plain objects: make them Errors at the adapter. */
export function asError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}

export function errorMessage(thrown: unknown): string {
  return asError(thrown).message;
}
