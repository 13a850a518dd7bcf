import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArbiterError } from '../../services/decision/src/errors.js';
import {
  DecideRequestSchema,
  jsonDepth,
  MAX_JSON_ARRAY_LENGTH,
  MAX_JSON_DEPTH,
  MAX_JSON_OBJECT_KEYS,
  MAX_JSON_STRING_LENGTH,
  overJsonCap,
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

test('parameters and signals past a per-member cap are a 400 naming the path', () => {
  const decide = (parameters: unknown, signals: unknown = {}) =>
    parseBody(DecideRequestSchema, { action: { tool: 'email.send', parameters }, session: { id: 's' }, signals });
  const refused = (parameters: unknown, signals: unknown, detail: string) =>
    assert.throws(
      () => decide(parameters, signals),
      (err: unknown) => err instanceof ArbiterError && err.status === 400 && err.detail === detail,
    );
  const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

  refused(
    { to: Array(MAX_JSON_ARRAY_LENGTH + 1).fill('a@example.com') },
    {},
    `action.parameters.to: the array has more than ${MAX_JSON_ARRAY_LENGTH} elements`,
  );
  refused(
    { list: [{ body: 'x'.repeat(MAX_JSON_STRING_LENGTH + 1) }] },
    {},
    `action.parameters.list.0.body: the string is longer than ${MAX_JSON_STRING_LENGTH} characters`,
  );
  refused(
    keys(MAX_JSON_OBJECT_KEYS + 1),
    {},
    `action.parameters: the object has more than ${MAX_JSON_OBJECT_KEYS} keys`,
  );
  refused(
    {},
    { nested: { scores: Array(MAX_JSON_ARRAY_LENGTH + 1).fill(0) } },
    `signals.nested.scores: the array has more than ${MAX_JSON_ARRAY_LENGTH} elements`,
  );

  // Exactly at each cap is accepted, and kept whole.
  const atCaps = {
    to: Array(MAX_JSON_ARRAY_LENGTH).fill('a@example.com'),
    body: 'x'.repeat(MAX_JSON_STRING_LENGTH),
    meta: keys(MAX_JSON_OBJECT_KEYS),
  };
  assert.deepEqual(decide(atCaps).action.parameters, atCaps);
});

test('the cap walk is iterative and stops at the first member past a cap', () => {
  let deep: unknown = Array(MAX_JSON_ARRAY_LENGTH + 1).fill(0);
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(overJsonCap(deep)?.path.length, 100_000);
  assert.equal(overJsonCap({ a: [{ b: 'short' }], c: Array(MAX_JSON_ARRAY_LENGTH).fill(null) }), undefined);
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
