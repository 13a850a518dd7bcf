/**
 * Intent drift (AARM R7): how far each action of a session is from what the user asked,
 *
 *   d(intent, action) = 1 − cosine(embed(intent), embed(actionText(action)))
 *
 * and how far the session has drifted so far, kept in the session summary in O(1)
 * (DriftState). The intent is embedded once, when the session opens, and stored in the
 * session meta quantised to int8 (StoredEmbedding: 1 KB of vector, ~1.4 KB of base64 at
 * 1024 dimensions). docs/drift.md has the definitions, the calibration and the profiles.
 */
import { z } from 'zod';
import { EmbeddingError, isDetailedProvider, type DetailedEmbedding, type EmbeddingProvider } from './provider.js';

// ---------------------------------------------------------------------------
// What is embedded for an action
// ---------------------------------------------------------------------------

export interface DriftAction {
  tool: string;
  operation?: string;
  parameters: Record<string, unknown>;
}

export interface CatalogEntryText {
  description?: string;
  operation?: string;
}

export const ACTION_TEXT_LIMITS = {
  /** The whole text, in characters. */
  total: 1000,
  /** The catalog description. */
  description: 300,
  /** One parameter value (after cleaning). */
  value: 200,
  /** Parameter values (strings) visited, over the whole parameter tree. */
  values: 32,
  /** Nesting depth of parameters visited (the top-level object is depth 1). */
  depth: 4,
} as const;

/** "email.send" → "email send", "listCharges" → "list Charges", "order_id" → "order id". */
export function splitIdentifier(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[._\-/:]+/g, ' ')
    .trim();
}

/**
 * An opaque token: an id, hash, key or encoded blob, which carries no meaning and may be
 * a secret (and the action text may be sent to a remote embedding provider). A token
 * (whitespace-separated, surrounding punctuation stripped) is opaque when any of its
 * parts (split on - _ . : / + =) is hex of 12+ characters with a digit, 12+ characters
 * mixing letters and digits, 9+ digits, or 32+ characters of anything; or when the
 * whole token is 40+ characters without a space. "[REDACTED]" markers are dropped too.
 */
export function isOpaqueToken(token: string): boolean {
  const t = token.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  if (t.length === 0) return false;
  if (/^redacted$/i.test(t)) return true;
  if (t.length >= 40) return true;
  return t.split(/[-_.:/+=]+/).some((part) => {
    if (part.length >= 32) return true;
    if (/^[0-9]{9,}$/.test(part)) return true;
    if (part.length >= 12 && /[0-9]/.test(part) && /^[0-9a-f]+$/i.test(part)) return true;
    return part.length >= 12 && /[0-9]/.test(part) && /\p{L}/u.test(part);
  });
}

/** Keeps a URL's host and path, drops scheme, credentials, query and fragment (tokens, signatures). */
function urlWords(value: string): string {
  try {
    const u = new URL(value);
    return `${u.hostname} ${decodeURIComponent(u.pathname)}`;
  } catch {
    return value.replace(/[?#].*$/, '');
  }
}

function cut(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const head = text.slice(0, limit);
  const space = head.lastIndexOf(' ');
  return space > limit / 2 ? head.slice(0, space) : head;
}

/** A parameter value as words: URLs reduced, opaque tokens dropped, bounded. */
export function salientText(value: string): string {
  const reduced = value
    .slice(0, ACTION_TEXT_LIMITS.value * 4)
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (url) => urlWords(url));
  const words = reduced.split(/\s+/).filter((t) => t.length > 0 && !isOpaqueToken(t));
  return cut(words.join(' '), ACTION_TEXT_LIMITS.value);
}

function parameterText(parameters: unknown): string {
  const parts: string[] = [];
  let values = 0;
  const visit = (node: unknown, depth: number) => {
    if (values >= ACTION_TEXT_LIMITS.values || depth > ACTION_TEXT_LIMITS.depth) return;
    if (typeof node === 'string') {
      values++;
      const text = salientText(node);
      if (text) parts.push(text);
    } else if (Array.isArray(node)) {
      for (const item of node) visit(item, depth + 1);
    } else if (node !== null && typeof node === 'object') {
      // Keys in sorted order: the text must not depend on how the caller ordered them.
      for (const key of Object.keys(node).sort()) {
        if (!isOpaqueToken(key)) parts.push(splitIdentifier(key));
        visit((node as Record<string, unknown>)[key], depth + 1);
      }
    }
    // Numbers, booleans and null carry no meaning for drift: only their keys count.
  };
  visit(parameters, 1);
  return parts.join(' ');
}

/**
 * The text embedded for an action: the tool name in words, the operation, the catalog
 * description, then the parameters (key names, and string values with URLs reduced to
 * host and path and opaque tokens dropped), at most ACTION_TEXT_LIMITS.total characters.
 * Pass parameters already masked (maskParameters) so masked values never leave.
 */
export function actionText(action: DriftAction, catalogEntry?: CatalogEntryText): string {
  const operation = action.operation ?? catalogEntry?.operation;
  const description =
    typeof catalogEntry?.description === 'string'
      ? cut(catalogEntry.description.replace(/\s+/g, ' ').trim(), ACTION_TEXT_LIMITS.description)
      : '';
  const head = [splitIdentifier(action.tool), operation !== undefined ? splitIdentifier(operation) : '', description]
    .filter((s) => s.length > 0)
    .join(' ');
  const params = parameterText(action.parameters);
  return cut(params ? `${head} ${params}` : head, ACTION_TEXT_LIMITS.total);
}

/** The catalog entry of a tool in the policy data (data.aarm.catalog.tools[tool]), for actionText. */
export function catalogEntryOf(policyData: unknown, tool: string): CatalogEntryText | undefined {
  const tools = (policyData as { aarm?: { catalog?: { tools?: unknown } } } | null)?.aarm?.catalog?.tools;
  if (tools === null || typeof tools !== 'object' || !Object.hasOwn(tools, tool)) return undefined;
  const entry = (tools as Record<string, unknown>)[tool];
  if (entry === null || typeof entry !== 'object') return undefined;
  const { description, operation } = entry as { description?: unknown; operation?: unknown };
  return {
    ...(typeof description === 'string' && { description }),
    ...(typeof operation === 'string' && { operation }),
  };
}

// ---------------------------------------------------------------------------
// Distance
// ---------------------------------------------------------------------------

export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`vectors of different dimensions (${a.length}, ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  // A zero vector (a text with no features) is orthogonal to everything.
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}

/**
 * 1 − cosine, clamped to [0, 2] and NOT rescaled: 0 = same direction, 1 = unrelated
 * (orthogonal), above 1 = opposed (with the hashed provider only through sign
 * collisions, and then barely). Thresholds are on this scale.
 */
export function distance(a: Float32Array, b: Float32Array): number {
  const d = 1 - cosine(a, b);
  return Math.min(2, Math.max(0, d));
}

// ---------------------------------------------------------------------------
// The intent's embedding, stored compactly in the session meta
// ---------------------------------------------------------------------------

/**
 * An embedding quantised to int8 with one scale: v[i] ≈ q[i] × scale, q in [−127, 127],
 * scale = max|v| / 127. `data` is the base64 of the int8 bytes: 4·⌈D/3⌉ characters
 * (1368 for D = 1024), against 5464 for base64 Float32.
 */
export interface StoredEmbedding {
  provider: string;
  dimensions: number;
  encoding: 'int8';
  scale: number;
  data: string;
}

export const StoredEmbeddingSchema = z.object({
  provider: z.string().min(1).max(200),
  dimensions: z.number().int().min(1).max(16384),
  encoding: z.literal('int8'),
  scale: z.number().finite().nonnegative(),
  data: z.string().max(22000),
});

export function quantise(provider: string, vector: Float32Array): StoredEmbedding {
  let max = 0;
  for (const v of vector) max = Math.max(max, Math.abs(v));
  const scale = max / 127;
  const q = new Int8Array(vector.length);
  if (scale > 0) for (let i = 0; i < vector.length; i++) q[i] = Math.round(vector[i]! / scale);
  return {
    provider,
    dimensions: vector.length,
    encoding: 'int8',
    scale,
    data: Buffer.from(q.buffer, q.byteOffset, q.byteLength).toString('base64'),
  };
}

/** The stored vector again (not re-normalised: cosine() divides by the norms). */
export function dequantise(stored: StoredEmbedding): Float32Array {
  const bytes = Buffer.from(stored.data, 'base64');
  if (bytes.length !== stored.dimensions) throw new RangeError('stored embedding: data does not match its dimensions');
  const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(stored.dimensions);
  for (let i = 0; i < q.length; i++) out[i] = q[i]! * stored.scale;
  return out;
}

// ---------------------------------------------------------------------------
// The session's drift: O(1) state in the summary
// ---------------------------------------------------------------------------

/**
 * Kept in SessionSummary.drift, updated once per measured action n = 1, 2, …, with the
 * convention d_0 = 0 and e_0 = 0 (the intent itself is the session's 0-th observation):
 *
 *   distance    d_n, the last action's distance
 *   ema         e_n = α·d_n + (1 − α)·e_{n−1}: the smoothed level of the session's drift
 *   cumulative  c_n = max(e_n, min(d_n, d_{n−1})): the session's sustained drift, the
 *               smoothed level or the level the last two actions both reached, whichever
 *               is higher. It needs persistence (one far action lifts it to α·d at most,
 *               unless the action before was as far) and follows a slow creep with a lag
 *               of one step, where the EMA alone lags by (1 − α)/α steps. It comes down
 *               again when the agent returns to the task.
 *   max         m_n = max(m_{n−1}, d_n): the farthest single action; never decreases (the
 *               session's semantic_distance for telemetry)
 *   count       n
 *
 * docs/drift.md ("Cumulative drift") gives the reasons and the figures.
 */
export interface DriftState {
  distance: number;
  cumulative: number;
  max: number;
  ema: number;
  count: number;
}

export const DriftStateSchema = z.object({
  distance: z.number().finite(),
  cumulative: z.number().finite(),
  max: z.number().finite(),
  ema: z.number().finite(),
  count: z.number().int().nonnegative(),
});

export const DEFAULT_EMA_ALPHA = 0.3;

export function initialDrift(): DriftState {
  return { distance: 0, cumulative: 0, max: 0, ema: 0, count: 0 };
}

/** Rounded to 6 decimals so the summary (and its hash in receipts) is stable and short. */
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** The state after one more action at distance `d` (O(1); `state` undefined = no action measured yet). */
export function updateDrift(state: DriftState | undefined, d: number, alpha: number = DEFAULT_EMA_ALPHA): DriftState {
  if (!Number.isFinite(d) || d < 0) throw new RangeError('distance must be a finite number >= 0');
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError('alpha must be in (0, 1]');
  const prev = state ?? initialDrift();
  const dn = round6(d);
  const ema = round6(alpha * dn + (1 - alpha) * prev.ema);
  // prev.distance is d_{n-1}, and 0 (= d_0) before the first action.
  const persistent = prev.count === 0 ? 0 : Math.min(dn, prev.distance);
  return {
    distance: dn,
    cumulative: Math.max(ema, persistent),
    max: Math.max(prev.max, dn),
    ema,
    count: prev.count + 1,
  };
}

// ---------------------------------------------------------------------------
// Profiles: data.aarm.drift.profiles
// ---------------------------------------------------------------------------

const ThresholdsSchema = z.object({
  /** One action farther than this from the intent: abrupt drift. */
  distance_threshold: z.number().min(0).max(2),
  /** The session's cumulative drift above this: sustained or creeping drift. */
  cumulative_threshold: z.number().min(0).max(2),
});

export const DriftProfileSchema = ThresholdsSchema.extend({
  action: z.enum(['STEP_UP', 'DEFER']),
  /**
   * Thresholds for another vector space, by provider name (input.drift.provider): a
   * profile calibrated for a remote model keeps the built-in provider's thresholds here,
   * for the actions measured by the fallback.
   */
  providers: z.record(z.string().min(1), ThresholdsSchema).optional(),
});
export type DriftProfile = z.infer<typeof DriftProfileSchema>;

export const DriftProfilesSchema = z.record(z.string().min(1), DriftProfileSchema);

export interface DriftVerdict {
  exceeded: boolean;
  /** Which measure crossed its threshold (both may). */
  by: ('distance' | 'cumulative')[];
  action: DriftProfile['action'] | undefined;
  reason: string | undefined;
}

/**
 * Compares the state after an action with a profile (strictly above the threshold counts),
 * with the profile's thresholds for `provider` when it has some. The same rule as the Rego
 * rule of docs/drift.md, for the bench and for callers that decide in TypeScript.
 */
export function evaluateDrift(profile: DriftProfile, state: DriftState, provider?: string): DriftVerdict {
  const t = (provider !== undefined && profile.providers?.[provider]) || profile;
  const by: DriftVerdict['by'] = [];
  if (state.distance > t.distance_threshold) by.push('distance');
  if (state.cumulative > t.cumulative_threshold) by.push('cumulative');
  if (by.length === 0) return { exceeded: false, by, action: undefined, reason: undefined };
  const parts = by.map((m) =>
    m === 'distance'
      ? `action distance ${state.distance.toFixed(3)} > ${t.distance_threshold}`
      : `cumulative drift ${state.cumulative.toFixed(3)} > ${t.cumulative_threshold}`,
  );
  return { exceeded: true, by, action: profile.action, reason: `intent drift: ${parts.join(', ')}` };
}

// ---------------------------------------------------------------------------
// One measurement
// ---------------------------------------------------------------------------

export interface DriftMeasurement {
  distance: number;
  /** The vector space the distance was measured in. */
  provider: string;
  /** True when the primary provider failed and the fallback measured this one. */
  fellBack: boolean;
  /**
   * The intent's embedding, when it had to be computed (none stored, or stored by another
   * provider) by the configured provider itself: store it in the session meta.
   */
  intentEmbedding?: StoredEmbedding;
}

async function embedWith(provider: EmbeddingProvider, texts: string[]): Promise<DetailedEmbedding> {
  if (isDetailedProvider(provider)) return provider.embedDetailed(texts);
  return { provider: provider.name, vectors: await provider.embed(texts), fellBack: false };
}

function checkVectors(result: DetailedEmbedding, count: number): void {
  if (result.vectors.length !== count || result.vectors.some((v) => !(v instanceof Float32Array))) {
    throw new EmbeddingError('malformed', 'the provider returned the wrong number of vectors');
  }
}

/** The stored intent as a vector, always through quantisation, so every action of a session is measured the same way. */
function intentVector(stored: StoredEmbedding): Float32Array {
  return dequantise(stored);
}

/** A stored intent of `provider`'s space that can be read; anything else is embedded again. */
function usable(
  stored: StoredEmbedding | undefined,
  provider: string,
): { embedding: StoredEmbedding; vector: Float32Array } | undefined {
  if (!stored || stored.provider !== provider || !StoredEmbeddingSchema.safeParse(stored).success) return undefined;
  try {
    return { embedding: stored, vector: dequantise(stored) };
  } catch {
    return undefined;
  }
}

/**
 * The distance of one action from the session's intent. Uses the stored intent embedding
 * when it is of the space that answered; otherwise embeds intent and action in one call
 * (so both vectors are of one space, also when a fallback answered). Throws what the
 * provider throws (EmbeddingUnavailableError in 'defer' mode): the caller must not treat
 * that as "no drift".
 */
export async function measureDrift(
  provider: EmbeddingProvider,
  intent: { text: string; stored?: StoredEmbedding | undefined },
  action: string,
): Promise<DriftMeasurement> {
  const stored = usable(intent.stored, provider.name);
  if (stored) {
    const answer = await embedWith(provider, [action]);
    checkVectors(answer, 1);
    if (answer.provider === stored.embedding.provider && answer.vectors[0]!.length === stored.vector.length) {
      return {
        distance: distance(stored.vector, answer.vectors[0]!),
        provider: answer.provider,
        fellBack: answer.fellBack,
      };
    }
    // The fallback answered: the stored vector is of another space. Embed the intent
    // there too (straight with the fallback: the primary just failed).
    const fallback = isDetailedProvider(provider) ? provider.fallback : undefined;
    if (fallback && fallback.name === answer.provider) {
      const [iv] = await fallback.embed([intent.text]);
      if (!(iv instanceof Float32Array))
        throw new EmbeddingError('malformed', 'the provider returned the wrong number of vectors');
      const q = quantise(answer.provider, iv);
      return { distance: distance(intentVector(q), answer.vectors[0]!), provider: answer.provider, fellBack: true };
    }
  }
  const answer = await embedWith(provider, [intent.text, action]);
  checkVectors(answer, 2);
  const q = quantise(answer.provider, answer.vectors[0]!);
  return {
    distance: distance(intentVector(q), answer.vectors[1]!),
    provider: answer.provider,
    fellBack: answer.fellBack,
    ...(!answer.fellBack && { intentEmbedding: q }),
  };
}

/**
 * Embeds an intent for the session meta (at session open). Undefined when the fallback
 * answered (its vector must not be stored as the primary's: the first action measures
 * both instead). Throws what the provider throws; a session may open without it.
 */
export async function embedIntent(provider: EmbeddingProvider, intent: string): Promise<StoredEmbedding | undefined> {
  const answer = await embedWith(provider, [intent]);
  checkVectors(answer, 1);
  if (answer.fellBack) return undefined;
  return quantise(answer.provider, answer.vectors[0]!);
}
