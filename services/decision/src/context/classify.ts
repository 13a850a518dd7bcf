/**
 * How sensitive the data an action returned is (AARM R2: "default to the highest
 * sensitivity when nothing classifies the data"). The tool catalog and the label → level
 * map come from the policy's data (`data.aarm.catalog`), so they change with the policy.
 */
import { CLASSIFICATIONS, type Classification } from './types.js';

const RANK = new Map<string, number>(CLASSIFICATIONS.map((c, i) => [c, i]));

export function isClassification(value: unknown): value is Classification {
  return typeof value === 'string' && RANK.has(value);
}

export function higher(a: Classification, b: Classification): Classification {
  return (RANK.get(a) ?? 0) >= (RANK.get(b) ?? 0) ? a : b;
}

/** 0 for PUBLIC … 3 for RESTRICTED. */
export function rankOf(level: Classification): number {
  return RANK.get(level) ?? CLASSIFICATIONS.length - 1;
}

/** The policy data at `path` (object keys only), undefined when any step is missing. */
export function at(data: unknown, path: string[]): unknown {
  let node = data;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The classification the catalog gives what `tool` returns, undefined for an unknown tool. */
export function toolClassification(data: unknown, tool: string): Classification | undefined {
  const level = at(data, ['aarm', 'catalog', 'tools', tool, 'classification']);
  return isClassification(level) ? level : undefined;
}

/**
 * The level of an outcome's data: the highest of its labels' levels (a level name, or a
 * label mapped in data.aarm.catalog.data_classes); a label that nothing maps, or no label
 * at all on a success, counts as the tool's catalog classification, and as RESTRICTED
 * when the tool is not catalogued. An error with no labels returned no data.
 */
export function outcomeClassification(
  data: unknown,
  tool: string,
  labels: string[],
  status: 'success' | 'error',
): Classification | undefined {
  const fallback = toolClassification(data, tool) ?? 'RESTRICTED';
  if (labels.length === 0) return status === 'success' ? fallback : undefined;
  return labels
    .map((label): Classification => {
      if (isClassification(label)) return label;
      const mapped = at(data, ['aarm', 'catalog', 'data_classes', label]);
      return isClassification(mapped) ? mapped : fallback;
    })
    .reduce(higher);
}
