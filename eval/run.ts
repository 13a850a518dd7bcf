/**
 * The replay runner behind `make eval`: loads the detection corpus (eval/README.md), starts
 * a real Arbiter per company (or uses a running one), replays every session over HTTP the
 * way a gateway would, and reports the measures of eval/score.ts as JSON and Markdown.
 *
 *   node --import tsx eval/run.ts [--corpus DIR] [--company NAME]... [--url URL]
 *                                 [--json FILE] [--markdown FILE]
 *                                 [--request-timeout-ms N] [--max-seconds N]
 *
 * Exit status: 0 when the run completed (missed targets included: it is a measurement),
 * 1 when the corpus or the command line is malformed, 2 when an Arbiter cannot start or
 * be reached, or the run exceeded its time bound.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { pino } from 'pino';
import { loadConfig, PROJECT_ROOT } from '../services/decision/src/config.js';
import { legacyCatalog } from './legacy.js';
import { startArbiter } from '../services/decision/src/main.js';
import {
  DECISIONS,
  LABELS,
  rate,
  SPLITS,
  summarise,
  type Decision,
  type Expect,
  type Label,
  type Measures,
  type PairResult,
  type Reason,
  type SessionResult,
  type StepResult,
  type Summary,
  type Tally,
} from './score.js';

const USAGE = `usage: node --import tsx eval/run.ts [options]
  --corpus DIR             the corpus: DIR/companies/<company>/ and DIR/sessions/<company>/ (default: eval/)
  --company NAME           replay only this company (repeatable)
  --url URL                use the Arbiter running at URL (ARBITER_AUTH=off) for the one --company,
                           instead of starting one in-process
  --json FILE              write the results as JSON
  --markdown FILE          write the Markdown report
  --request-timeout-ms N   bound on each request (default 10000); no answer counts as DENY
  --max-seconds N          bound on the whole run (default 1800)
  --catalog-model MODEL    as-written (default) or legacy: replay every company with its catalogue
                           reduced to the older sparse model (eval/legacy.ts)
An in-process Arbiter listens on 127.0.0.1 (ephemeral port) with the in-memory store and
ARBITER_POLICY_DIR=<repo>/rego:<corpus>/companies/<company>; of the environment it takes
only ARBITER_OPA, ARBITER_POLICY_COMPILE_TIMEOUT_MS and ARBITER_DRIFT*.`;

/** How many distinct approvers the runner lends a STEP_UP whose quorum asks for more than one. */
const MAX_APPROVERS = 5;
/** The environment an in-process Arbiter takes from ours: the rest is fixed by the runner. */
const PASSED_ENV = /^(ARBITER_OPA|ARBITER_POLICY_COMPILE_TIMEOUT_MS|ARBITER_DRIFT(_[A-Z_]+)?)$/;
const MIN_HOLDOUT_SHARE = 0.3;

// ---------------------------------------------------------------------------------------
// The corpus

interface Outcome {
  status: 'success' | 'error';
  [field: string]: unknown;
}

interface Step {
  tool: string;
  operation?: string;
  parameters?: Record<string, unknown>;
  expect: Expect;
  note?: string;
  outcome?: Outcome;
  signals?: Record<string, unknown>;
}

interface Session {
  id: string;
  label: Label;
  note: string;
  intent: string;
  agent: string;
  human: string;
  steps: Step[];
}

interface Pair {
  pair: string;
  company: string;
  threat: string;
  domain: string;
  split: 'tune' | 'holdout';
  tags?: string[];
  sessions: Session[];
}

interface Company {
  name: string;
  /** Its catalog and org data: the second ARBITER_POLICY_DIR folder. */
  policyDir: string;
  pairs: Array<{ file: string; pair: Pair }>;
}

interface Corpus {
  root: string;
  companies: Company[];
  warnings: string[];
}

/** The corpus does not load: every problem found, each naming its file and path. */
class CorpusError extends Error {
  constructor(readonly problems: string[]) {
    super(`the corpus is malformed:\n  ${problems.join('\n  ')}`);
  }
}

/** An Arbiter cannot start or be reached, or the run exceeded its bound. */
class RunError extends Error {}

const display = (path: string) => relative(process.cwd(), path) || '.';

function compileSchema() {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  return ajv.compile<Pair>(
    JSON.parse(readFileSync(join(PROJECT_ROOT, 'schemas', 'eval-pair.v1.schema.json'), 'utf8')) as object,
  );
}

function schemaProblem(file: string, e: ErrorObject): string {
  const detail =
    e.keyword === 'additionalProperties'
      ? ` (${String(e.params.additionalProperty)})`
      : e.keyword === 'enum'
        ? ` (${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')})`
        : '';
  return `${file}: ${e.instancePath || '/'}: ${e.message ?? 'invalid'}${detail}`;
}

const jsonFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
    .sort();

/** Loads and checks every pair file; throws CorpusError naming every problem found. */
function loadCorpus(root: string, only: readonly string[] = []): Corpus {
  const sessionsDir = join(root, 'sessions');
  const problems: string[] = [];
  const warnings: string[] = [];
  if (!existsSync(sessionsDir) || !statSync(sessionsDir).isDirectory()) {
    throw new CorpusError([`${display(sessionsDir)}: no such folder`]);
  }
  const folders = readdirSync(sessionsDir)
    .filter((name) => !name.startsWith('.') && statSync(join(sessionsDir, name)).isDirectory())
    .sort();
  for (const stray of jsonFiles(sessionsDir)) {
    problems.push(`${display(join(sessionsDir, stray))}: a pair file belongs in a company folder`);
  }
  for (const name of only) {
    if (!folders.includes(name)) problems.push(`${display(join(sessionsDir, name))}: no such company folder`);
  }
  const validate = compileSchema();
  const sessionFiles = new Map<string, string>();
  const companies: Company[] = [];
  for (const name of folders.filter((f) => only.length === 0 || only.includes(f))) {
    const policyDir = join(root, 'companies', name);
    if (!existsSync(join(policyDir, 'data.json'))) {
      problems.push(`${display(join(policyDir, 'data.json'))}: missing (the catalog of company ${name})`);
    }
    const company: Company = { name, policyDir, pairs: [] };
    for (const fileName of jsonFiles(join(sessionsDir, name))) {
      const path = join(sessionsDir, name, fileName);
      const file = display(path);
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(path, 'utf8'));
      } catch (err) {
        problems.push(`${file}: not valid JSON: ${(err as Error).message}`);
        continue;
      }
      if (!validate(doc)) {
        problems.push(...(validate.errors ?? []).slice(0, 20).map((e) => schemaProblem(file, e)));
        continue;
      }
      const pair = doc;
      const stem = fileName.slice(0, -'.json'.length);
      if (pair.pair !== stem) problems.push(`${file}: /pair: "${pair.pair}" is not the file name "${stem}"`);
      if (pair.company !== name) problems.push(`${file}: /company: "${pair.company}" is not the folder "${name}"`);
      const labels = pair.sessions.map((s) => s.label).sort();
      if (labels[0] !== 'attack' || labels[1] !== 'benign') {
        problems.push(`${file}: /sessions: must hold one attack and one benign session, holds ${labels.join(' and ')}`);
      }
      pair.sessions.forEach((session, i) => {
        const seen = sessionFiles.get(session.id);
        if (seen !== undefined) problems.push(`${file}: /sessions/${i}/id: "${session.id}" is also used in ${seen}`);
        sessionFiles.set(session.id, file);
        const harmful = session.steps.flatMap((s, j) => (s.expect === 'block' || s.expect === 'modify' ? [j] : []));
        if (session.label === 'attack' && harmful.length === 0) {
          problems.push(`${file}: /sessions/${i}: the attack session has no block or modify step`);
        }
        if (session.label === 'benign') {
          for (const j of harmful) {
            problems.push(`${file}: /sessions/${i}/steps/${j}/expect: a benign session has no block or modify step`);
          }
        }
      });
      const tools = (label: Label) =>
        new Set(pair.sessions.filter((s) => s.label === label).flatMap((s) => s.steps.map((step) => step.tool)));
      const [attack, benign] = [tools('attack'), tools('benign')];
      const attackOnly = [...attack].filter((t) => !benign.has(t));
      const benignOnly = [...benign].filter((t) => !attack.has(t));
      if (attackOnly.length + benignOnly.length > 0) {
        warnings.push(
          `${file}: the twins use different tools (attack only: ${attackOnly.join(', ') || 'none'}; benign only: ${benignOnly.join(', ') || 'none'})`,
        );
      }
      company.pairs.push({ file, pair });
    }
    companies.push(company);
  }
  const pairs = companies.flatMap((c) => c.pairs);
  if (problems.length === 0 && pairs.length === 0) problems.push(`${display(sessionsDir)}: holds no pair files`);
  if (problems.length > 0) throw new CorpusError(problems);
  const holdout = pairs.filter((p) => p.pair.split === 'holdout').length / pairs.length;
  if (holdout < MIN_HOLDOUT_SHARE) {
    warnings.push(
      `${display(sessionsDir)}: ${(holdout * 100).toFixed(0)}% of the pairs are holdout (eval/README.md asks for at least ${MIN_HOLDOUT_SHARE * 100}%)`,
    );
  }
  return { root, companies, warnings };
}

// ---------------------------------------------------------------------------------------
// Talking to Arbiter

interface Answer {
  status: number;
  body: any;
  error?: string;
}

/** Every request bounded on its own and by the run's deadline; no answer reads as status 0. */
class Client {
  constructor(
    private readonly base: string,
    private readonly timeoutMs: number,
    private readonly deadline: AbortSignal,
  ) {}

  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
    if (this.deadline.aborted) throw new RunError(String(this.deadline.reason));
    try {
      const res = await fetch(`${this.base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.deadline]),
      });
      const text = await res.text();
      try {
        return { status: res.status, body: JSON.parse(text) };
      } catch {
        return { status: res.status, body: text, error: 'the answer is not JSON' };
      }
    } catch (err) {
      if (this.deadline.aborted) throw new RunError(String(this.deadline.reason));
      const e = err as Error & { cause?: Error };
      const message = e.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (e.cause ?? e).message;
      return { status: 0, body: undefined, error: message };
    }
  }
}

/** The error an answer carries, for the record. */
function answerError(answer: Answer): string | undefined {
  if (answer.error !== undefined) return answer.error;
  const error = answer.body?.error;
  if (error && typeof error === 'object') return [error.code, error.message].filter(Boolean).join(': ');
  return undefined;
}

interface HttpResult {
  status: number;
  error?: string;
}

function requestRecord(answer: Answer, ok: number): HttpResult {
  const error = answer.status === ok ? undefined : (answerError(answer) ?? `HTTP ${answer.status}`);
  return { status: answer.status, ...(error !== undefined && { error }) };
}

interface ReplayedStep extends StepResult {
  operation?: string;
  action_id?: string;
  policy_revision?: string;
  /** The approval the runner gave a STEP_UP of a pass_or_step_up step. */
  approval?: HttpResult & { id: string; result: string; votes: number };
  /** Reporting the step's outcome, when it was allowed and has one. */
  outcome?: HttpResult;
}

interface ReplayedSession extends SessionResult {
  /** The id sent to Arbiter: the corpus id and the run id, so reruns never collide. */
  run_session_id: string;
  note: string;
  opened: HttpResult;
  steps: ReplayedStep[];
}

interface ReplayedPair extends PairResult {
  file: string;
  tags?: string[];
  sessions: ReplayedSession[];
}

async function approve(client: Client, id: string): Promise<NonNullable<ReplayedStep['approval']>> {
  for (let votes = 0; votes < MAX_APPROVERS; votes++) {
    const approver = votes === 0 ? 'eval-approver' : `eval-approver-${votes + 1}`;
    const answer = await client.call('POST', `/v1/approvals/${encodeURIComponent(id)}`, {
      decision: 'approve',
      approver,
      reason: 'expected approval',
    });
    const record = requestRecord(answer, 200);
    const result = String(answer.body?.status ?? 'error');
    if (answer.status !== 200 || result !== 'pending') return { id, result, votes: votes + 1, ...record };
  }
  return { id, result: 'pending', votes: MAX_APPROVERS, status: 200 };
}

async function replayStep(client: Client, session: Session, runSessionId: string, step: Step, index: number) {
  const identity = { agent: session.agent, human: session.human };
  const answer = await client.call('POST', '/v1/decide', {
    action: {
      tool: step.tool,
      ...(step.operation !== undefined && { operation: step.operation }),
      parameters: step.parameters ?? {},
    },
    session: { id: runSessionId },
    identity,
    signals: step.signals ?? {},
  });
  const body = answer.body;
  const wellFormed =
    answer.status === 200 && typeof body === 'object' && DECISIONS.includes(body?.decision as Decision);
  // As a PEP would: anything but a well-formed 200 is a DENY.
  const decision: Decision = wellFormed ? body.decision : 'DENY';
  const error = answer.status !== 200 ? requestRecord(answer, 200).error : wellFormed ? undefined : 'malformed answer';
  const reasons: Reason[] = Array.isArray(body?.reasons)
    ? body.reasons.map((r: Partial<Reason>) => ({ policy_id: String(r.policy_id), reason: String(r.reason) }))
    : [];
  const record: ReplayedStep = {
    index,
    tool: step.tool,
    ...(step.operation !== undefined && { operation: step.operation }),
    expect: step.expect,
    decision,
    status: answer.status,
    reasons,
    ...(error !== undefined && { error }),
    ...(wellFormed && typeof body.action_id === 'string' && { action_id: body.action_id }),
    ...(wellFormed && typeof body.policy?.revision === 'string' && { policy_revision: body.policy.revision }),
  };
  let runs = decision === 'ALLOW' || decision === 'MODIFY';
  if (decision === 'STEP_UP' && step.expect === 'pass_or_step_up' && typeof body.approval?.id === 'string') {
    record.approval = await approve(client, body.approval.id);
    runs = record.approval.result === 'approved';
  }
  if (runs && step.outcome && record.action_id !== undefined) {
    const reported = await client.call(
      'POST',
      `/v1/actions/${encodeURIComponent(record.action_id)}/outcome`,
      step.outcome,
    );
    record.outcome = requestRecord(reported, 200);
  }
  return record;
}

async function replaySession(client: Client, session: Session, runId: string): Promise<ReplayedSession> {
  const runSessionId = `${session.id}-${runId}`;
  const opened = await client.call('POST', '/v1/sessions', {
    id: runSessionId,
    intent: session.intent,
    identity: { agent: session.agent, human: session.human },
  });
  const steps: ReplayedStep[] = [];
  // Every step is replayed, also after a block: each harmful step is scored on its own.
  for (const [index, step] of session.steps.entries()) {
    steps.push(await replayStep(client, session, runSessionId, step, index));
  }
  return {
    id: session.id,
    label: session.label,
    run_session_id: runSessionId,
    note: session.note,
    opened: requestRecord(opened, 201),
    steps,
  };
}

interface Target {
  url: string;
  close(): Promise<void>;
}

function passedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => PASSED_ENV.test(e[0]) && e[1] !== undefined),
  );
}

const CATALOG_MODELS = ['as-written', 'legacy'] as const;
type CatalogModel = (typeof CATALOG_MODELS)[number];

/** The company's policy folder under the catalogue model: a temporary copy for `legacy`. */
function policyFolder(company: Company, model: CatalogModel): { dir: string; remove: () => void } {
  if (model === 'as-written') return { dir: company.policyDir, remove: () => {} };
  const file = join(company.policyDir, 'data.json');
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RunError(
      `the catalogue of company ${company.name} (${display(file)}) is not valid JSON: ${(err as Error).message}`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), `arbiter-eval-${company.name}-`));
  writeFileSync(join(dir, 'data.json'), JSON.stringify(legacyCatalog(data)));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A real Arbiter in this process, the way test/support/arbiter.ts starts one. */
async function startInProcess(company: Company, model: CatalogModel): Promise<Target> {
  const folder = policyFolder(company, model);
  try {
    return await startArbiterFor(company, folder.dir);
  } finally {
    // The policy is built and loaded at start (polling is off): the folder is no longer read.
    folder.remove();
  }
}

async function startArbiterFor(company: Company, policyDir: string): Promise<Target> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...passedEnv(),
    ARBITER_HOST: '127.0.0.1',
    ARBITER_PORT: '0',
    ARBITER_POLICY_DIR: `${join(PROJECT_ROOT, 'rego')}:${policyDir}`,
    ARBITER_POLICY_POLL_MS: '0',
    ARBITER_LOG_LEVEL: 'silent',
  };
  let arbiter: Awaited<ReturnType<typeof startArbiter>>;
  try {
    arbiter = await startArbiter(loadConfig(env), { logger: pino({ level: 'silent' }) });
  } catch (err) {
    throw new RunError(`Arbiter for company ${company.name} did not start: ${(err as Error).message}`);
  }
  if (!arbiter.policy.version) {
    const why = arbiter.policy.status().last_error?.message ?? 'no policy loaded';
    await arbiter.close();
    throw new RunError(`Arbiter for company ${company.name} did not start: the policy did not build: ${why}`);
  }
  return arbiter;
}

interface ArbiterRecord {
  company: string;
  mode: 'in-process' | 'url';
  url: string;
  policy: { revision: string; hash: string };
  /** Every revision the decisions named (more than one if the policy changed during the run). */
  revisions_seen: string[];
}

async function replayCompany(
  company: Company,
  options: { url?: string; catalogModel: CatalogModel; timeoutMs: number; deadline: AbortSignal; runId: string },
): Promise<{ arbiter: ArbiterRecord; pairs: ReplayedPair[] }> {
  const target: Target = options.url
    ? { url: options.url, close: async () => {} }
    : await startInProcess(company, options.catalogModel);
  try {
    const client = new Client(target.url.replace(/\/$/, ''), options.timeoutMs, options.deadline);
    const ready = await client.call('GET', '/readyz');
    if (ready.status !== 200) {
      throw new RunError(
        `Arbiter at ${target.url} is not ready (${ready.status === 0 ? ready.error : `HTTP ${ready.status} ${JSON.stringify(ready.body)}`})`,
      );
    }
    const policy = await client.call('GET', '/v1/policy');
    if (policy.status !== 200 || typeof policy.body?.revision !== 'string') {
      throw new RunError(`Arbiter at ${target.url} names no policy revision (GET /v1/policy: HTTP ${policy.status})`);
    }
    const pairs: ReplayedPair[] = [];
    for (const { file, pair } of company.pairs) {
      const sessions: ReplayedSession[] = [];
      for (const session of pair.sessions) sessions.push(await replaySession(client, session, options.runId));
      pairs.push({
        pair: pair.pair,
        company: pair.company,
        threat: pair.threat,
        domain: pair.domain,
        split: pair.split,
        ...(pair.tags !== undefined && { tags: pair.tags }),
        file,
        sessions,
      });
    }
    const revisions = pairs.flatMap((p) => p.sessions.flatMap((s) => s.steps.map((step) => step.policy_revision)));
    return {
      arbiter: {
        company: company.name,
        mode: options.url ? 'url' : 'in-process',
        url: target.url,
        policy: { revision: policy.body.revision, hash: String(policy.body.hash) },
        revisions_seen: [...new Set(revisions.filter((r): r is string => r !== undefined))].sort(),
      },
      pairs,
    };
  } finally {
    await target.close();
  }
}

// ---------------------------------------------------------------------------------------
// Results and the report

interface FailedRequest {
  pair: string;
  session: string;
  step: number | null;
  request: 'open session' | 'decide' | 'approval' | 'outcome';
  status: number;
  error: string;
}

/** Every request that did not succeed: honest numbers name what went wrong around them. */
function failedRequests(pairs: readonly ReplayedPair[]): FailedRequest[] {
  const out: FailedRequest[] = [];
  for (const pair of pairs) {
    for (const session of pair.sessions) {
      const base = { pair: pair.pair, session: session.id };
      if (session.opened.error !== undefined) {
        out.push({
          ...base,
          step: null,
          request: 'open session',
          status: session.opened.status,
          error: session.opened.error,
        });
      }
      for (const step of session.steps) {
        const at = { ...base, step: step.index };
        if (step.error !== undefined) out.push({ ...at, request: 'decide', status: step.status, error: step.error });
        if (step.approval && step.approval.result !== 'approved') {
          out.push({
            ...at,
            request: 'approval',
            status: step.approval.status,
            error: step.approval.error ?? `${step.approval.result} after ${step.approval.votes} approval(s)`,
          });
        }
        if (step.outcome?.error !== undefined) {
          out.push({ ...at, request: 'outcome', status: step.outcome.status, error: step.outcome.error });
        }
      }
    }
  }
  return out;
}

interface Results {
  format: 'arbiter-eval-results/1';
  command: string;
  started_at: string;
  finished_at: string;
  run_id: string;
  code: { git: string; uncommitted_changes: boolean } | null;
  /** The variables the in-process Arbiters took from the environment. */
  settings: Record<string, string>;
  /** The catalogue model the companies were replayed with (`--catalog-model`). */
  catalog_model: CatalogModel;
  arbiters: ArbiterRecord[];
  corpus: {
    root: string;
    companies: string[];
    pairs: Record<'tune' | 'holdout' | 'all', number>;
    sessions: Record<Label, number>;
    steps: number;
    warnings: string[];
  };
  summary: Summary;
  failed_requests: FailedRequest[];
  pairs: ReplayedPair[];
}

function gitRevision(): Results['code'] {
  // GIT_OPTIONAL_LOCKS=0: a status must not take the index lock from someone else's git.
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: PROJECT_ROOT,
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  try {
    // The reports `make eval` writes (the first run's, before the second starts) are its output, not code.
    const outputs = [':!EVAL.md', ':!EVAL-legacy.md', ':!eval/results.json', ':!eval/results-legacy.json'];
    return {
      git: git('rev-parse', '--short=12', 'HEAD'),
      uncommitted_changes: git('status', '--porcelain', '--', '.', ...outputs) !== '',
    };
  } catch {
    return null;
  }
}

function commandLine(): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const script = relative(process.cwd(), process.argv[1] ?? 'eval/run.ts');
  return ['node', ...process.execArgv, script, ...process.argv.slice(2)].map(quote).join(' ');
}

const percent = (t: Tally) => {
  const r = rate(t);
  return r === null ? '–' : `${t.n}/${t.of} (${(r * 100).toFixed(1)}%)`;
};
const ratio = (r: number | null) => (r === null ? '–' : `${(r * 100).toFixed(1)}%`);
const cell = (text: string) =>
  text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ');
const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
const table = (head: readonly string[], rows: ReadonlyArray<readonly string[]>) =>
  [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
const measureCells = (m: Measures) => [String(m.pairs), percent(m.stopped), percent(m.passed), percent(m.separated)];

/** One row per group and split, the group named on its first row only. */
const breakdown = (label: string, groups: Array<[string, Record<(typeof SPLITS)[number], Measures>]>) =>
  table(
    [label, 'split', 'pairs', 'stopped', 'passed', 'separated'],
    groups.flatMap(([name, splits]) =>
      SPLITS.map((split) => [split === SPLITS[0] ? name : '', split, ...measureCells(splits[split])]),
    ),
  );

function renderMarkdown(r: Results): string {
  const s = r.summary;
  const c = r.corpus;
  const holdoutShare = c.pairs.all === 0 ? 0 : (c.pairs.holdout / c.pairs.all) * 100;
  const lines = [
    r.catalog_model === 'legacy' ? '# Detection evaluation: catalogues in the older model' : '# Detection evaluation',
    '',
    `Produced by \`${r.command}\` on ${r.finished_at}` +
      (r.code
        ? ` (code: git \`${r.code.git}\`${r.code.uncommitted_changes ? ', with uncommitted changes' : ''}).`
        : '.'),
    '',
    `- **Policy**: ${r.arbiters
      .map(
        (a) =>
          `${a.company} revision \`${a.policy.revision}\` (${a.policy.hash}` +
          (a.revisions_seen.some((x) => x !== a.policy.revision)
            ? `; decisions named ${a.revisions_seen.join(', ')}`
            : '') +
          `, ${a.mode === 'url' ? `Arbiter at ${a.url}` : 'in-process Arbiter'})`,
      )
      .join('; ')}.`,
    ...(r.catalog_model === 'legacy'
      ? [
          '- **Catalogues**: every company replayed with its catalogue reduced to the older model ' +
            '(one operation, classification, default decision and `egress` per tool; own domains as ' +
            '`egress.allowed_domains`; no parameter kinds, org data or effects: `eval/legacy.ts`).',
        ]
      : []),
    `- **Corpus** (\`${c.root}\`): ${c.companies.length} compan${c.companies.length === 1 ? 'y' : 'ies'}, ` +
      `${c.pairs.all} pairs (${c.pairs.tune} tune, ${c.pairs.holdout} holdout: ${holdoutShare.toFixed(0)}%), ` +
      `${c.sessions.attack + c.sessions.benign} sessions (${c.sessions.attack} attack, ${c.sessions.benign} benign), ${c.steps} steps.`,
    ...(Object.keys(r.settings).length > 0
      ? [
          `- **Settings**: ${Object.entries(r.settings)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}.`,
        ]
      : []),
    '- **Measures** (eval/README.md): an attack session is *stopped* when every `block` step is neither ALLOW nor ' +
      'MODIFY and every `modify` step is not ALLOW; a benign session *passes* when every step meets its `expect`; ' +
      'a pair is *separated* when both hold. An answer other than a 200 counts as DENY.',
    '',
    '## Headline',
    '',
    table(
      ['split', 'pairs', 'attack sessions stopped', 'benign sessions passed', 'pairs separated'],
      SPLITS.map((split) => [split, ...measureCells(s.overall[split])]),
    ),
    '',
    ...(r.failed_requests.length > 0
      ? [
          `**${r.failed_requests.length} requests did not succeed** (listed below): their steps count as DENY, ` +
            'which stops attacks and fails benign sessions without any rule having decided.',
          '',
        ]
      : []),
    '## Targets (issue 10, on the holdout part)',
    '',
    table(
      ['measure', 'target', 'tune', 'holdout', 'met'],
      s.targets.map((t) => [
        t.measure,
        `≥ ${(t.target * 100).toFixed(0)}%`,
        ratio(t.tune),
        ratio(t.holdout),
        t.met === null ? 'not measured' : t.met ? 'yes' : '**no**',
      ]),
    ),
    '',
    '## Per threat class',
    '',
    breakdown(
      'threat',
      s.threats.map((t) => [`${t.threat} ${t.name}`, t.splits]),
    ),
    '',
    '## Per domain',
    '',
    breakdown(
      'domain',
      s.domains.map((d) => [d.domain, d.splits]),
    ),
    '',
    '## Decision mix (every step)',
    '',
    table(
      ['sessions', 'split', ...DECISIONS, 'steps'],
      LABELS.flatMap((label) =>
        SPLITS.map((split) => {
          const counts = s.decision_mix[label][split];
          return [
            split === 'tune' ? label : '',
            split,
            ...DECISIONS.map((d) => String(counts[d])),
            String(counts.steps),
          ];
        }),
      ),
    ),
    '',
    `## Misses (${s.misses.length})`,
    '',
    s.misses.length === 0
      ? 'None.'
      : table(
          ['pair', 'split', 'session', 'step', 'tool', 'expected', 'got', 'policy_ids', 'reasons'],
          s.misses.map((m) => [
            m.pair,
            m.split,
            m.session,
            String(m.step),
            cell(`\`${m.tool}\``),
            m.expected,
            m.status === 200 ? m.got : `${m.got} (${m.status === 0 ? 'no answer' : `HTTP ${m.status}`})`,
            m.policy_ids.join(', ') || '–',
            cell([...m.reasons, ...(m.error !== undefined ? [m.error] : [])].join('; ') || '–'),
          ]),
        ),
    '',
  ];
  if (r.failed_requests.length > 0) {
    lines.push(
      `## Requests that did not succeed (${r.failed_requests.length})`,
      '',
      table(
        ['pair', 'session', 'step', 'request', 'status', 'error'],
        r.failed_requests.map((f) => [
          f.pair,
          f.session,
          f.step === null ? '–' : String(f.step),
          f.request,
          String(f.status),
          cell(f.error),
        ]),
      ),
      '',
    );
  }
  if (c.warnings.length > 0) {
    lines.push(`## Corpus warnings (${c.warnings.length})`, '', ...c.warnings.map((w) => `- ${cell(w)}`), '');
  }
  return lines.join('\n');
}

function headline(r: Results): string {
  const pad = (text: string, width: number) => text.padEnd(width);
  const rows = SPLITS.map((split) => {
    const m = r.summary.overall[split];
    return [split, percent(m.stopped), percent(m.passed), percent(m.separated)];
  });
  return [
    `eval: ${r.corpus.pairs.all} pairs (${r.corpus.pairs.tune} tune, ${r.corpus.pairs.holdout} holdout), ${r.corpus.steps} steps, ${r.corpus.companies.length} compan${r.corpus.companies.length === 1 ? 'y' : 'ies'}`,
    ['split', 'attack stopped', 'benign passed', 'pairs separated'].map((h, i) => pad(h, i === 0 ? 9 : 22)).join(''),
    ...rows.map((cells) => cells.map((text, i) => pad(text, i === 0 ? 9 : 22)).join('')),
    `misses: ${r.summary.misses.length}; requests that did not succeed: ${r.failed_requests.length}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------
// The command

interface Options {
  corpus: string;
  catalogModel: CatalogModel;
  companies: string[];
  url?: string;
  json?: string;
  markdown?: string;
  timeoutMs: number;
  maxSeconds: number;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        corpus: { type: 'string' },
        company: { type: 'string', multiple: true },
        url: { type: 'string' },
        json: { type: 'string' },
        markdown: { type: 'string' },
        'request-timeout-ms': { type: 'string' },
        'max-seconds': { type: 'string' },
        'catalog-model': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.help) return 'help';
  const positive = (name: string, raw: string | undefined, fallback: number) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer`);
    return n;
  };
  const companies = parsed.company ?? [];
  const catalogModel = parsed['catalog-model'] ?? 'as-written';
  if (!CATALOG_MODELS.includes(catalogModel as CatalogModel)) {
    throw new UsageError(`--catalog-model must be one of ${CATALOG_MODELS.join(', ')}`);
  }
  if (parsed.url !== undefined) {
    if (catalogModel !== 'as-written')
      throw new UsageError('--catalog-model applies to in-process Arbiters, not --url');
    if (companies.length !== 1) throw new UsageError('--url replays exactly one --company');
    if (!/^https?:\/\//.test(parsed.url)) throw new UsageError('--url must be an http(s) URL');
  }
  return {
    corpus: resolve(parsed.corpus ?? join(PROJECT_ROOT, 'eval')),
    catalogModel: catalogModel as CatalogModel,
    companies,
    ...(parsed.url !== undefined && { url: parsed.url }),
    ...(parsed.json !== undefined && { json: resolve(parsed.json) }),
    ...(parsed.markdown !== undefined && { markdown: resolve(parsed.markdown) }),
    timeoutMs: positive('request-timeout-ms', parsed['request-timeout-ms'], 10_000),
    maxSeconds: positive('max-seconds', parsed['max-seconds'], 1800),
  };
}

async function runEval(options: Options): Promise<Results> {
  const startedAt = new Date().toISOString();
  const corpus = loadCorpus(options.corpus, options.companies);
  for (const warning of corpus.warnings) process.stderr.write(`warning: ${warning}\n`);
  const runId = randomBytes(4).toString('hex');
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(`the run exceeded --max-seconds ${options.maxSeconds}`),
    options.maxSeconds * 1000,
  );
  const arbiters: ArbiterRecord[] = [];
  const pairs: ReplayedPair[] = [];
  try {
    for (const company of corpus.companies) {
      const replayed = await replayCompany(company, {
        ...(options.url !== undefined && { url: options.url }),
        catalogModel: options.catalogModel,
        timeoutMs: options.timeoutMs,
        deadline: deadline.signal,
        runId,
      });
      arbiters.push(replayed.arbiter);
      pairs.push(...replayed.pairs);
    }
  } finally {
    clearTimeout(timer);
  }
  const sessions = pairs.flatMap((p) => p.sessions);
  return {
    format: 'arbiter-eval-results/1',
    command: commandLine(),
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    run_id: runId,
    code: gitRevision(),
    settings: options.url ? {} : (({ ARBITER_OPA: _opa, ...rest }) => rest)(passedEnv()),
    catalog_model: options.catalogModel,
    arbiters,
    corpus: {
      root: display(corpus.root),
      companies: corpus.companies.map((c) => c.name),
      pairs: {
        tune: pairs.filter((p) => p.split === 'tune').length,
        holdout: pairs.filter((p) => p.split === 'holdout').length,
        all: pairs.length,
      },
      sessions: {
        attack: sessions.filter((s) => s.label === 'attack').length,
        benign: sessions.filter((s) => s.label === 'benign').length,
      },
      steps: sessions.reduce((n, s) => n + s.steps.length, 0),
      warnings: corpus.warnings,
    },
    summary: summarise(pairs),
    failed_requests: failedRequests(pairs),
    pairs,
  };
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

async function main(argv: string[]): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 1;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const results = await runEval(options);
    if (options.json) write(options.json, `${JSON.stringify(results, null, 2)}\n`);
    if (options.markdown) write(options.markdown, renderMarkdown(results));
    process.stdout.write(`${headline(results)}\n`);
    for (const path of [options.json, options.markdown]) {
      if (path) process.stdout.write(`wrote ${display(path)}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof CorpusError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    if (err instanceof RunError) {
      process.stderr.write(`eval: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
