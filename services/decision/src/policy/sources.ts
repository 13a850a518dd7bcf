/**
 * Reads the policy sources into memory: the core library, then every ARBITER_POLICY_DIR
 * folder. The snapshot is what gets compiled and what the policy hash covers, so a file
 * that changes while `opa build` runs cannot make the hash lie.
 *
 * The data files are not left to `opa build`, which refuses a key set twice even to the
 * same value and so cannot layer a customer's catalog over the shipped defaults:
 * `layerData` merges them here, in a documented order (docs/policy-authoring.md,
 * "Layering"), and the build gets the result as one document.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';

/** Bounds what one reload may read: a policy tree larger than this is refused. */
export const MAX_POLICY_BYTES = 64 * 1024 * 1024;
const MAX_POLICY_FILES = 10_000;

/** The package of the core library; a policy folder's copy of it is left out. */
const CORE_PACKAGE = 'aarm';

export type SourceKind = 'module' | 'data' | 'core-copy';

export interface SourceFile {
  /** Path inside its root, with '/' separators. */
  path: string;
  /** A Rego module, a data file, or a module of a copy of the core library (hashed, not built). */
  kind: SourceKind;
  content: Buffer;
}

export interface SourceRoot {
  /** The folder as configured, for messages: a file is `${origin}/${path}`. */
  origin: string;
  /** Where the root is staged for opa ('' or 'aarm/'): its data paths start there. */
  mount: string;
  /** In walk order (names sorted in each folder). */
  files: SourceFile[];
}

export interface SourceSnapshot {
  /** The core library first, then each policy folder in the configured order. */
  roots: SourceRoot[];
  /** "sha256:<hex>" over every root's file names and contents. */
  hash: string;
  /** Worth an operator's attention, not a reason to refuse the policy. */
  warnings: string[];
}

const DATA_FILES = new Set(['data.json', 'data.yaml', 'data.yml']);

function kindOf(name: string): 'module' | 'data' | undefined {
  if (name.endsWith('_test.rego')) return undefined;
  if (name.endsWith('.rego')) return 'module';
  return DATA_FILES.has(name) ? 'data' : undefined;
}

/** The package a module declares: the first line that starts with `package` (only comments come before it). */
function packageOf(content: Buffer): string | undefined {
  return /^[ \t]*package[ \t]+([^\s#]+)/m.exec(content.toString('utf8'))?.[1];
}

/** The real path of a configured folder, or an error that names it as configured. */
function openFolder(dir: string, what: string): string {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${what} ${dir} does not exist`);
    throw new Error(`${what} ${dir} cannot be read: ${(err as Error).message}`);
  }
  if (!isDirectory) throw new Error(`${what} ${dir} is not a folder`);
  return realpathSync(dir);
}

/**
 * Walks one root. Names starting with '.' are skipped: that also skips the `..data`
 * folders of a Kubernetes ConfigMap mount, whose files are reached through the links
 * beside them, so each file is read once. `skip` holds real paths left to another root.
 */
function readRoot(
  origin: string,
  dir: string,
  mount: string,
  skip: Set<string>,
  budget: { bytes: number; files: number },
): SourceRoot {
  const files: SourceFile[] = [];
  const walk = (current: string) => {
    const real = realpathSync(current);
    if (skip.has(real)) return;
    for (const name of readdirSync(current).sort()) {
      if (name.startsWith('.')) continue;
      const full = join(current, name);
      const stat = statSync(full);
      const kind = stat.isFile() ? kindOf(name) : undefined;
      if (stat.isDirectory()) {
        walk(full);
      } else if (kind) {
        budget.bytes += stat.size;
        budget.files += 1;
        if (budget.bytes > MAX_POLICY_BYTES || budget.files > MAX_POLICY_FILES) {
          throw new Error(`policy sources exceed ${MAX_POLICY_BYTES} bytes or ${MAX_POLICY_FILES} files`);
        }
        files.push({ path: relative(dir, full).split(sep).join('/'), kind, content: readFileSync(full) });
      }
    }
  };
  walk(dir);
  return { origin, mount, files };
}

/**
 * A copy of the core library inside a policy folder (a copy of the project's `rego/`):
 * its `package aarm` modules under `aarm/` would clash with the core the service always
 * loads, so they are marked left out. Returns how many.
 */
function markCoreCopy(root: SourceRoot): number {
  let copied = 0;
  for (const f of root.files) {
    if (f.kind === 'module' && f.path.startsWith(`${CORE_PACKAGE}/`) && packageOf(f.content) === CORE_PACKAGE) {
      f.kind = 'core-copy';
      copied += 1;
    }
  }
  return copied;
}

export function snapshotSources(coreDir: string, policyDirs: string[]): SourceSnapshot {
  const budget = { bytes: 0, files: 0 };
  const core = openFolder(coreDir, 'core library folder');
  // The core library is its own root: staged as `aarm/…` so that its packages and any
  // data beside them land where `package aarm` says, whatever folder holds it. A policy
  // folder that contains it (the default, the project's rego/) must not load it twice.
  const roots: SourceRoot[] = [readRoot(coreDir, core, `${CORE_PACKAGE}/`, new Set(), budget)];
  const warnings: string[] = [];
  for (const dir of policyDirs) {
    const root = readRoot(dir, openFolder(dir, 'policy folder (ARBITER_POLICY_DIR)'), '', new Set([core]), budget);
    const copied = markCoreCopy(root);
    if (copied > 0) {
      warnings.push(
        `policy folder ${dir} contains a copy of the core library (${copied} package ${CORE_PACKAGE} file(s) under ` +
          `${CORE_PACKAGE}/): left out, the service always loads its own core library from ${coreDir}`,
      );
    }
    roots.push(root);
  }
  const hash = createHash('sha256');
  roots.forEach((root, i) => {
    for (const f of root.files) {
      hash.update(`${i}\0${root.mount}${f.path}\0${f.content.length}\0`);
      hash.update(f.content);
    }
  });
  return { roots, hash: `sha256:${hash.digest('hex')}`, warnings };
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type DataDocument = { [key: string]: Json };

function isObject(value: unknown): value is DataDocument {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets a key as an own property, so that a key named `__proto__` stays a key. */
function put(target: DataDocument, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * One layer over another: objects merge key by key, recursively; anything else (an array,
 * a scalar) in the layer replaces what was there; a `null` in the layer removes the key.
 * (The rule of JSON Merge Patch, RFC 7396.) Neither argument is changed.
 */
export function mergeData(base: Json | undefined, layer: Json): Json {
  if (!isObject(layer)) return layer;
  const out: DataDocument = {};
  if (isObject(base)) for (const [key, value] of Object.entries(base)) put(out, key, value);
  for (const [key, value] of Object.entries(layer)) {
    if (value === null) {
      delete out[key];
    } else {
      put(out, key, mergeData(Object.hasOwn(out, key) ? out[key] : undefined, value));
    }
  }
  return out;
}

/** 1-based line and column of an offset. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Where strict JSON first goes wrong in a text that JSON.parse refused: V8 names the
 * position for some mistakes only (not for a trailing comma), and an author needs it.
 */
function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw new RangeError(String(i));
  };
  const space = () => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  };
  const literal = (word: string) => {
    if (!text.startsWith(word, i)) fail();
    i += word.length;
  };
  const string = () => {
    literal('"');
    for (;;) {
      const c = text[i];
      if (c === undefined || c < ' ') fail();
      if (c === '"') break;
      if (c === '\\') {
        i++;
        if (text[i] === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) i += 4;
        else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    i++;
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          space();
          string();
          space();
          literal(':');
        }
        value();
        space();
        if (text[i] !== ',') break;
        i++;
      }
      literal(close);
    } else if (c === '"') {
      string();
    } else if (c === 't' || c === 'f' || c === 'n') {
      literal(c === 't' ? 'true' : c === 'f' ? 'false' : 'null');
    } else {
      JSON_NUMBER.lastIndex = i;
      if (!JSON_NUMBER.test(text)) fail();
      i = JSON_NUMBER.lastIndex;
    }
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return undefined;
  } catch (err) {
    // A nesting deeper than the stack gives no position, only the parser's message.
    return err instanceof RangeError && /^\d+$/.test(err.message) ? Number(err.message) : undefined;
  }
}

/** Refuses what JSON cannot hold (YAML's `.inf`, `!!binary`, …): the policy sees JSON. */
function checkJson(value: unknown, name: string, at: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${name}: ${at || 'the document'} is not a finite number`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkJson(v, name, `${at}[${i}]`));
    return;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    throw new Error(`${name}: ${at || 'the document'} is not a JSON value`);
  }
  for (const [key, v] of Object.entries(value as object)) checkJson(v, name, at ? `${at}.${key}` : key);
}

/** Parses one data file; `name` is its path as the author wrote it, for messages. */
function parseDataFile(name: string, file: SourceFile): DataDocument {
  const text = file.content.toString('utf8');
  let value: unknown;
  if (file.path.endsWith('.json')) {
    try {
      value = JSON.parse(text);
    } catch (err) {
      const offset = jsonErrorOffset(text);
      // V8's message, without its own position and its quote of the text around it.
      const reason = (err as Error).message
        .replace(/\s*(?:in JSON )?at position \d+.*$/s, '')
        .replace(/,\s*".*" is not valid JSON$/s, '');
      throw new Error(
        `${name}${offset === undefined ? '' : `:${lineAndColumn(text, offset)}`}: not valid JSON: ${reason}`,
      );
    }
  } else {
    const lines = new LineCounter();
    const doc = parseDocument(text, { prettyErrors: false, lineCounter: lines });
    const error = doc.errors[0];
    if (error) {
      const { line, col } = lines.linePos(error.pos[0]);
      throw new Error(`${name}:${line}:${col}: not valid YAML: ${error.message}`);
    }
    // The alias bound keeps a small file from expanding into a huge document.
    value = doc.toJS({ maxAliasCount: 100 });
    checkJson(value, name, '');
  }
  if (!isObject(value)) {
    const what = value === null ? 'empty (null)' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new Error(`${name}: the top level must be an object, not ${what}`);
  }
  return value;
}

/**
 * The policy data: every data file of every root, layered in order (the core library,
 * then each policy folder in the configured order, within a folder by path). A file at
 * `x/y/data.json` sits at data path x.y, as with opa. Bounded like the sources.
 */
export function layerData(snapshot: SourceSnapshot): DataDocument {
  let merged: Json = {};
  for (const root of snapshot.roots) {
    const files = root.files.filter((f) => f.kind === 'data').sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const f of files) {
      const document = parseDataFile(`${root.origin}/${f.path}`, f);
      const at = `${root.mount}${f.path}`.split('/').slice(0, -1);
      const placed = at.reduceRight<DataDocument>((inner, key) => {
        const outer: DataDocument = {};
        put(outer, key, inner);
        return outer;
      }, document);
      merged = mergeData(merged, placed);
    }
  }
  const size = Buffer.byteLength(JSON.stringify(merged));
  if (size > MAX_POLICY_BYTES) throw new Error(`the merged policy data exceeds ${MAX_POLICY_BYTES} bytes`);
  return merged as DataDocument;
}
