import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArbiterError } from '../../services/decision/src/errors.js';
import {
  DecideRequestSchema,
  jsonDepth,
  MAX_JSON_DEPTH,
  parseBody,
} from '../../services/decision/src/intercept/envelope.js';
import { sessionTag, tagOfId } from '../../services/decision/src/context/ids.js';
import { normaliseAction } from '../../services/decision/src/intercept/normalise.js';

const TAG = sessionTag('default', 's-1');

test('a minimal request is filled with empty parameters, identity and signals', () => {
  const r = parseBody(DecideRequestSchema, { action: { tool: 'email.send' }, session: { id: 's' } });
  assert.deepEqual(r.action.parameters, {});
  assert.deepEqual(r.identity, {});
  assert.deepEqual(r.signals, {});
});

test('the 400 names the first offending field', () => {
  assert.throws(
    () => parseBody(DecideRequestSchema, { action: { tool: 7 }, session: { id: 's' } }),
    (err: unknown) => err instanceof ArbiterError && err.status === 400 && /^action\.tool: /.test(err.detail ?? ''),
  );
});

test('depth is measured without recursion, even for hostile nesting', () => {
  let deep: unknown = {};
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.ok(jsonDepth(deep) > MAX_JSON_DEPTH);
  assert.equal(jsonDepth({ a: [{ b: 1 }] }), 3);
});

test('the same parameters in another key order have the same hash', () => {
  const a = normaliseAction({ tool: 't', parameters: { x: 1, y: { b: 2, a: 1 } } }, TAG);
  const b = normaliseAction({ tool: 't', parameters: { y: { a: 1, b: 2 }, x: 1 } }, TAG);
  assert.equal(a.parametersHash, b.parametersHash);
  assert.equal(a.idFromCaller, false);
  assert.equal(tagOfId(a.id, 'act'), TAG, 'a generated id names its session');
});
