/**
 * Normalisation (AARM action mediation): one canonical representation of the action,
 * so the same request always yields the same action hash.
 */
import { randomUUID } from 'node:crypto';
import { hashOf } from '../receipts/canonical.js';
import type { DecideRequest } from './envelope.js';

export interface NormalisedAction {
  id: string;
  /** False when we generated the id: only caller-given ids are idempotency keys. */
  idFromCaller: boolean;
  tool: string;
  operation?: string;
  target?: string;
  parameters: Record<string, unknown>;
  parametersHash: string;
}

export function normaliseAction(action: DecideRequest['action']): NormalisedAction {
  return {
    id: action.id ?? `act_${randomUUID()}`,
    idFromCaller: action.id !== undefined,
    tool: action.tool,
    ...(action.operation !== undefined && { operation: action.operation }),
    ...(action.target !== undefined && { target: action.target }),
    parameters: action.parameters,
    parametersHash: hashOf(action.parameters),
  };
}
