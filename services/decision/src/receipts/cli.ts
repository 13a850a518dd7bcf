/**
 * The `arbiter receipts verify` and `arbiter keys generate` commands, as functions that
 * print through `out` and return the exit status (the caller owns the process).
 */
import type { KeyObject } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import { isRecord } from './guards.js';
import { exportKeyPairPem, generateSigningKey, publicKeysFromJwks } from './keys.js';
import { verifyCheckpoint, type Checkpoint } from './checkpoint.js';
import { receiptHash } from './sign.js';
import type { Receipt } from './types.js';
import { UnparsedReceipt, verifyReceipts, type VerifyProblem, type VerifyReport } from './verify.js';

export type Out = (line: string) => void;

export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_USAGE = 2;

export const PRIVATE_KEY_FILE = 'signing-key.pem';
export const PUBLIC_KEY_FILE = 'signing-key.pub.pem';

/** A usage or I/O failure: reported as one line, exit status 2. */
class UsageError extends Error {}

export async function runReceiptsVerify(args: { jwksPath: string; receiptsPath: string }, out: Out): Promise<number> {
  let keys: Map<string, KeyObject>;
  let receipts: unknown[];
  try {
    keys = await readJwksFile(args.jwksPath);
    receipts = parseReceiptsText(await readText(args.receiptsPath, 'receipts'));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    out(`error: ${err.message}`);
    return EXIT_USAGE;
  }
  // An export holds receipts and checkpoints side by side: each is checked as what it is.
  const isCheckpoint = (r: unknown) => isRecord(r) && r.kind === 'checkpoint';
  const checkpoints = receipts.flatMap((r, index) => (isCheckpoint(r) ? [{ index, checkpoint: r }] : []));
  const onlyReceipts = receipts.filter((r) => !isCheckpoint(r));
  const report = verifyReceipts(onlyReceipts, keys);
  const checked = checkCheckpoints(checkpoints, onlyReceipts, keys);
  const all = { ...report, problems: [...report.problems, ...checked], ok: report.ok && checked.length === 0 };
  for (const p of all.problems) out(formatProblem(p));
  out(
    summary(all) +
      (checkpoints.length > 0 ? ` (${checkpoints.length} checkpoint${checkpoints.length === 1 ? '' : 's'})` : ''),
  );
  return all.ok ? EXIT_OK : EXIT_PROBLEMS;
}

/**
 * What the chains alone cannot show: a checkpoint's heads name, per session, the last
 * receipt it had seen; a session missing from the file, or shorter than its head, was
 * deleted or cut off.
 */
function checkCheckpoints(
  checkpoints: Array<{ index: number; checkpoint: unknown }>,
  receipts: unknown[],
  keys: Map<string, KeyObject>,
): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const held = new Map<string, Map<number, string>>();
  for (const r of receipts) {
    if (!isRecord(r) || typeof r.session_id !== 'string' || typeof r.seq !== 'number') continue;
    const key = `${String(r.tenant)}\0${r.session_id}`;
    if (!held.has(key)) held.set(key, new Map());
    held.get(key)!.set(r.seq, receiptHash(r as unknown as Receipt));
  }
  for (const { index, checkpoint } of checkpoints) {
    const id = isRecord(checkpoint) && typeof checkpoint.checkpoint_id === 'string' ? checkpoint.checkpoint_id : null;
    const check = verifyCheckpoint(checkpoint, keys);
    if (!check.ok) {
      problems.push({ index, receipt_id: id, session_id: null, kind: 'checkpoint', detail: check.detail });
      continue;
    }
    for (const head of (checkpoint as Checkpoint).heads) {
      const chain = held.get(`${head.tenant}\0${head.session_id}`);
      const hash = chain?.get(head.seq);
      if (hash === head.hash) continue;
      const have = chain ? Math.max(...chain.keys()) : 0;
      const detail = !chain
        ? `checkpoint ${id} names session ${head.session_id} up to seq ${head.seq}, but no receipt of it is here: deleted`
        : hash === undefined
          ? `checkpoint ${id} names session ${head.session_id} up to seq ${head.seq}, but the receipts here end at seq ${have}: cut off`
          : `checkpoint ${id} names another receipt at seq ${head.seq} of session ${head.session_id}`;
      problems.push({
        index,
        receipt_id: id,
        session_id: head.session_id,
        kind: hash === undefined ? 'dropped' : 'altered',
        detail,
      });
    }
  }
  return problems;
}

export async function runKeysGenerate(args: { outDir: string }, out: Out): Promise<number> {
  const privatePath = join(args.outDir, PRIVATE_KEY_FILE);
  const publicPath = join(args.outDir, PUBLIC_KEY_FILE);
  try {
    // Both checked before writing, so a failure never leaves half a key pair.
    await refuseExisting(privatePath);
    await refuseExisting(publicPath);
    const key = generateSigningKey();
    const { privatePem, publicPem } = exportKeyPairPem(key);
    await mkdir(args.outDir, { recursive: true });
    // 'wx': never replace a signing key; receipts signed with it would become unverifiable.
    await writeFile(privatePath, privatePem, { mode: 0o600, flag: 'wx' });
    await writeFile(publicPath, publicPem, { mode: 0o644, flag: 'wx' });
    out(`wrote ${privatePath} (private, mode 0600) and ${publicPath}`);
    out(`kid ${key.kid}`);
    return EXIT_OK;
  } catch (err) {
    out(`error: ${errorMessage(err)}`);
    return EXIT_USAGE;
  }
}

/**
 * Receipts as JSON lines (blank lines skipped), or a whole-file JSON array, or the
 * {"receipts": [...]} answer of GET /v1/sessions/{id}/receipts.
 */
export function parseReceiptsText(text: string): unknown[] {
  const content = text.replace(/^\uFEFF/, '');
  const whole = parseJson(content);
  if (whole.ok) {
    if (Array.isArray(whole.value)) return whole.value;
    if (isRecord(whole.value) && Array.isArray(whole.value.receipts)) return whole.value.receipts;
    return [whole.value];
  }
  return content.split(/\r?\n/).flatMap((line, i) => {
    if (line.trim() === '') return [];
    const parsed = parseJson(line);
    return [parsed.ok ? parsed.value : new UnparsedReceipt(`line ${i + 1} is not JSON: ${parsed.error}`)];
  });
}

export function formatProblem(p: VerifyProblem): string {
  return `${p.kind} receipt=${p.receipt_id ?? '-'} session=${p.session_id ?? '-'} index=${p.index}: ${p.detail}`;
}

function summary(report: VerifyReport): string {
  const head = `verified ${plural(report.receipts, 'receipt')} in ${plural(report.sessions, 'session')}`;
  if (report.receipts === 0) return `${head}: no receipts to verify`;
  return report.ok ? `${head}: OK` : `${head}: ${plural(report.problems.length, 'problem')}`;
}

async function readJwksFile(path: string): Promise<Map<string, KeyObject>> {
  const parsed = parseJson(await readText(path, 'JWKS'));
  if (!parsed.ok) throw new UsageError(`JWKS file ${path} is not JSON: ${parsed.error}`);
  let keys: Map<string, KeyObject>;
  try {
    keys = publicKeysFromJwks(parsed.value);
  } catch (err) {
    throw new UsageError(`JWKS file ${path}: ${errorMessage(err)}`);
  }
  if (keys.size === 0) throw new UsageError(`JWKS file ${path} has no Ed25519 keys`);
  return keys;
}

async function readText(path: string, what: string): Promise<string> {
  if (path === '') throw new UsageError(`no ${what} file given`);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} file ${path}: ${errorMessage(err)}`);
  }
}

async function refuseExisting(path: string): Promise<void> {
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new Error(`${path} already exists; not overwriting a key`);
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
