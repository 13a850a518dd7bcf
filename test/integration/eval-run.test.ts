/**
 * The `make eval` runner (eval/run.ts), run as the real command over the fixture corpus
 * in test/fixtures/eval/: a company with three catalogued tools and two pairs whose
 * decisions under the shipped rules are plain (an uncatalogued tool is denied by the
 * default posture, a catalogued read is allowed, a STEP_UP tool steps up).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestArbiter, type TestArbiter } from '../support/arbiter.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RUNNER = join(ROOT, 'eval', 'run.ts');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'eval');
const PAIRS = join(FIXTURE, 'sessions', 'fixtureco');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The runner as `make eval` runs it, as a child process (async, so a server in this process keeps answering). */
function runEval(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', RUNNER, ...args],
      { cwd: ROOT, env: process.env, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const work = mkdtempSync(join(tmpdir(), 'arbiter-eval-'));
after(() => rmSync(work, { recursive: true, force: true }));

function readJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The counts the fixture corpus must give under the shipped rules, whichever Arbiter answers. */
function assertFixtureCounts(results: any): void {
  const overall = results.summary.overall;
  assert.deepEqual(overall.tune, {
    pairs: 1,
    stopped: { n: 1, of: 1 },
    passed: { n: 1, of: 1 },
    separated: { n: 1, of: 1 },
  });
  assert.deepEqual(overall.holdout, {
    pairs: 1,
    stopped: { n: 0, of: 1 },
    passed: { n: 0, of: 1 },
    separated: { n: 0, of: 1 },
  });
  assert.deepEqual(overall.all.separated, { n: 1, of: 2 });
  assert.deepEqual(results.summary.decision_mix.attack.all, {
    ALLOW: 2,
    MODIFY: 0,
    STEP_UP: 1,
    DEFER: 0,
    DENY: 1,
    steps: 4,
  });
  assert.deepEqual(results.summary.decision_mix.benign.all, {
    ALLOW: 2,
    MODIFY: 0,
    STEP_UP: 2,
    DEFER: 0,
    DENY: 0,
    steps: 4,
  });
  const t3 = results.summary.threats.find((t: any) => t.threat === 'T3');
  assert.deepEqual(t3.splits.all.separated, { n: 1, of: 1 });
  const t9 = results.summary.threats.find((t: any) => t.threat === 'T9');
  assert.equal(t9.name, 'side-channel leakage');
  assert.deepEqual(t9.splits.holdout.stopped, { n: 0, of: 1 });
  assert.deepEqual(
    results.summary.domains.map((d: any) => [d.domain, d.splits.all.pairs]),
    [['drive', 2]],
  );
  assert.deepEqual(
    results.summary.misses.map((m: any) => [m.pair, m.split, m.session, m.step, m.tool, m.expected, m.got]),
    [
      ['fixtureco-notes-summary', 'holdout', 'fixtureco-notes-summary-attack', 0, 'notes.search', 'modify', 'ALLOW'],
      ['fixtureco-notes-summary', 'holdout', 'fixtureco-notes-summary-benign', 1, 'notes.publish', 'pass', 'STEP_UP'],
    ],
  );
  for (const miss of results.summary.misses) {
    assert.ok(miss.policy_ids.length > 0 && miss.reasons.length > 0, 'a miss names the answer that caused it');
  }
  assert.deepEqual(results.failed_requests, []);
}

describe('eval/run.ts on the fixture corpus', { timeout: 300_000 }, () => {
  let run: Run;
  let results: any;
  let markdown: string;

  before(async () => {
    run = await runEval([
      '--corpus',
      FIXTURE,
      '--json',
      join(work, 'out', 'results.json'),
      '--markdown',
      join(work, 'out', 'EVAL.md'),
    ]);
    assert.equal(run.code, 0, run.stderr);
    results = readJson(join(work, 'out', 'results.json'));
    markdown = readFileSync(join(work, 'out', 'EVAL.md'), 'utf8');
  });

  test('scores the replay of an in-process Arbiter', () => {
    assertFixtureCounts(results);
    assert.deepEqual(results.corpus.pairs, { tune: 1, holdout: 1, all: 2 });
    assert.deepEqual(results.corpus.sessions, { attack: 2, benign: 2 });
    assert.equal(results.corpus.steps, 8);
    assert.equal(results.arbiters.length, 1);
    assert.equal(results.arbiters[0].mode, 'in-process');
    assert.match(results.arbiters[0].url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(results.arbiters[0].revisions_seen, [results.arbiters[0].policy.revision]);
  });

  test('approves the STEP_UP of a pass_or_step_up step and reports its outcome, and only there', () => {
    const steps = (pair: string, label: string) =>
      results.pairs.find((p: any) => p.pair === pair).sessions.find((s: any) => s.label === label).steps;
    const publish = steps('fixtureco-notes-export', 'benign')[1];
    assert.equal(publish.decision, 'STEP_UP');
    assert.equal(publish.approval.result, 'approved');
    assert.deepEqual(publish.outcome, { status: 200 });
    // A STEP_UP the corpus expects to pass outright is a miss: nobody approves it, nothing runs.
    const unexpected = steps('fixtureco-notes-summary', 'benign')[1];
    assert.equal(unexpected.decision, 'STEP_UP');
    assert.equal(unexpected.approval, undefined);
    assert.equal(unexpected.outcome, undefined);
    // Allowed steps with an outcome report it; a denied one does not.
    assert.deepEqual(steps('fixtureco-notes-export', 'attack')[0].outcome, { status: 200 });
    assert.equal(steps('fixtureco-notes-export', 'attack')[1].decision, 'DENY');
    assert.equal(steps('fixtureco-notes-export', 'attack')[1].outcome, undefined);
  });

  test('writes a Markdown report headed by its command, policy revision and corpus counts', () => {
    const [title, , produced] = markdown.split('\n');
    assert.equal(title, '# Detection evaluation');
    assert.match(
      produced!,
      /^Produced by `node --import tsx .*eval\/run\.ts --corpus .* --json .* --markdown .*` on \d{4}-/,
    );
    assert.ok(markdown.includes(`revision \`${results.arbiters[0].policy.revision}\``));
    assert.ok(markdown.includes('2 pairs (1 tune, 1 holdout: 50%), 4 sessions (2 attack, 2 benign), 8 steps'));
    assert.ok(markdown.includes('| holdout | 1 | 0/1 (0.0%) | 0/1 (0.0%) | 0/1 (0.0%) |'));
    assert.ok(markdown.includes('| T9 side-channel leakage | tune | 0 | – | – | – |'));
    assert.ok(markdown.includes('## Misses (2)'));
    assert.ok(
      markdown.includes(
        '| fixtureco-notes-summary | holdout | fixtureco-notes-summary-attack | 0 | `notes.search` | modify | ALLOW |',
      ),
    );
    for (const section of ['## Headline', '## Targets', '## Per threat class', '## Per domain', '## Decision mix']) {
      assert.ok(markdown.includes(section), section);
    }
  });

  test('warns, without failing, when the twins use different tools', () => {
    assert.match(
      run.stderr,
      /fixtureco-notes-export\.json: the twins use different tools \(attack only: notes\.export; benign only: notes\.publish\)/,
    );
    assert.equal(results.corpus.warnings.length, 1);
    assert.match(run.stdout, /^holdout\s+0\/1 \(0\.0%\)/m);
  });
});

describe('eval/run.ts against a running Arbiter (--url)', { timeout: 300_000 }, () => {
  let arbiter: TestArbiter;
  before(async () => {
    arbiter = await startTestArbiter({
      env: { ARBITER_POLICY_DIR: `${join(ROOT, 'rego')}:${join(FIXTURE, 'companies', 'fixtureco')}` },
    });
  });
  after(() => arbiter.stop());

  test('gives the same counts, and a rerun does not collide with the first run', async () => {
    const ids: string[][] = [];
    for (const name of ['first', 'second']) {
      const out = join(work, `url-${name}.json`);
      const run = await runEval(['--corpus', FIXTURE, '--company', 'fixtureco', '--url', arbiter.url, '--json', out]);
      assert.equal(run.code, 0, run.stderr);
      const results = readJson(out);
      assertFixtureCounts(results);
      assert.equal(results.arbiters[0].mode, 'url');
      assert.equal(results.arbiters[0].policy.revision, arbiter.policy.version!.revision);
      ids.push(results.pairs.flatMap((p: any) => p.sessions.map((s: any) => s.run_session_id)));
    }
    assert.equal(new Set([...ids[0]!, ...ids[1]!]).size, 8);
    const opened = await arbiter.get(`/v1/sessions/${ids[1]![0]}`);
    assert.equal(opened.status, 200);
    assert.equal(opened.body.intent, 'Read the Q3 planning note and publish a summary of it to the team wiki');
  });

  test('--url needs exactly one --company', async () => {
    const run = await runEval(['--corpus', FIXTURE, '--url', arbiter.url]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--url replays exactly one --company/);
  });
});

describe('eval/run.ts refuses what it cannot measure', { timeout: 300_000 }, () => {
  /** A copy of the fixture corpus under a new root, with edits. */
  function corpusCopy(name: string): string {
    const root = join(work, name);
    cpSync(FIXTURE, root, { recursive: true });
    return root;
  }
  const fixturePair = (file: string) => readJson(join(PAIRS, file));
  const writePair = (root: string, file: string, doc: unknown) =>
    writeFileSync(join(root, 'sessions', 'fixtureco', file), JSON.stringify(doc, null, 2));

  test('a malformed corpus: every problem, naming its file and path, and exit status 1', async () => {
    const root = corpusCopy('malformed');
    const schemaBroken = fixturePair('fixtureco-notes-export.json');
    schemaBroken.sessions[0].steps[1].expect = 'stop';
    schemaBroken.sessions[1].steps[0].outcome.colour = 'red';
    writePair(root, 'fixtureco-notes-export.json', schemaBroken);
    const renamed = fixturePair('fixtureco-notes-summary.json');
    writePair(root, 'fixtureco-other-name.json', renamed);
    const inverted = fixturePair('fixtureco-notes-summary.json');
    inverted.pair = 'fixtureco-inverted';
    inverted.sessions[0].id = 'fixtureco-inverted-attack';
    inverted.sessions[1].id = 'fixtureco-inverted-benign';
    inverted.sessions[0].steps[0].expect = 'pass';
    inverted.sessions[1].steps[0].expect = 'block';
    writePair(root, 'fixtureco-inverted.json', inverted);
    writeFileSync(join(root, 'sessions', 'fixtureco', 'fixtureco-broken.json'), '{"pair": ');
    const out = join(work, 'malformed.json');

    const run = await runEval(['--corpus', root, '--json', out]);
    assert.equal(run.code, 1, run.stderr);
    const file = (name: string) => `fixtureco/${name}.json`;
    for (const expected of [
      `${file('fixtureco-notes-export')}: /sessions/0/steps/1/expect: must be equal to one of the allowed values`,
      `${file('fixtureco-notes-export')}: /sessions/1/steps/0/outcome: must NOT have additional properties (colour)`,
      `${file('fixtureco-other-name')}: /pair: "fixtureco-notes-summary" is not the file name "fixtureco-other-name"`,
      `${file('fixtureco-other-name')}: /sessions/0/id: "fixtureco-notes-summary-attack" is also used in`,
      `${file('fixtureco-inverted')}: /sessions/0: the attack session has no block or modify step`,
      `${file('fixtureco-inverted')}: /sessions/1/steps/0/expect: a benign session has no block or modify step`,
      `${file('fixtureco-broken')}: not valid JSON`,
    ]) {
      assert.ok(run.stderr.includes(expected), `stderr names: ${expected}\n${run.stderr}`);
    }
    assert.throws(() => readFileSync(out), /ENOENT/, 'nothing is measured on a malformed corpus');
  });

  test('a company without a catalog is malformed', async () => {
    const root = corpusCopy('no-catalog');
    mkdirSync(join(root, 'sessions', 'ghostco'));
    const pair = fixturePair('fixtureco-notes-export.json');
    pair.pair = 'ghostco-pair';
    pair.company = 'ghostco';
    pair.sessions[0].id = 'ghostco-pair-attack';
    pair.sessions[1].id = 'ghostco-pair-benign';
    writeFileSync(join(root, 'sessions', 'ghostco', 'ghostco-pair.json'), JSON.stringify(pair));
    const run = await runEval(['--corpus', root]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /companies\/ghostco\/data\.json: missing \(the catalog of company ghostco\)/);
  });

  test('an Arbiter whose policy does not build: exit status 2 and the build error', async () => {
    const root = corpusCopy('broken-policy');
    writeFileSync(
      join(root, 'companies', 'fixtureco', 'broken.rego'),
      'package aarm.rules.broken\n\nfindings contains {\n',
    );
    const out = join(work, 'broken-policy.json');
    const run = await runEval(['--corpus', root, '--json', out]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /Arbiter for company fixtureco did not start: the policy did not build: [\s\S]*broken\.rego/,
    );
    assert.throws(() => readFileSync(out), /ENOENT/);
  });
});
