/**
 * Reads the policy sources into memory: the core library, then every ARBITER_POLICY_DIR
 * folder. The snapshot is what gets compiled and what the policy hash covers, so a file
 * that changes while `opa build` runs cannot make the hash lie.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Bounds what one reload may read: a policy tree larger than this is refused. */
export const MAX_POLICY_BYTES = 64 * 1024 * 1024;
const MAX_POLICY_FILES = 10_000;

export interface SourceFile {
  /** Path inside its root, with '/' separators; OPA derives data paths from it. */
  path: string;
  content: Buffer;
}

export interface SourceRoot {
  /** Where it came from, for messages. */
  origin: string;
  files: SourceFile[];
}

export interface SourceSnapshot {
  /** The core library first, then each policy folder in the configured order. */
  roots: SourceRoot[];
  /** "sha256:<hex>" over every root's file names and contents. */
  hash: string;
}

function isPolicyFile(name: string): boolean {
  if (name.endsWith('_test.rego')) return false;
  return name.endsWith('.rego') || name === 'data.json' || name === 'data.yaml' || name === 'data.yml';
}

/**
 * Walks one root. Names starting with '.' are skipped: that also skips the `..data`
 * folders of a Kubernetes ConfigMap mount, whose files are reached through the links
 * beside them, so each file is read once. `skip` holds real paths left to another root.
 */
function readRoot(dir: string, skip: Set<string>, budget: { bytes: number; files: number }): SourceRoot {
  const files: SourceFile[] = [];
  const walk = (current: string) => {
    const real = realpathSync(current);
    if (skip.has(real)) return;
    for (const name of readdirSync(current).sort()) {
      if (name.startsWith('.')) continue;
      const full = join(current, name);
      const stat = statSync(full);
      if (stat.isDirectory()) {
        walk(full);
      } else if (stat.isFile() && isPolicyFile(name)) {
        budget.bytes += stat.size;
        budget.files += 1;
        if (budget.bytes > MAX_POLICY_BYTES || budget.files > MAX_POLICY_FILES) {
          throw new Error(`policy sources exceed ${MAX_POLICY_BYTES} bytes or ${MAX_POLICY_FILES} files`);
        }
        files.push({ path: relative(dir, full).split(sep).join('/'), content: readFileSync(full) });
      }
    }
  };
  walk(dir);
  return { origin: dir, files };
}

export function snapshotSources(coreDir: string, policyDirs: string[]): SourceSnapshot {
  const budget = { bytes: 0, files: 0 };
  const core = realpathSync(coreDir);
  // The core library is its own root: staged as `aarm/…` so that its packages and any
  // data beside them land where `package aarm` says, whatever folder holds it. A policy
  // folder that contains it (the default, the project's rego/) must not load it twice.
  const coreRoot = readRoot(core, new Set(), budget);
  const roots: SourceRoot[] = [{ origin: core, files: coreRoot.files.map((f) => ({ ...f, path: `aarm/${f.path}` })) }];
  for (const dir of policyDirs) {
    roots.push(readRoot(realpathSync(dir), new Set([core]), budget));
  }
  const hash = createHash('sha256');
  roots.forEach((root, i) => {
    for (const f of root.files) {
      hash.update(`${i}\0${f.path}\0${f.content.length}\0`);
      hash.update(f.content);
    }
  });
  return { roots, hash: `sha256:${hash.digest('hex')}` };
}
