/**
 * Normalisation (AARM action mediation): one canonical representation of the action,
 * so the same request always yields the same action hash.
 */
import { newId } from '../context/ids.js';
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

/** A generated id embeds the session tag, so an outcome can find its session from the id alone. */
export function normaliseAction(action: DecideRequest['action'], sessionTag: string): NormalisedAction {
  return {
    id: action.id ?? newId('act', sessionTag),
    idFromCaller: action.id !== undefined,
    tool: action.tool,
    ...(action.operation !== undefined && { operation: action.operation }),
    ...(action.target !== undefined && { target: action.target }),
    parameters: action.parameters,
    parametersHash: hashOf(action.parameters),
  };
}
