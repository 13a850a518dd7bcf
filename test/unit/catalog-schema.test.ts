/**
 * schemas/catalog.v1.schema.json and scripts/check-catalogs.mjs (`make lint`): the shipped
 * and test catalogues pass, and a broken one is named by file, JSON path and message.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'check-catalogs.mjs');
const run = promisify(execFile);

async function check(...files: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SCRIPT, ...files], { cwd: ROOT });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const failure = e as { code: number; stdout: string; stderr: string };
    return { code: failure.code, out: failure.stdout, err: failure.stderr };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'arbiter-catalog-schema-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, data: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof data === 'string' ? data : JSON.stringify(data));
  return path;
}

const tool = (entry: Record<string, unknown>) => ({ aarm: { catalog: { tools: { 'db.query': entry } } } });

describe('check-catalogs', () => {
  it('passes the shipped data, the eval companies and the test fixtures', async () => {
    const { code, out } = await check();
    assert.equal(code, 0, out);
    assert.match(out, /policy data files match schemas\/catalog\.v1\.schema\.json/);
  });

  it('accepts the v2 model: unions, kinds, paths, effects, org and limits', async () => {
    const good = file('good.json', {
      aarm: {
        catalog: {
          tools: {
            'drive.share': {
              operation: ['read', 'grant'],
              default_decision: 'ALLOW',
              parameters: {
                share_with: { kind: 'principal', destination: true, type: 'string', required: true },
                'attendees[].email': { kind: 'email', destination: true },
              },
              effects: [
                {
                  id: 'outside',
                  when: { destination: 'outside', session: 'untrusted' },
                  effect: 'STEP_UP',
                  approvers: ['security'],
                  reason: 'sharing outside after untrusted content needs security',
                },
                { id: 'prod', when: { fact: 'env', equals: 'prod' }, effect: 'DENY', forbidden: true, reason: 'r' },
              ],
            },
          },
        },
        org: {
          domains: ['acme.com'],
          payees: { 'p-1': { name: 'Office Ltd', account: 'DE44500105175407324931' } },
          limits: { paid_per_session: { USD: 20000 }, external_sends_per_hour: 20, approvers: ['finance'] },
        },
        config: { default_decision: 'DENY', my_own_setting: true },
        my_own_key: { anything: 1 },
      },
    });
    const { code, err } = await check(good);
    assert.equal(code, 0, err);
  });

  it('names the file, the JSON path and the problem, and exits 1', async () => {
    const bad = file(
      'bad.json',
      tool({
        operation: 'transfer',
        default_decision: 'ALLOW',
        parameters: { 'fields.iban': { kind: 'account', required: true }, to: { kind: 'mail' } },
        effects: [{ id: 'big', when: { param: 'amount', greater: 5 }, effect: 'STEP_UP', reason: 'r', patch: [] }],
      }),
    );
    const { code, err } = await check(bad);
    assert.equal(code, 1);
    const lines = err.trim().split('\n');
    const at = (path: string) => lines.filter((l) => l.includes(`: $.aarm.catalog.tools["db.query"]${path}: `));
    // Every line names the file (relative to the working directory) and a JSON path.
    assert.ok(
      lines.every((l) => l.includes('bad.json: $.aarm') || l.includes('do not match')),
      err,
    );
    assert.match(at('.operation').join(), /must be equal to one of the allowed values \("read", .*"grant", "pay"\)/);
    assert.match(at('.parameters["fields.iban"]').join(), /must NOT have additional properties \("required"\)/);
    assert.match(at('.parameters.to.kind').join(), /must be equal to one of the allowed values/);
    assert.match(at('.effects[0].when').join('\n'), /must NOT have additional properties \("greater"\)/);
    assert.match(
      at('.effects[0].when').join('\n'),
      /must have one of the properties above, at_least, .*present, as it has param/,
    );
    assert.match(at('.effects[0].effect').join(), /must be equal to constant \("MODIFY"\), as it has patch/);
  });

  it('is strict in the organisation and its limits, and reports a file that is not JSON', async () => {
    const org = file('org.json', {
      aarm: { org: { domain: ['acme.com'], limits: { paid_per_session: { USD: -1 } } } },
    });
    const broken = file('broken.json', '{"aarm": ');
    const { code, err } = await check(org, broken);
    assert.equal(code, 1);
    assert.match(err, /org\.json: \$\.aarm\.org: must NOT have additional properties \("domain"\)/);
    assert.match(err, /org\.json: \$\.aarm\.org\.limits\.paid_per_session\.USD: must be >= 0/);
    assert.match(err, /broken\.json: \$: /);
    assert.match(err, /2 of 2 policy data files do not match/);
  });
});
