/**
 * Issue 12: a tool named like a member of Object.prototype (`constructor`, `__proto__`,
 * `toString`, …) is counted in the session summary like any other tool, on both stores:
 * policy sees its true count, and the session view shows it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decideBody, startTestArbiter, uniqueSession, type StoreKind, type TestArbiter } from '../support/arbiter.js';

const TOOLS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'toJSON', 'files.read'];

/** Allows every action and says what count of its tool policy saw in the session before it. */
const COUNT_POLICY = `package aarm.rules.count_tool
import rego.v1

findings contains {
	"effect": "ALLOW",
	"policy_id": "count-tool",
	"reason": sprintf("%v", [object.get(input.context.tools_used, input.action.tool, 0)]),
}
`;

for (const store of ['memory', 'redis'] as StoreKind[]) {
  describe(`tool names on the ${store} store`, () => {
    let dir: string;
    let arbiter: TestArbiter;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'arbiter-tool-names-'));
      mkdirSync(join(dir, 'count'));
      writeFileSync(join(dir, 'count', 'count.rego'), COUNT_POLICY);
      arbiter = await startTestArbiter({ store, env: { ARBITER_POLICY_DIR: dir } });
    });
    after(async () => {
      await arbiter.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('prototype member names are counted like any other tool', async () => {
      const session = uniqueSession('proto');
      const seen = new Map<string, string[]>(TOOLS.map((tool) => [tool, []]));
      for (let round = 0; round < 2; round++) {
        for (const tool of TOOLS) {
          const res = await arbiter.post('/v1/decide', decideBody(session, tool));
          assert.equal(res.status, 200, JSON.stringify(res.body));
          seen.get(tool)!.push(res.body.reasons[0].reason);
        }
      }
      for (const tool of TOOLS) assert.deepEqual(seen.get(tool), ['0', '1'], `policy saw the count of ${tool}`);
      const view = await arbiter.get(`/v1/sessions/${session}`);
      assert.equal(view.body.context.action_count, TOOLS.length * 2);
      assert.deepEqual(Object.keys(view.body.context.tools_used).sort(), [...TOOLS].sort());
      for (const tool of TOOLS) {
        assert.ok(Object.hasOwn(view.body.context.tools_used, tool));
        assert.equal(view.body.context.tools_used[tool], 2, tool);
      }
    });
  });
}
