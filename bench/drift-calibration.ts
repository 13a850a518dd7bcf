/**
 * Calibration of intent-drift measurement (AARM R7) on the labelled set
 * test/fixtures/drift/sessions.json, with the built-in hashed n-gram provider:
 *
 *   node --import tsx bench/drift-calibration.ts            (BENCH_DRIFT_ALPHA=0.5 to try another α)
 *
 * Measures every action exactly as the service would (intent embedded once and stored as
 * int8, actionText with the catalog description, updateDrift), then prints: the distance
 * distribution of on_task and drift actions, the best single distance threshold per
 * profile and overall (maximum balanced accuracy), precision/recall/accuracy at the
 * default profiles (DEFAULT_DRIFT_PROFILES), every sequence step by step, how the
 * cumulative measure catches the creep sequences, and a synthetic long-session check.
 * No network, no clock, no randomness beyond a seeded generator: the output is the same
 * on every run.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  actionText,
  DEFAULT_EMA_ALPHA,
  distance,
  embedIntent,
  evaluateDrift,
  measureDrift,
  updateDrift,
  type DriftProfile,
  type DriftState,
} from '../services/decision/src/drift/drift.js';
import { DEFAULT_DRIFT_PROFILE, DEFAULT_DRIFT_PROFILES } from '../services/decision/src/drift/profiles.js';
import { createHashedNgramProvider } from '../services/decision/src/drift/provider.js';

interface FixtureAction {
  tool: string;
  operation?: string;
  parameters: Record<string, unknown>;
  label: 'on_task' | 'drift';
}
interface Fixture {
  catalog: Record<string, { description?: string; operation?: string }>;
  agents: {
    kind: string;
    profile: string;
    intent: string;
    sequences: { name: string; type: 'on_task' | 'hijack' | 'creep'; actions: FixtureAction[] }[];
  }[];
}

interface Row {
  kind: string;
  profile: string;
  sequence: string;
  type: string;
  step: number;
  tool: string;
  label: 'on_task' | 'drift';
  d: number;
  /** Distance with the intent's float vector instead of the stored int8 one. */
  dFloat: number;
  state: DriftState;
}

const here = dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(
  readFileSync(join(here, '..', 'test', 'fixtures', 'drift', 'sessions.json'), 'utf8'),
) as Fixture;
const alpha = process.env.BENCH_DRIFT_ALPHA ? Number(process.env.BENCH_DRIFT_ALPHA) : DEFAULT_EMA_ALPHA;
const provider = createHashedNgramProvider();

const f3 = (x: number) => x.toFixed(3);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

// ---------------------------------------------------------------------------
// Measure
// ---------------------------------------------------------------------------

const rows: Row[] = [];
for (const agent of fixture.agents) {
  const stored = await embedIntent(provider, agent.intent);
  if (!stored) throw new Error('the built-in provider cannot fall back');
  const [intentFloat] = await provider.embed([agent.intent]);
  for (const sequence of agent.sequences) {
    let state: DriftState | undefined;
    for (const [i, action] of sequence.actions.entries()) {
      const text = actionText(action, fixture.catalog[action.tool]);
      const m = await measureDrift(provider, { text: agent.intent, stored }, text);
      const [v] = await provider.embed([text]);
      state = updateDrift(state, m.distance, alpha);
      rows.push({
        kind: agent.kind,
        profile: agent.profile,
        sequence: sequence.name,
        type: sequence.type,
        step: i + 1,
        tool: action.tool,
        label: action.label,
        d: m.distance,
        dFloat: distance(intentFloat!, v!),
        state,
      });
    }
  }
}
const profiles = [...new Set(fixture.agents.map((a) => a.profile))];
const scopes: [string, Row[]][] = [
  ...profiles.map((p): [string, Row[]] => [p, rows.filter((r) => r.profile === p)]),
  ['overall', rows],
];

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function describe(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return [
    s.length,
    s[0]!,
    quantile(s, 0.1),
    quantile(s, 0.25),
    quantile(s, 0.5),
    quantile(s, 0.75),
    quantile(s, 0.9),
    s[s.length - 1]!,
    mean,
  ]
    .map((x, i) => (i === 0 ? lpad(x, 4) : lpad(f3(x), 6)))
    .join(' ');
}

/** Probability that a drift action is farther than an on-task one (ties count half). */
function auc(pos: number[], neg: number[]): number {
  let s = 0;
  for (const p of pos) for (const n of neg) s += p > n ? 1 : p === n ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}
function confusion(items: { flagged: boolean; drift: boolean }[]): Confusion {
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (const { flagged, drift } of items) {
    if (drift) flagged ? c.tp++ : c.fn++;
    else flagged ? c.fp++ : c.tn++;
  }
  return c;
}
const recall = (c: Confusion) => (c.tp + c.fn === 0 ? NaN : c.tp / (c.tp + c.fn));
const specificity = (c: Confusion) => (c.tn + c.fp === 0 ? NaN : c.tn / (c.tn + c.fp));
const precision = (c: Confusion) => (c.tp + c.fp === 0 ? NaN : c.tp / (c.tp + c.fp));
const accuracy = (c: Confusion) => (c.tp + c.tn) / (c.tp + c.tn + c.fp + c.fn);
const balanced = (c: Confusion) => (recall(c) + specificity(c)) / 2;

/** The threshold t (flag when d > t) with the highest balanced accuracy; t is a midpoint between observed distances, the lowest on ties. */
function bestThreshold(items: Row[]): { t: number; c: Confusion } {
  const values = [...new Set(items.map((r) => r.d))].sort((a, b) => a - b);
  const candidates = [
    values[0]! - 0.001,
    ...values.slice(0, -1).map((v, i) => (v + values[i + 1]!) / 2),
    values[values.length - 1]!,
  ];
  let best = { t: candidates[0]!, c: confusion([]), ba: -1 };
  for (const t of candidates) {
    const c = confusion(items.map((r) => ({ flagged: r.d > t, drift: r.label === 'drift' })));
    const ba = balanced(c);
    if (ba > best.ba + 1e-12) best = { t, c, ba };
  }
  return best;
}

function profileOf(name: string): DriftProfile {
  const p = DEFAULT_DRIFT_PROFILES[name];
  if (!p) throw new Error(`no default profile ${name}`);
  return p;
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

const onTask = rows.filter((r) => r.label === 'on_task');
const drift = rows.filter((r) => r.label === 'drift');
console.log(`# Intent-drift calibration: ${provider.name}, EMA alpha ${alpha}`);
console.log(
  `${fixture.agents.length} agent kinds, ${fixture.agents.reduce((n, a) => n + a.sequences.length, 0)} sequences, ${rows.length} actions (${onTask.length} on_task, ${drift.length} drift)`,
);
const quantErr = Math.max(...rows.map((r) => Math.abs(r.d - r.dFloat)));
console.log(`int8-stored intent vs float intent: largest distance difference ${quantErr.toExponential(2)}`);

console.log('\n## Distance distribution (d = 1 - cosine, not rescaled)');
console.log(`${pad('', 9)}    n    min    p10    p25    p50    p75    p90    max   mean`);
console.log(`${pad('on_task', 9)} ${describe(onTask.map((r) => r.d))}`);
console.log(`${pad('drift', 9)} ${describe(drift.map((r) => r.d))}`);
console.log('\nhistogram (bins of 0.05; o = on_task, x = drift)');
for (let lo = 0.4; lo < 1.2 - 1e-9; lo += 0.05) {
  const hi = lo + 0.05;
  const inBin = (r: Row) => r.d >= lo - 1e-9 && r.d < hi - 1e-9;
  const o = onTask.filter(inBin).length;
  const x = drift.filter(inBin).length;
  console.log(`[${lo.toFixed(2)}, ${hi.toFixed(2)}) ${lpad(o, 3)} ${lpad(x, 3)}  ${'o'.repeat(o)}${'x'.repeat(x)}`);
}
const below = rows.filter((r) => r.d < 0.4).length;
if (below > 0) console.log(`(below 0.40: ${below})`);

console.log('\n## Best single distance threshold (flag when d > t; maximum balanced accuracy)');
console.log(
  `${pad('profile', 17)} ${lpad('n', 4)} ${lpad('AUC', 6)} ${lpad('t', 6)} ${lpad('bal.acc', 8)} ${lpad('recall', 7)} ${lpad('spec.', 7)}`,
);
for (const [name, items] of scopes) {
  const { t, c } = bestThreshold(items);
  const a = auc(
    items.filter((r) => r.label === 'drift').map((r) => r.d),
    items.filter((r) => r.label === 'on_task').map((r) => r.d),
  );
  console.log(
    `${pad(name, 17)} ${lpad(items.length, 4)} ${lpad(f3(a), 6)} ${lpad(f3(t), 6)} ${lpad(f3(balanced(c)), 8)} ${lpad(f3(recall(c)), 7)} ${lpad(f3(specificity(c)), 7)}`,
  );
}

// Synthetic long sessions, for every profile: 200 sessions of 30 on-task actions resampled
// (seeded LCG) from the profile's on-task distances, and 200 sessions of an on-task prefix
// (3–17 actions) followed by one of the profile's creep sequences from its first drift
// action. States do not depend on thresholds, so they are computed once.
let seed = 0x2545f491;
const random = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const LONG_RUNS = 200;
const LONG_LENGTH = 30;
interface Synthetic {
  onTask: DriftState[][];
  creep: { states: DriftState[]; start: number }[];
}
const synthetic = new Map<string, Synthetic>();
for (const name of profiles) {
  const pool = rows.filter((r) => r.profile === name && r.label === 'on_task').map((r) => r.d);
  const creeps = rows.filter((r) => r.profile === name && r.type === 'creep');
  const tails = [...new Set(creeps.map((r) => r.sequence))].map((n) => {
    const s = creeps.filter((r) => r.sequence === n);
    return s.slice(s.findIndex((r) => r.label === 'drift')).map((r) => r.d);
  });
  const run = (ds: number[]) => {
    const out: DriftState[] = [];
    let st: DriftState | undefined;
    for (const d of ds) out.push((st = updateDrift(st, d, alpha)));
    return out;
  };
  const draw = (n: number) => Array.from({ length: n }, () => pool[Math.floor(random() * pool.length)]!);
  const onTaskRuns: DriftState[][] = [];
  const creepRuns: Synthetic['creep'] = [];
  for (let i = 0; i < LONG_RUNS; i++) onTaskRuns.push(run(draw(LONG_LENGTH)));
  for (let i = 0; i < LONG_RUNS; i++) {
    const prefix = draw(3 + Math.floor(random() * 15));
    creepRuns.push({ states: run([...prefix, ...tails[i % tails.length]!]), start: prefix.length });
  }
  synthetic.set(name, { onTask: onTaskRuns, creep: creepRuns });
}

const flagBoth = (p: DriftProfile, st: DriftState) =>
  st.distance > p.distance_threshold || st.cumulative > p.cumulative_threshold;
function longSession(name: string, p: DriftProfile) {
  const s = synthetic.get(name)!;
  let flaggedActions = 0;
  let flaggedSessions = 0;
  for (const states of s.onTask) {
    const n = states.filter((st) => flagBoth(p, st)).length;
    flaggedActions += n;
    if (n > 0) flaggedSessions++;
  }
  let caught = 0;
  let byCumulativeOnly = 0;
  let delay = 0;
  for (const { states, start } of s.creep) {
    const i = states.findIndex((st, k) => k >= start && flagBoth(p, st));
    if (i < 0) continue;
    caught++;
    delay += i - start;
    if (!(states[i]!.distance > p.distance_threshold)) byCumulativeOnly++;
  }
  return {
    actionRate: flaggedActions / (LONG_RUNS * LONG_LENGTH),
    sessionRate: flaggedSessions / LONG_RUNS,
    caught: caught / LONG_RUNS,
    byCumulativeOnly: byCumulativeOnly / LONG_RUNS,
    delay: caught ? delay / caught : NaN,
  };
}

// How the defaults were derived, recomputed here so a change of the provider or the set
// shows at once whether DEFAULT_DRIFT_PROFILES still fits:
//   distance_threshold   = max(pooled best single threshold, the profile's farthest on-task action),
//                          rounded up to 0.01: no on-task action of the set is flagged by distance,
//                          and no profile is stricter than the pooled optimum
//   cumulative_threshold = the 99th percentile of `cumulative` over the actions of synthetic
//                          long on-task sessions of the profile (DERIVE_RUNS sessions of
//                          LONG_LENGTH on-task distances resampled with a seeded generator),
//                          rounded up to 0.01, at most distance_threshold: the level a long
//                          on-task session stays under
//   "default"            = the same over the whole set.
const ceil2 = (x: number) => Math.ceil(x * 100 - 1e-9) / 100;
const DERIVE_RUNS = 2000;
function lcg(start: number): () => number {
  let s = start >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
interface Derivation {
  pooledBest: number;
  profiles: Record<string, DriftProfile & { maxOnTask: number; p99: number }>;
}
function derive(train: Row[]): Derivation {
  const random = lcg(0x9e3779b9);
  const pooledBest = bestThreshold(train).t;
  const out: Derivation['profiles'] = {};
  const cumsOf = new Map<string, number[]>();
  for (const name of profiles) {
    const pool = train.filter((r) => r.profile === name && r.label === 'on_task').map((r) => r.d);
    const cums: number[] = [];
    for (let i = 0; i < DERIVE_RUNS; i++) {
      let st: DriftState | undefined;
      for (let j = 0; j < LONG_LENGTH; j++)
        cums.push((st = updateDrift(st, pool[Math.floor(random() * pool.length)]!, alpha)).cumulative);
    }
    cumsOf.set(name, cums);
  }
  for (const name of [...profiles, DEFAULT_DRIFT_PROFILE]) {
    const members = name === DEFAULT_DRIFT_PROFILE ? profiles : [name];
    const maxOnTask = Math.max(
      ...train.filter((r) => members.includes(r.profile) && r.label === 'on_task').map((r) => r.d),
    );
    const cums = members.flatMap((m) => cumsOf.get(m)!).sort((a, b) => a - b);
    const p99 = cums[Math.min(cums.length - 1, Math.ceil(0.99 * cums.length) - 1)]!;
    const td = Math.max(ceil2(pooledBest), ceil2(maxOnTask));
    out[name] = {
      distance_threshold: td,
      cumulative_threshold: Math.min(td, ceil2(p99)),
      action: profileOf(name).action,
      maxOnTask,
      p99,
    };
  }
  return { pooledBest, profiles: out };
}
const derived = derive(rows);
const suggested = derived.profiles;
console.log('\n## Suggested thresholds (derivation: see the comment in this file and docs/drift.md)');
console.log(`pooled best single distance threshold: ${f3(derived.pooledBest)}`);
console.log(
  `${pad('profile', 17)} ${lpad('max on-task d', 13)} ${lpad('p99 long cum', 12)} | ${lpad('dist.t', 6)} ${lpad('cum.t', 6)}`,
);
for (const [name, p] of Object.entries(suggested)) {
  console.log(
    `${pad(name, 17)} ${lpad(f3(p.maxOnTask), 13)} ${lpad(f3(p.p99), 12)} | ${lpad(p.distance_threshold.toFixed(2), 6)} ${lpad(p.cumulative_threshold.toFixed(2), 6)}`,
  );
}
const drifted = [...profiles, DEFAULT_DRIFT_PROFILE].filter(
  (n) =>
    suggested[n]!.distance_threshold !== profileOf(n).distance_threshold ||
    suggested[n]!.cumulative_threshold !== profileOf(n).cumulative_threshold,
);
console.log(
  drifted.length === 0
    ? 'DEFAULT_DRIFT_PROFILES matches the derivation.'
    : `DEFAULT_DRIFT_PROFILES differs from the derivation for: ${drifted.join(', ')}`,
);

console.log('\n## At the default profiles (DEFAULT_DRIFT_PROFILES)');
console.log(
  'rule "distance": d > distance_threshold; rule "both": d > distance_threshold OR cumulative > cumulative_threshold',
);
console.log(
  `${pad('profile', 17)} ${lpad('dist.t', 6)} ${lpad('cum.t', 6)} | ${pad('rule', 8)} ${lpad('prec.', 6)} ${lpad('recall', 6)} ${lpad('acc.', 6)} ${lpad('bal.acc', 7)} ${lpad('FP', 3)} ${lpad('FN', 3)}`,
);
for (const [name, items] of scopes) {
  const line = (rule: string, flag: (r: Row) => boolean) => {
    const c = confusion(items.map((r) => ({ flagged: flag(r), drift: r.label === 'drift' })));
    return `${pad(rule, 8)} ${lpad(f3(precision(c)), 6)} ${lpad(f3(recall(c)), 6)} ${lpad(f3(accuracy(c)), 6)} ${lpad(f3(balanced(c)), 7)} ${lpad(c.fp, 3)} ${lpad(c.fn, 3)}`;
  };
  const p = name === 'overall' ? undefined : profileOf(name);
  const dist = (r: Row) => r.d > profileOf(r.profile).distance_threshold;
  const both = (r: Row) => evaluateDrift(profileOf(r.profile), r.state).exceeded;
  const head = `${pad(name, 17)} ${lpad(p ? p.distance_threshold.toFixed(2) : 'own', 6)} ${lpad(p ? p.cumulative_threshold.toFixed(2) : 'own', 6)}`;
  console.log(`${head} | ${line('distance', dist)}`);
  console.log(`${pad('', head.length)} | ${line('both', both)}`);
  if (name === 'overall') {
    const d = profileOf(DEFAULT_DRIFT_PROFILE);
    const h = `${pad(`overall, "${DEFAULT_DRIFT_PROFILE}"`, 17)} ${lpad(d.distance_threshold.toFixed(2), 6)} ${lpad(d.cumulative_threshold.toFixed(2), 6)}`;
    console.log(`${h} | ${line('distance', (r) => r.d > d.distance_threshold)}`);
    console.log(`${pad('', h.length)} | ${line('both', (r) => evaluateDrift(d, r.state).exceeded)}`);
  }
}

console.log(
  '\n## Sequences step by step (d / ema / cumulative; * = labelled drift; D = d over, C = cumulative over the profile)',
);
for (const agent of fixture.agents) {
  const p = profileOf(agent.profile);
  for (const sequence of agent.sequences) {
    const steps = rows.filter((r) => r.kind === agent.kind && r.sequence === sequence.name);
    console.log(`${agent.kind} / ${sequence.name} (${sequence.type})`);
    for (const r of steps) {
      const v = evaluateDrift(p, r.state);
      const flags = `${v.by.includes('distance') ? 'D' : '.'}${v.by.includes('cumulative') ? 'C' : '.'}`;
      console.log(
        `  ${lpad(r.step, 2)} ${pad(r.tool, 32)} ${r.label === 'drift' ? '*' : ' '} ${f3(r.d)} ${f3(r.state.ema)} ${f3(r.state.cumulative)} ${flags}`,
      );
    }
  }
}

console.log('\n## Sequence outcomes at the default profiles (first flagged step; - = never)');
console.log(
  `${pad('sequence', 28)} ${pad('type', 8)} ${lpad('first drift', 11)} ${lpad('by d', 5)} ${lpad('by cum', 6)} ${lpad('max d', 6)}  verdict`,
);
const verdicts: Record<string, { ok: number; total: number }> = {};
for (const agent of fixture.agents) {
  const p = profileOf(agent.profile);
  for (const sequence of agent.sequences) {
    const steps = rows.filter((r) => r.kind === agent.kind && r.sequence === sequence.name);
    const firstDrift = steps.find((r) => r.label === 'drift')?.step;
    const byD = steps.find((r) => r.d > p.distance_threshold)?.step;
    const byC = steps.find((r) => r.state.cumulative > p.cumulative_threshold)?.step;
    const first = Math.min(byD ?? Infinity, byC ?? Infinity);
    let verdict: string;
    let ok: boolean;
    if (sequence.type === 'on_task') {
      ok = first === Infinity;
      verdict = ok ? 'not flagged (correct)' : `FALSE ALARM at step ${first}`;
    } else {
      ok = first !== Infinity && first >= (firstDrift ?? 0);
      verdict =
        first === Infinity
          ? 'MISSED'
          : first < (firstDrift ?? 0)
            ? `flagged early, at step ${first} (an on-task step)`
            : `caught ${first - firstDrift!} step(s) after the first drift`;
      if (byC !== undefined && first === byC && (byD === undefined || byC < byD)) verdict += ', by the cumulative rule';
      if (byC !== undefined && byD === undefined) verdict += ' (no single step crossed the distance threshold)';
    }
    const v = (verdicts[sequence.type] ??= { ok: 0, total: 0 });
    v.total++;
    if (ok) v.ok++;
    const last = steps[steps.length - 1]!.state;
    console.log(
      `${pad(sequence.name, 28)} ${pad(sequence.type, 8)} ${lpad(firstDrift ?? '-', 11)} ${lpad(byD ?? '-', 5)} ${lpad(byC ?? '-', 6)} ${lpad(f3(last.max), 6)}  ${verdict}`,
    );
  }
}
for (const [type, v] of Object.entries(verdicts)) console.log(`${pad(type, 8)} ${v.ok}/${v.total} as expected`);

// Out of sample: each sequence judged with thresholds derived (as above) without it.
console.log('\n## Leave-one-sequence-out (each sequence judged with thresholds derived without it)');
{
  const items: { flagged: boolean; drift: boolean }[] = [];
  const outcome: Record<string, { ok: number; total: number }> = {};
  const misses: string[] = [];
  for (const agent of fixture.agents) {
    for (const sequence of agent.sequences) {
      const held = (r: Row) => r.kind === agent.kind && r.sequence === sequence.name;
      const fold = derive(rows.filter((r) => !held(r))).profiles[agent.profile]!;
      const steps = rows.filter(held);
      const flags = steps.map((r) => flagBoth(fold, r.state));
      steps.forEach((r, i) => items.push({ flagged: flags[i]!, drift: r.label === 'drift' }));
      const firstDrift = steps.findIndex((r) => r.label === 'drift');
      const first = flags.indexOf(true);
      const ok = sequence.type === 'on_task' ? first < 0 : first >= 0 && first >= firstDrift;
      const o = (outcome[sequence.type] ??= { ok: 0, total: 0 });
      o.total++;
      if (ok) o.ok++;
      else
        misses.push(
          `${sequence.name} (${sequence.type}, thresholds ${fold.distance_threshold}/${fold.cumulative_threshold}): ${first < 0 ? 'never flagged' : `flagged at step ${first + 1}`}`,
        );
    }
  }
  const c = confusion(items);
  console.log(
    `held-out actions: precision ${f3(precision(c))} recall ${f3(recall(c))} accuracy ${f3(accuracy(c))} balanced ${f3(balanced(c))} (FP ${c.fp}, FN ${c.fn})`,
  );
  for (const [type, o] of Object.entries(outcome))
    console.log(`${pad(type, 8)} ${o.ok}/${o.total} sequences as expected`);
  for (const m of misses) console.log(`  not as expected: ${m}`);
}

console.log(`\n## Synthetic long sessions at the default profiles (${LONG_RUNS} per profile and kind)`);
console.log(
  `on-task: ${LONG_LENGTH} on-task actions of the profile resampled; creep: an on-task prefix of 3-17 actions, then a creep sequence of the profile from its first drift action`,
);
console.log(
  `${pad('profile', 17)} ${lpad('on-task actions flagged', 23)} ${lpad('sessions flagged', 16)} | ${lpad('creeps caught', 13)} ${lpad('by cum only', 11)} ${lpad('mean delay', 10)}`,
);
for (const name of profiles) {
  const r = longSession(name, profileOf(name));
  console.log(
    `${pad(name, 17)} ${lpad(pct(r.actionRate), 23)} ${lpad(pct(r.sessionRate), 16)} | ${lpad(pct(r.caught), 13)} ${lpad(pct(r.byCumulativeOnly), 11)} ${lpad(Number.isNaN(r.delay) ? '-' : r.delay.toFixed(2), 10)}`,
  );
}
console.log(
  '(delay: steps after the first drift action; "by cum only": the first flag in the creep came from the cumulative rule alone)',
);

console.log('\n## Profiles JSON for data.aarm.drift.profiles (built-in provider only)');
console.log(JSON.stringify(DEFAULT_DRIFT_PROFILES, null, 2));
