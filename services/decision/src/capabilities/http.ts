/**
 * POST /v1/capabilities/verify: a tool, or the gateway in front of it, asks whether a
 * capability authorises the call it is about to run, and (redeem: true) uses it up.
 *
 *   { "capability": "<jwt>", "tool": "files.read", "parameters": {…}, "scope"?: "read", "redeem"?: true }
 *   → 200 { "valid": true, "claims": {…} } | 200 { "valid": false, "reason": "wrong_parameters" }
 *
 * A refusal is an answer (200), not an error: errors (400 invalid body, 401, 503 when the
 * redemption record cannot be written) are for requests that could not be judged. Either
 * way only `valid: true` lets the call run. Parameters carrying a prototype key
 * (`__proto__`, `constructor.prototype`) are a 400, never valid: the schema would drop the
 * key, so the check would pass for parameters other than those the tool runs with.
 *
 * Single use: with `redeem` the capability is used up; without it the check still refuses
 * a capability that was redeemed before ('already_used'), when the redemption store can
 * say so. A capability bound to a caller (`azp`) is refused to every other caller
 * ('wrong_caller') and not used up.
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { ArbiterError } from '../errors.js';
import { DecideRequestSchema, parseBody } from '../intercept/envelope.js';
import type { CapabilityRedemptions } from './redemptions.js';
import {
  CAPABILITY_SCOPES,
  checkUnredeemed,
  MAX_CAPABILITY_LENGTH,
  redeemCapability,
  verifyCapability,
  type CapabilityClaims,
  type CapabilityRedemption,
} from './token.js';

export const VerifyCapabilitySchema = z.object({
  capability: z.string().min(1).max(MAX_CAPABILITY_LENGTH),
  tool: DecideRequestSchema.shape.action.shape.tool,
  /** The parameters the call will run with: exactly those the decision bound (for MODIFY the modified ones). */
  parameters: z.record(z.string(), z.unknown()),
  /** What the call does; one of read, write, delete, execute, send, grant, pay. */
  scope: z.enum(CAPABILITY_SCOPES).optional(),
  /** Use the capability up: valid only the first time. */
  redeem: z.boolean().optional(),
});
export type VerifyCapabilityBody = z.infer<typeof VerifyCapabilitySchema>;

export type VerifyCapabilityResponse =
  | { valid: true; claims: CapabilityClaims }
  | { valid: false; reason: Exclude<CapabilityRedemption, { valid: true }>['reason'] };

/** One verification, for the log line and the metric (never holds the token itself). */
export interface CapabilityCheckEvent {
  valid: boolean;
  reason?: string;
  redeem: boolean;
  tool: string;
  scope?: string;
  /** Present on a valid check. */
  jti?: string;
  action?: string;
  session?: string;
  tenant?: string;
}

export interface CapabilityVerifyDeps {
  /** kid → Ed25519 public key: the signing key and the retired ones still published in /v1/keys. */
  capabilityKeys: Map<string, KeyObject>;
  redemptions: CapabilityRedemptions;
  clock: () => Date;
  /** Default 0: the capabilities were issued on this service's clock. */
  capabilityClockToleranceSeconds?: number;
  /** Called after every check (usage logging, AARM R9: "credential usage logged"). */
  onCapabilityCheck?: (event: CapabilityCheckEvent) => void;
}

/**
 * The handler: parses the body (400 naming the field), verifies and, with `redeem`,
 * redeems. `caller` is who asks: with it, a capability of another tenant is refused as
 * 'wrong_tenant', and one bound to another caller as 'wrong_caller' (neither is used up).
 */
export async function verifyCapabilityRequest(
  deps: CapabilityVerifyDeps,
  body: unknown,
  caller?: { tenant: string; subject?: string },
): Promise<VerifyCapabilityResponse> {
  const request = parseBody(VerifyCapabilitySchema, body);
  const args = {
    token: request.capability,
    tool: request.tool,
    parameters: request.parameters,
    ...(request.scope !== undefined && { scope: request.scope }),
    ...(caller !== undefined && { tenant: caller.tenant }),
    ...(caller?.subject !== undefined && { holder: caller.subject }),
    now: deps.clock(),
    keys: deps.capabilityKeys,
    clockToleranceSeconds: deps.capabilityClockToleranceSeconds ?? 0,
  };
  const { redemptions } = deps;
  let result: CapabilityRedemption;
  try {
    if (request.redeem === true) result = await redeemCapability({ ...args, redemptions });
    else if (redemptions.used !== undefined)
      result = await checkUnredeemed({ ...args, redemptions: { used: (jti) => redemptions.used!(jti) } });
    else result = await verifyCapability(args);
  } catch (err) {
    if (err instanceof ArbiterError) throw err;
    // Unknown whether the capability was (or now is) used: the call must not run.
    throw new ArbiterError('store_unavailable', 'the capability redemption could not be checked', { cause: err });
  }
  deps.onCapabilityCheck?.({
    valid: result.valid,
    ...(!result.valid && { reason: result.reason }),
    redeem: request.redeem === true,
    tool: request.tool,
    ...(request.scope !== undefined && { scope: request.scope }),
    ...(result.valid && {
      jti: result.claims.jti,
      action: result.claims.aarm.action,
      session: result.claims.aarm.session,
      tenant: result.claims.aarm.tenant,
    }),
  });
  return result.valid ? { valid: true, claims: result.claims } : { valid: false, reason: result.reason };
}
