/**
 * Compiles a source snapshot with the real `opa build -t wasm`, against the built-ins the
 * JavaScript host implements (opa-wasm's capabilities.json), so a policy that needs
 * anything else fails here, at compile time, not in the middle of a decision.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { layerData, type SourceSnapshot } from './sources.js';

const execFileAsync = promisify(execFile);

export const ENTRYPOINT = 'aarm/decision';

export interface CompileOptions {
  opa: string;
  capabilities: string;
  timeoutMs: number;
}

export interface CompiledBundle {
  wasm: Uint8Array;
  data: unknown;
}

export class PolicyCompileError extends Error {}

async function runOpa(options: CompileOptions, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(options.opa, args, {
      timeout: options.timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
      cwd,
    });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; stdout?: string; killed?: boolean };
    if (e.code === 'ENOENT') throw new PolicyCompileError(`opa not found at ${options.opa}: run make setup`);
    if (e.killed) throw new PolicyCompileError(`opa ${args[0]} timed out after ${options.timeoutMs} ms`);
    throw new PolicyCompileError((e.stderr || e.stdout || e.message).trim());
  }
}

/**
 * The capabilities to compile against: the built-ins of the opa-wasm host, with the
 * language features of this opa (opa-wasm's file predates `rego_v1` and would refuse
 * every Rego v1 module).
 */
async function hostCapabilities(options: CompileOptions, work: string): Promise<string> {
  const host = JSON.parse(await readFile(options.capabilities, 'utf8')) as Record<string, unknown>;
  const current = JSON.parse(await runOpa(options, ['capabilities', '--current'], work)) as Record<string, unknown>;
  const merged = { ...host, features: current.features ?? [], future_keywords: current.future_keywords ?? [] };
  const path = join(work, 'capabilities.json');
  await writeFile(path, JSON.stringify(merged));
  return path;
}

/** The files of a (gunzipped) tar archive; enough of ustar for what `opa build` writes. */
function untar(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let offset = 0;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const name = (field(345, 155) ? `${field(345, 155)}/` : '') + field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    offset += 512;
    if (type === '0' || type === '') files.set(name.replace(/^\/+/, ''), archive.subarray(offset, offset + size));
    offset += Math.ceil(size / 512) * 512;
  }
  return files;
}

export async function compileSnapshot(snapshot: SourceSnapshot, options: CompileOptions): Promise<CompiledBundle> {
  const data = layerData(snapshot);
  const work = await mkdtemp(join(tmpdir(), 'arbiter-policy-'));
  try {
    // Each root's modules where its mount says; the data files stay out, and the layered
    // document goes in as one data.json in a root of its own, so no key can clash.
    const staged: Array<{ rootDir: string; prefix: string; origin: string }> = [];
    for (const [i, root] of snapshot.roots.entries()) {
      const modules = root.files.filter((f) => f.kind === 'module');
      if (modules.length === 0) continue;
      const rootDir = join(work, `root${i}`);
      staged.push({ rootDir, prefix: `${rootDir}/${root.mount}`, origin: `${root.origin}/` });
      for (const f of modules) {
        const target = join(rootDir, root.mount, f.path);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, f.content);
      }
    }
    const dataDir = join(work, 'data');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'data.json'), JSON.stringify(data));
    const out = join(work, 'bundle.tar.gz');
    const capabilities = await hostCapabilities(options, work);
    try {
      await runOpa(
        options,
        [
          'build',
          '-t',
          'wasm',
          '-e',
          ENTRYPOINT,
          '--capabilities',
          capabilities,
          '-o',
          out,
          ...staged.map((s) => s.rootDir),
          dataDir,
        ],
        work,
      );
    } catch (err) {
      // Name the author's files, not our staging folder.
      let message = (err as Error).message;
      for (const s of staged) message = message.split(s.prefix).join(s.origin);
      message = message.split(`${dataDir}/data.json`).join('the layered policy data');
      throw new PolicyCompileError(message.split(`${work}/`).join(''));
    }
    const files = untar(gunzipSync(await readFile(out)));
    const wasm = files.get('policy.wasm');
    if (!wasm) throw new PolicyCompileError('opa build produced no policy.wasm');
    const dataFile = files.get('data.json');
    return { wasm: new Uint8Array(wasm), data: dataFile ? JSON.parse(dataFile.toString('utf8')) : {} };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
