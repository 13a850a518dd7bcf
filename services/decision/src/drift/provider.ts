/**
 * Embedding providers for intent-drift measurement (AARM R7). The drift of an action is
 * d = 1 − cosine(embed(intent), embed(action)) (drift.ts); a provider turns texts into
 * vectors. Two are built in:
 *
 *   createHashedNgramProvider   deterministic feature hashing, no model, no network: the
 *                               default, and the fallback when a remote provider fails
 *   createRemoteProvider        an OpenAI-compatible /v1/embeddings endpoint, with bounded
 *                               retries, a per-attempt timeout and an LRU cache
 *
 * and withFallback() decides what a failure of the remote one means: answer with the
 * built-in provider ('fallback') or raise EmbeddingUnavailableError so the caller can
 * DEFER ('defer'). Never fail open: a failure is never "no drift". docs/drift.md.
 *
 * Nothing here logs. Errors carry status codes and error codes only, never the texts,
 * the response body or the API key.
 */
import { createHash } from 'node:crypto';

export interface EmbeddingProvider {
  /** Identifies the vector space: vectors of providers with different names are not comparable. */
  readonly name: string;
  /** Vector length (0 for a remote provider that has not answered yet and was given none). */
  readonly dimensions: number;
  /** One L2-normalised vector per text, in order. Rejects with EmbeddingError. */
  embed(texts: string[]): Promise<Float32Array[]>;
}

/** What answered a call: the vectors of one call always come from one provider. */
export interface DetailedEmbedding {
  provider: string;
  vectors: Float32Array[];
  /** True when the primary failed and the fallback answered. */
  fellBack: boolean;
}

/** A provider that can say which vector space answered (withFallback's result). */
export interface DetailedEmbeddingProvider extends EmbeddingProvider {
  embedDetailed(texts: string[]): Promise<DetailedEmbedding>;
  /** The provider that answers when the primary fails ('fallback' mode). */
  readonly fallback?: EmbeddingProvider;
}

export function isDetailedProvider(p: EmbeddingProvider): p is DetailedEmbeddingProvider {
  return typeof (p as Partial<DetailedEmbeddingProvider>).embedDetailed === 'function';
}

export type EmbeddingErrorKind = 'timeout' | 'http' | 'network' | 'malformed' | 'invalid_input';

/** A provider could not embed. The message never holds texts, the key or a response body. */
export class EmbeddingError extends Error {
  readonly kind: EmbeddingErrorKind;
  /** HTTP status of the last attempt, when there was one. */
  readonly status: number | undefined;
  readonly attempts: number;

  constructor(kind: EmbeddingErrorKind, message: string, details: { status?: number; attempts?: number } = {}) {
    super(message);
    this.name = 'EmbeddingError';
    this.kind = kind;
    this.status = details.status;
    this.attempts = details.attempts ?? 1;
  }
}

/** withFallback in 'defer' mode: no trustworthy distance can be computed; the caller should DEFER. */
export class EmbeddingUnavailableError extends Error {
  readonly provider: string;
  readonly reason: EmbeddingError;

  constructor(provider: string, reason: EmbeddingError) {
    super(
      `embedding provider ${provider} is unavailable (${reason.kind}${reason.status !== undefined ? ` ${reason.status}` : ''})`,
    );
    this.name = 'EmbeddingUnavailableError';
    this.provider = provider;
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------
// The built-in provider: hashed n-grams
// ---------------------------------------------------------------------------

/**
 * FNV-1a, 32 bits, over the UTF-8 bytes of `s` (offset basis 0x811c9dc5, prime 0x01000193).
 * Integer arithmetic only (Math.imul), so the same on every platform.
 */
export function fnv1a32(s: string): number {
  const bytes = Buffer.from(s, 'utf8');
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** English function words, and nothing domain-specific: dropped before any feature is made. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but nor so yet if then than that this these those there here of in on at by for from to into onto ' +
    'with without within about above below over under as is are was were be been being am do does did doing done have ' +
    "has had having it its it's itself i me my mine we us our ours you your yours he him his she her hers they them " +
    'their theirs what which who whom whose when where why how all any both each few more most other some such no not ' +
    'only own same too very can could will would shall should may might must just also please via per up out off again ' +
    'further once s t'
  ).split(' '),
);

/**
 * Light English stemming: a few inflectional suffixes, never below a 3-letter stem.
 * "refunds" → "refund", "queries" → "query", "running" → "runn", "charged" → "charg",
 * "charges" → "charg" (plural -es after s/x/z/ch/sh, and a silent-e verb's -e, both to
 * the same stem). Digits-only tokens are left alone.
 */
export function stem(word: string): string {
  if (word.length <= 3 || /^[0-9]+$/.test(word)) return word;
  const rules: [RegExp, string][] = [
    [/ies$/, 'y'],
    [/(ss|x|z|ch|sh)es$/, '$1'],
    [/sses$/, 'ss'],
    [/([^s])s$/, '$1'],
    [/ied$/, 'y'],
    [/eed$/, 'ee'],
    [/([^e])ed$/, '$1'],
    [/ing$/, ''],
    [/ly$/, ''],
  ];
  for (const [pattern, replacement] of rules) {
    if (pattern.test(word)) {
      const stemmed = word.replace(pattern, replacement);
      if (stemmed.length >= 3) {
        // A silent final e goes too, so "charge", "charges" and "charged" meet at "charg".
        return stemmed.length > 3 && stemmed.endsWith('e') ? stemmed.slice(0, -1) : stemmed;
      }
      return word;
    }
  }
  return word.length > 4 && word.endsWith('e') ? word.slice(0, -1) : word;
}

/** Lower-case words: NFKC, locale-independent lower-casing, split on anything but letters and digits, stop words dropped. */
export function tokenise(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0 && !STOP_WORDS.has(t));
}

export interface HashedNgramOptions {
  /** Number of buckets (vector length); default 1024. */
  dimensions?: number;
  /** Feature weights before tf scaling; the defaults are what calibrated best (docs/drift.md). */
  weights?: { unigram?: number; bigram?: number; char?: number };
  /** Light suffix stripping (stem()) of words for unigrams and bigrams; default true. */
  stemming?: boolean;
}

export const HASHED_NGRAM_DEFAULTS = {
  dimensions: 1024,
  weights: { unigram: 1, bigram: 0.5, char: 0.1 },
  stemming: true,
  /** Character n-gram lengths, over the word with boundary marks: "<refund>". */
  charMin: 3,
  charMax: 5,
  /** Only the first MAX_TOKENS words of a text make features (texts are bounded anyway). */
  maxTokens: 512,
} as const;

/**
 * 1 + ln(tf) for tf = 1..64, as literals: Math.log is implementation-approximated in
 * ECMAScript, and the vectors must be bit-identical everywhere. tf is capped at 64.
 */
const SUBLINEAR_TF = [
  1, 1.6931471805599454, 2.0986122886681096, 2.386294361119891, 2.6094379124341005, 2.791759469228055,
  2.9459101490553135, 3.0794415416798357, 3.1972245773362196, 3.302585092994046, 3.3978952727983707, 3.4849066497880004,
  3.5649493574615367, 3.6390573296152584, 3.70805020110221, 3.772588722239781, 3.833213344056216, 3.8903717578961645,
  3.9444389791664403, 3.995732273553991, 4.044522437723423, 4.091042453358316, 4.13549421592915, 4.178053830347945,
  4.218875824868201, 4.258096538021482, 4.295836866004329, 4.332204510175204, 4.367295829986475, 4.401197381662156,
  4.433987204485146, 4.465735902799727, 4.49650756146648, 4.526360524616162, 4.555348061489413, 4.58351893845611,
  4.610917912644224, 4.637586159726386, 4.663561646129646, 4.688879454113936, 4.713572066704308, 4.737669618283368,
  4.761200115693562, 4.7841896339182615, 4.80666248977032, 4.828641396489095, 4.850147601710058, 4.871201010907891,
  4.891820298110627, 4.912023005428146, 4.931825632724326, 4.951243718581427, 4.970291913552122, 4.9889840465642745,
  5.007333185232471, 5.02535169073515, 5.04305126783455, 5.060443010546419, 5.07753744390572, 5.0943445622221,
  5.110873864173311, 5.127134385045092, 5.143134726391533, 5.1588830833596715,
] as const;

function sublinear(tf: number): number {
  return SUBLINEAR_TF[Math.min(tf, SUBLINEAR_TF.length) - 1]!;
}

/**
 * The weighted features of a text, in first-seen order: "w|stem" (word unigrams), "b|stem stem"
 * (adjacent word pairs after stop-word removal), "c|gram" (character 3–5-grams of each
 * word that is not all digits, over "<word>", as code points).
 */
export function hashedFeatures(
  text: string,
  options: { weights: { unigram: number; bigram: number; char: number }; stemming: boolean },
): Map<string, { weight: number; tf: number }> {
  const words = tokenise(text).slice(0, HASHED_NGRAM_DEFAULTS.maxTokens);
  const features = new Map<string, { weight: number; tf: number }>();
  const add = (key: string, weight: number) => {
    if (weight === 0) return;
    const f = features.get(key);
    if (f) f.tf++;
    else features.set(key, { weight, tf: 1 });
  };
  const stems = words.map((w) => (options.stemming ? stem(w) : w));
  for (let i = 0; i < words.length; i++) {
    add(`w|${stems[i]}`, options.weights.unigram);
    if (i > 0) add(`b|${stems[i - 1]} ${stems[i]}`, options.weights.bigram);
    const word = words[i]!;
    if (/^[0-9]+$/.test(word)) continue;
    const chars = Array.from(`<${word}>`);
    for (let n = HASHED_NGRAM_DEFAULTS.charMin; n <= HASHED_NGRAM_DEFAULTS.charMax; n++) {
      for (let s = 0; s + n <= chars.length; s++) add(`c|${chars.slice(s, s + n).join('')}`, options.weights.char);
    }
  }
  return features;
}

/** Feature hashing: bucket = FNV-1a(feature) mod D, sign = bit 31 of the hash; then L2-normalised. */
export function hashedVector(
  text: string,
  dimensions: number,
  options: { weights: { unigram: number; bigram: number; char: number }; stemming: boolean },
): Float32Array {
  const acc = new Float64Array(dimensions);
  for (const [key, { weight, tf }] of hashedFeatures(text, options)) {
    const h = fnv1a32(key);
    acc[h % dimensions]! += (h >>> 31 === 1 ? -1 : 1) * weight * sublinear(tf);
  }
  let sum = 0;
  for (let i = 0; i < dimensions; i++) sum += acc[i]! * acc[i]!;
  const out = new Float32Array(dimensions);
  // A text with no features (empty, only stop words) is the zero vector: distance 1 to anything.
  if (sum === 0) return out;
  const norm = Math.sqrt(sum);
  for (let i = 0; i < dimensions; i++) out[i] = acc[i]! / norm;
  return out;
}

export function createHashedNgramProvider(options: HashedNgramOptions = {}): EmbeddingProvider {
  const dimensions = options.dimensions ?? HASHED_NGRAM_DEFAULTS.dimensions;
  if (!Number.isInteger(dimensions) || dimensions < 16 || dimensions > 65536) {
    throw new RangeError('dimensions must be an integer in [16, 65536]');
  }
  const weights = { ...HASHED_NGRAM_DEFAULTS.weights, ...options.weights };
  const stemming = options.stemming ?? HASHED_NGRAM_DEFAULTS.stemming;
  const isDefault =
    weights.unigram === HASHED_NGRAM_DEFAULTS.weights.unigram &&
    weights.bigram === HASHED_NGRAM_DEFAULTS.weights.bigram &&
    weights.char === HASHED_NGRAM_DEFAULTS.weights.char &&
    stemming === HASHED_NGRAM_DEFAULTS.stemming;
  // The name pins the vector space: another configuration is another space.
  const name = `hashed-ngram-v1-${dimensions}${isDefault ? '' : `-u${weights.unigram}b${weights.bigram}c${weights.char}${stemming ? 's' : ''}`}`;
  const config = { weights, stemming };
  return {
    name,
    dimensions,
    embed: async (texts) => texts.map((t) => hashedVector(t, dimensions, config)),
  };
}

// ---------------------------------------------------------------------------
// The remote provider: an OpenAI-compatible embeddings endpoint
// ---------------------------------------------------------------------------

export interface RemoteProviderOptions {
  /**
   * The endpoint. A URL ending in "/embeddings" is used as is; one ending in "/v1" gets
   * "/embeddings" appended; any other is a base URL and gets "/v1/embeddings".
   */
  url: string;
  model: string;
  /** Sent as "Authorization: Bearer <apiKey>"; never appears in errors. */
  apiKey?: string;
  /** Per attempt. Worst case for one call: (maxRetries + 1) × timeoutMs plus back-offs. */
  timeoutMs: number;
  /** Extra attempts after a 429, a 5xx, a timeout or a network error (0 = one attempt). */
  maxRetries: number;
  /** Texts whose vectors are kept (LRU, keyed by sha256 of model and text); 0 disables. */
  cacheSize: number;
  /** Expected dimension: answers of another length are malformed. Learned from the first answer if absent. */
  dimensions?: number;
  /** First back-off; doubles per retry, capped at maxBackoffMs; a Retry-After (seconds) within the cap wins. Default 100. */
  retryBaseMs?: number;
  /** Default 2000. */
  maxBackoffMs?: number;
  /** Texts per request (larger calls are split); default 64. */
  maxBatch?: number;
  fetchImpl?: typeof fetch;
}

/** The URL rule of RemoteProviderOptions.url. */
export function embeddingsUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  if (/\/embeddings$/.test(trimmed)) return trimmed;
  if (/\/v1$/.test(trimmed)) return `${trimmed}/embeddings`;
  return `${trimmed}/v1/embeddings`;
}

/** Bounded LRU over a Map (insertion order = recency). */
class LruCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, value: V): void {
    if (this.capacity <= 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
  }
  get size(): number {
    return this.map.size;
  }
}

const MAX_REMOTE_DIMENSIONS = 16384;

export interface RemoteEmbeddingProvider extends EmbeddingProvider {
  /** HTTP requests sent so far (attempts included); for tests and metrics. */
  readonly requests: number;
  readonly cacheEntries: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function normalised(values: unknown, expected: number | undefined): Float32Array {
  if (!Array.isArray(values) || values.length === 0 || values.length > MAX_REMOTE_DIMENSIONS) {
    throw new EmbeddingError('malformed', 'embedding response: an embedding is not a non-empty array of numbers');
  }
  if (expected !== undefined && values.length !== expected) {
    throw new EmbeddingError('malformed', `embedding response: dimension ${values.length}, expected ${expected}`);
  }
  let sum = 0;
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new EmbeddingError(
        'malformed',
        'embedding response: an embedding holds a value that is not a finite number',
      );
    }
    sum += v * v;
  }
  if (!(sum > 0) || !Number.isFinite(sum))
    throw new EmbeddingError('malformed', 'embedding response: a zero or overflowing vector');
  const norm = Math.sqrt(sum);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] as number) / norm;
  return out;
}

/** Reads `data[i].embedding` (ordered by `data[i].index` when every item has one). */
function parseEmbeddings(body: unknown, count: number, expected: number | undefined): Float32Array[] {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length !== count) {
    throw new EmbeddingError('malformed', `embedding response: expected data with ${count} items`);
  }
  const items = data as { embedding?: unknown; index?: unknown }[];
  const indexed = items.every((d) => d !== null && typeof d === 'object' && Number.isInteger(d.index));
  const ordered: ({ embedding?: unknown } | undefined)[] = indexed ? new Array(count) : items;
  if (indexed) {
    for (const d of items) {
      const i = d.index as number;
      if (i < 0 || i >= count || ordered[i] !== undefined)
        throw new EmbeddingError('malformed', 'embedding response: bad or repeated index');
      ordered[i] = d;
    }
  }
  let dims = expected;
  return ordered.map((d) => {
    if (d === null || typeof d !== 'object')
      throw new EmbeddingError('malformed', 'embedding response: an item is not an object');
    const v = normalised(d.embedding, dims);
    dims = v.length;
    return v;
  });
}

export function createRemoteProvider(options: RemoteProviderOptions): RemoteEmbeddingProvider {
  if (!options.model) throw new RangeError('model is required');
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0)
    throw new RangeError('timeoutMs must be a positive integer');
  if (!Number.isInteger(options.maxRetries) || options.maxRetries < 0 || options.maxRetries > 10) {
    throw new RangeError('maxRetries must be an integer in [0, 10]');
  }
  if (!Number.isInteger(options.cacheSize) || options.cacheSize < 0)
    throw new RangeError('cacheSize must be a non-negative integer');
  const endpoint = embeddingsUrl(options.url);
  // Validate the URL now, so a bad one is a startup error, not a decision-time one.
  const parsed = new URL(endpoint);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RangeError('url must be http(s)');
  const doFetch = options.fetchImpl ?? fetch;
  const cache = new LruCache<Float32Array>(options.cacheSize);
  const retryBaseMs = options.retryBaseMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 2000;
  const maxBatch = Math.max(1, options.maxBatch ?? 64);
  let dimensions = options.dimensions;
  let requests = 0;

  const keyOf = (text: string) => createHash('sha256').update(options.model).update('\0').update(text).digest('hex');

  async function attempt(
    texts: string[],
  ): Promise<
    { ok: true; vectors: Float32Array[] } | { ok: false; retry: boolean; error: EmbeddingError; retryAfterMs?: number }
  > {
    requests++;
    let res: Response;
    try {
      res = await doFetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(options.apiKey !== undefined && { authorization: `Bearer ${options.apiKey}` }),
        },
        body: JSON.stringify({ input: texts, model: options.model }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      if (isTimeout(err)) return timedOut(options.timeoutMs);
      // Only a system error code (ECONNREFUSED, ...): nothing else of the cause is repeated.
      const cause = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
      const code = typeof cause === 'string' && /^[A-Z0-9_]{1,40}$/.test(cause) ? cause : 'unknown';
      return { ok: false, retry: true, error: new EmbeddingError('network', `embedding request failed (${code})`) };
    }
    if (!res.ok) {
      // The body is drained but never read into an error: it may echo the input.
      await res.body?.cancel().catch(() => {});
      const retry = res.status === 429 || res.status >= 500;
      const header = res.headers.get('retry-after');
      const after = header !== null && /^\s*\d+(\.\d+)?\s*$/.test(header) ? Number(header) * 1000 : undefined;
      return {
        ok: false,
        retry,
        error: new EmbeddingError('http', `embedding request answered HTTP ${res.status}`, { status: res.status }),
        ...(after !== undefined && { retryAfterMs: after }),
      };
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      if (isTimeout(err)) return timedOut(options.timeoutMs);
      return {
        ok: false,
        retry: false,
        error: new EmbeddingError('malformed', 'embedding response is not JSON', { status: res.status }),
      };
    }
    try {
      const vectors = parseEmbeddings(body, texts.length, dimensions);
      return { ok: true, vectors };
    } catch (err) {
      return { ok: false, retry: false, error: err as EmbeddingError };
    }
  }

  async function request(texts: string[]): Promise<Float32Array[]> {
    let last: EmbeddingError | undefined;
    let attempts = 0;
    for (let i = 0; i <= options.maxRetries; i++) {
      attempts++;
      const result = await attempt(texts);
      if (result.ok) {
        dimensions ??= result.vectors[0]?.length;
        return result.vectors;
      }
      last = result.error;
      if (!result.retry || i === options.maxRetries) break;
      const backoff = Math.min(maxBackoffMs, retryBaseMs * 2 ** i);
      const after = result.retryAfterMs;
      await sleep(after !== undefined && after <= maxBackoffMs ? Math.max(backoff, after) : backoff);
    }
    const error = last!;
    throw new EmbeddingError(error.kind, `${error.message} (${attempts} attempt${attempts === 1 ? '' : 's'})`, {
      ...(error.status !== undefined && { status: error.status }),
      attempts,
    });
  }

  async function embed(texts: string[]): Promise<Float32Array[]> {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
      throw new EmbeddingError('invalid_input', 'texts must be an array of strings');
    }
    const keys = texts.map(keyOf);
    const found = new Map<string, Float32Array>();
    // The distinct texts not cached, in first-seen order.
    const missing = new Map<string, string>();
    keys.forEach((k, i) => {
      if (found.has(k) || missing.has(k)) return;
      const hit = cache.get(k);
      if (hit) found.set(k, hit);
      else missing.set(k, texts[i]!);
    });
    const missingKeys = [...missing.keys()];
    for (let start = 0; start < missingKeys.length; start += maxBatch) {
      const batchKeys = missingKeys.slice(start, start + maxBatch);
      const vectors = await request(batchKeys.map((k) => missing.get(k)!));
      batchKeys.forEach((k, i) => {
        found.set(k, vectors[i]!);
        cache.set(k, vectors[i]!);
      });
    }
    // Callers get their own copies: a cached vector must not be changed through them.
    return keys.map((k) => Float32Array.from(found.get(k)!));
  }

  return {
    name: `remote:${options.model}`,
    get dimensions() {
      return dimensions ?? 0;
    },
    get requests() {
      return requests;
    },
    get cacheEntries() {
      return cache.size;
    },
    embed,
  };
}

// ---------------------------------------------------------------------------
// Failure policy
// ---------------------------------------------------------------------------

export interface FallbackOptions {
  /**
   * 'fallback': when the primary fails, the whole call is answered by `fallback` (so the
   * vectors of one call are always of one space), and onFallback is told.
   * 'defer': the failure is raised as EmbeddingUnavailableError; the caller should DEFER.
   */
  mode: 'fallback' | 'defer';
  /** 'fallback' mode: called with the primary's error (never the texts) each time the fallback answered. */
  onFallback?: (error: EmbeddingError) => void;
  /** Either mode: called with the primary's error each time it failed (for logs and metrics). */
  onFailure?: (error: EmbeddingError) => void;
  /**
   * After a failure, skip the primary for this long (the remote is not asked again until
   * then: no decision waits out its timeouts meanwhile). Default 0 (always try it).
   */
  cooldownMs?: number;
  now?: () => number;
}

function asEmbeddingError(err: unknown): EmbeddingError {
  if (err instanceof EmbeddingError) return err;
  // Anything else thrown by a provider counts as a failure too, without its message.
  return new EmbeddingError('network', 'embedding provider failed');
}

/**
 * The primary's name is the provider's name (stored intent vectors are of that space);
 * embedDetailed() says which one answered a call, so the caller never compares vectors
 * of two spaces (drift.ts measureDrift does this).
 */
export function withFallback(
  primary: EmbeddingProvider,
  fallback: EmbeddingProvider,
  options: FallbackOptions,
): DetailedEmbeddingProvider {
  const now = options.now ?? Date.now;
  const cooldownMs = options.cooldownMs ?? 0;
  let skipUntil = -Infinity;

  async function embedDetailed(texts: string[]): Promise<DetailedEmbedding> {
    let failure: EmbeddingError;
    if (now() >= skipUntil) {
      try {
        return { provider: primary.name, vectors: await primary.embed(texts), fellBack: false };
      } catch (err) {
        failure = asEmbeddingError(err);
        if (failure.kind === 'invalid_input') throw failure;
        skipUntil = now() + cooldownMs;
        options.onFailure?.(failure);
      }
    } else {
      failure = new EmbeddingError('network', 'embedding provider is cooling down after a failure', { attempts: 0 });
    }
    if (options.mode === 'defer') throw new EmbeddingUnavailableError(primary.name, failure);
    options.onFallback?.(failure);
    return { provider: fallback.name, vectors: await fallback.embed(texts), fellBack: true };
  }

  return {
    name: primary.name,
    get dimensions() {
      return primary.dimensions;
    },
    embed: async (texts) => (await embedDetailed(texts)).vectors,
    embedDetailed,
    ...(options.mode === 'fallback' && { fallback }),
  };
}

function isTimeout(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function timedOut(timeoutMs: number) {
  return {
    ok: false as const,
    retry: true,
    error: new EmbeddingError('timeout', `embedding request timed out after ${timeoutMs} ms`),
  };
}
