/**
 * Policy data layering: the merge rule (objects key by key, arrays and scalars replaced,
 * null removes), the order of the layers, where a file's data lands, the copy of the core
 * library left out, and load errors that name the file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { layerData, MAX_POLICY_BYTES, mergeData, snapshotSources } from '../../services/decision/src/policy/sources.js';

const scratch = mkdtempSync(join(tmpdir(), 'arbiter-policy-data-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let folders = 0;
/** A folder with the given files (path → content). */
function folder(files: Record<string, string>): string {
  const dir = join(scratch, `f${folders++}`);
  mkdirSync(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const json = (value: unknown) => JSON.stringify(value);
const layered = (core: string, dirs: string[]) => layerData(snapshotSources(core, dirs));

describe('mergeData', () => {
  test('objects merge key by key, recursively', () => {
    assert.deepEqual(mergeData({ a: { b: 1, c: 2 }, d: 3 }, { a: { c: 20, e: 5 } }), {
      a: { b: 1, c: 20, e: 5 },
      d: 3,
    });
  });

  test('arrays and scalars are replaced, not merged', () => {
    assert.deepEqual(mergeData({ domains: ['a.com', 'b.com'], n: 1 }, { domains: ['c.com'], n: 'two' }), {
      domains: ['c.com'],
      n: 'two',
    });
    assert.deepEqual(mergeData({ x: { deep: 1 } }, { x: [1] }), { x: [1] });
    assert.deepEqual(mergeData({ x: 7 }, { x: { deep: 1 } }), { x: { deep: 1 } });
  });

  test('null removes a key; nulls inside a new object are dropped, inside an array kept', () => {
    assert.deepEqual(mergeData({ a: 1, b: { c: 2, d: 3 } }, { a: null, b: { c: null } }), { b: { d: 3 } });
    assert.deepEqual(mergeData({}, { missing: null, fresh: { gone: null, kept: 1 }, list: [null] }), {
      fresh: { kept: 1 },
      list: [null],
    });
  });

  test('a repeated value is no conflict', () => {
    assert.deepEqual(mergeData({ a: { b: ['x'] } }, { a: { b: ['x'] } }), { a: { b: ['x'] } });
  });

  test('neither input is changed, and a key named __proto__ stays a key', () => {
    const base = { a: { b: 1 } };
    const layer = JSON.parse('{"a": {"c": 2}, "__proto__": {"polluted": true}}');
    const merged = mergeData(base, layer) as Record<string, unknown>;
    assert.deepEqual(base, { a: { b: 1 } });
    assert.deepEqual(JSON.parse(JSON.stringify(layer)), { a: { c: 2 }, ['__proto__']: { polluted: true } });
    assert.equal(Object.getPrototypeOf(merged), Object.prototype);
    assert.equal(JSON.stringify(merged), '{"a":{"b":1,"c":2},"__proto__":{"polluted":true}}');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('layerData', () => {
  test('the core library first, then each policy folder in order; later layers win', () => {
    const core = folder({ 'data.json': json({ config: { default_decision: 'DENY', step_up_timeout_s: 3600 } }) });
    const shipped = folder({
      'data.json': json({ aarm: { egress: { allowed_domains: ['example.com'] }, org: { domains: ['example.com'] } } }),
    });
    const catalog = folder({ 'data.yaml': 'aarm:\n  egress:\n    allowed_domains: [corp.example]\n' });
    const overrides = folder({ 'data.yml': 'aarm:\n  config:\n    step_up_timeout_s: 600\n  org: null\n' });
    assert.deepEqual(layered(core, [shipped, catalog, overrides]), {
      aarm: {
        // The core library's data sits under aarm, where its package is.
        config: { default_decision: 'DENY', step_up_timeout_s: 600 },
        egress: { allowed_domains: ['corp.example'] },
      },
    });
    // The other order: the shipped value wins over the catalog.
    assert.deepEqual((layered(core, [catalog, shipped]) as any).aarm.egress.allowed_domains, ['example.com']);
  });

  test('two folders that repeat a key with the same value layer without a clash', () => {
    const core = folder({});
    const a = folder({ 'data.json': json({ aarm: { egress: { allowed_domains: ['example.com'] } } }) });
    const b = folder({ 'data.json': json({ aarm: { egress: { allowed_domains: ['example.com'] } } }) });
    assert.deepEqual(layered(core, [a, b]), { aarm: { egress: { allowed_domains: ['example.com'] } } });
  });

  test('a file at x/y/data.json sits at data path x.y; within a folder, files layer in path order', () => {
    const core = folder({});
    const dir = folder({
      'aarm/catalog/data.json': json({ tools: { 'mail.send': { default_decision: 'ALLOW', operation: 'send' } } }),
      'aarm/catalog/data.yaml': 'tools:\n  mail.send:\n    default_decision: STEP_UP\n',
      'data.json': json({ aarm: { catalog: { tools: { 'mail.send': { egress: true, default_decision: 'DENY' } } } } }),
    });
    // aarm/catalog/data.json < aarm/catalog/data.yaml < data.json
    assert.deepEqual(layered(core, [dir]), {
      aarm: { catalog: { tools: { 'mail.send': { default_decision: 'DENY', operation: 'send', egress: true } } } },
    });
  });

  test('files with other names are not read as data', () => {
    const core = folder({});
    const dir = folder({ 'other.json': '{not json', 'data.json': json({ a: 1 }) });
    assert.deepEqual(layered(core, [dir]), { a: 1 });
  });

  test('a data file that is not valid JSON is named with its position', () => {
    const core = folder({});
    const dir = folder({
      'ok/data.json': json({ a: 1 }),
      'catalog/data.json': '{\n  "tools": {\n    "x": 1,\n  }\n}\n',
    });
    assert.throws(
      () => layered(core, [dir]),
      (err: Error) => {
        assert.match(err.message, new RegExp(`^${dir}/catalog/data\\.json:4:3: not valid JSON`));
        return true;
      },
    );
  });

  test('a data file that is not valid YAML is named with its position', () => {
    const core = folder({});
    const dir = folder({ 'data.yaml': 'aarm:\n  egress: 1\n  egress: 2\n' });
    assert.throws(
      () => layered(core, [dir]),
      new RegExp(`${dir}/data\\.yaml:3:3: not valid YAML: Map keys must be unique`),
    );
  });

  test('a data file whose top level is not an object is named', () => {
    const core = folder({});
    for (const [name, content, what] of [
      ['data.json', '["example.com"]', 'an array'],
      ['data.yaml', '# nothing here yet\n', 'empty \\(null\\)'],
      ['data.yml', '42\n', 'a number'],
    ]) {
      const dir = folder({ [name as string]: content as string });
      assert.throws(
        () => layered(core, [dir]),
        new RegExp(`${dir}/${name}: the top level must be an object, not ${what}$`),
        name,
      );
    }
  });

  test('YAML that JSON cannot hold is refused, naming the key', () => {
    const core = folder({});
    const dir = folder({ 'data.yaml': 'aarm:\n  limits:\n    amount: .inf\n' });
    assert.throws(
      () => layered(core, [dir]),
      new RegExp(`${dir}/data\\.yaml: aarm\\.limits\\.amount is not a finite number`),
    );
  });

  test('a policy folder that does not exist, or is a file, is named', () => {
    const core = folder({});
    const missing = join(scratch, 'no-such-folder');
    assert.throws(
      () => snapshotSources(core, [missing]),
      new RegExp(`policy folder \\(ARBITER_POLICY_DIR\\) ${missing} does not exist`),
    );
    const file = join(folder({ 'data.json': '{}' }), 'data.json');
    assert.throws(() => snapshotSources(core, [file]), new RegExp(`${file} is not a folder`));
  });

  test('the merged document is bounded like the sources (YAML aliases cannot inflate it)', () => {
    const core = folder({});
    const big = 'x'.repeat(Math.ceil(MAX_POLICY_BYTES / 90));
    const dir = folder({ 'data.yaml': `a: &big ${big}\nl:\n${'  - *big\n'.repeat(99)}` });
    assert.throws(() => layered(core, [dir]), /the merged policy data exceeds/);
  });
});

describe('a copy of the core library inside a policy folder', () => {
  const coreModule = '# METADATA\n# title: core\npackage aarm\n\nx := 1\n';
  test('its package aarm modules are left out with one warning naming the folder; the rest stays', () => {
    const core = folder({ 'decision.rego': coreModule });
    const copy = folder({
      'aarm/decision.rego': coreModule,
      'aarm/context.rego': '# package aarm.rules.fake (a comment)\npackage aarm\n',
      'aarm/decision_test.rego': 'package aarm_test\n',
      'aarm/extra.rego': 'package aarm.rules.extra\n',
      'rules/mine/mine.rego': 'package aarm.rules.mine\n',
      'data.json': json({ aarm: { egress: { allowed_domains: ['example.com'] } } }),
    });
    const snapshot = snapshotSources(core, [copy]);
    const kinds = Object.fromEntries(snapshot.roots[1]!.files.map((f) => [f.path, f.kind]));
    assert.deepEqual(kinds, {
      'aarm/context.rego': 'core-copy',
      'aarm/decision.rego': 'core-copy',
      'aarm/extra.rego': 'module',
      'data.json': 'data',
      'rules/mine/mine.rego': 'module',
    });
    assert.equal(snapshot.warnings.length, 1);
    assert.match(snapshot.warnings[0]!, new RegExp(`^policy folder ${copy} contains a copy of the core library`));
    assert.deepEqual(
      snapshot.roots[0]!.files.map((f) => [f.path, f.kind]),
      [['decision.rego', 'module']],
    );
  });

  test('a package aarm module outside aarm/ is not a copy, and a folder without one has no warning', () => {
    const core = folder({ 'decision.rego': coreModule });
    const dir = folder({ 'mine.rego': 'package aarm\n' });
    const snapshot = snapshotSources(core, [dir]);
    assert.equal(snapshot.roots[1]!.files[0]!.kind, 'module');
    assert.deepEqual(snapshot.warnings, []);
  });

  test('the hash still covers every file: a left-out copy, a data file', () => {
    const core = folder({ 'decision.rego': coreModule });
    const dir = folder({ 'aarm/decision.rego': coreModule, 'data.yaml': 'a: 1\n' });
    const before = snapshotSources(core, [dir]).hash;
    writeFileSync(join(dir, 'aarm', 'decision.rego'), `${coreModule}\ny := 2\n`);
    const afterCopy = snapshotSources(core, [dir]).hash;
    assert.notEqual(afterCopy, before);
    writeFileSync(join(dir, 'data.yaml'), 'a: 2\n');
    assert.notEqual(snapshotSources(core, [dir]).hash, afterCopy);
  });
});
