/**
 * The strict JSON reader of the edge and its in-process twin (parseBody): what each
 * refuses, the key path it names, and that odd spellings of a decision route are known
 * as that route.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyCapabilityRequest } from '../../services/decision/src/capabilities/http.js';
import { ArbiterError } from '../../services/decision/src/errors.js';
import { decisionRoute } from '../../services/decision/src/http/app.js';
import { DecideRequestSchema, MAX_JSON_DEPTH, parseBody } from '../../services/decision/src/intercept/envelope.js';
import { parseStrictJson } from '../../services/decision/src/intercept/json.js';

const refusal = (code: string, message: RegExp) => (err: unknown) =>
  err instanceof ArbiterError && err.code === code && err.status === 400 && message.test(err.detail ?? '');

test('valid JSON reads as JSON.parse reads it', () => {
  const text = '{"a":[1,-2.5e3,{"b":"\\u00e9\\ud83d\\ude00","c":null}],"d":true,"e":"\\"{[,:"}';
  assert.deepEqual(parseStrictJson(text), JSON.parse(text));
  assert.deepEqual(parseStrictJson(' [ ] '), []);
});

test('syntax errors are invalid_json', () => {
  for (const text of ['', '{', '{"a":1,}', "{'a':1}", '{"a":01}', 'NaN']) {
    assert.throws(() => parseStrictJson(text), refusal('invalid_json', /^$/), text);
  }
});

test('duplicate keys are refused at any depth, with their path, escapes decoded', () => {
  const cases: Array<[string, string]> = [
    ['{"a":1,"a":2}', 'a'],
    ['{"x":{"y":[0,{"k":1,"z":2,"k":3}]}}', 'x.y.1.k'],
    ['{"x":{"k":1},"y":{"k":1},"x":2}', 'x'],
    ['{"tool":"db.drop","\\u0074ool":"files.read"}', 'tool'],
  ];
  for (const [text, path] of cases) {
    assert.throws(
      () => parseStrictJson(text),
      refusal('invalid_request', new RegExp(`^${path.replaceAll('.', '\\.')}: the key appears more than once$`)),
      text,
    );
  }
  assert.deepEqual(parseStrictJson('[{"k":1},{"k":2}]'), [{ k: 1 }, { k: 2 }]);
});

test('prototype keys are refused: __proto__ anywhere, prototype under constructor', () => {
  assert.throws(
    () => parseStrictJson('{"a":{"__proto__":{"x":1}}}'),
    refusal('invalid_request', /^a\.__proto__: prototype keys are refused$/),
  );
  assert.throws(() => parseStrictJson('[{"__proto__":1}]'), refusal('invalid_request', /^0\.__proto__: /));
  assert.throws(
    () => parseStrictJson('{"constructor":{"prototype":{}}}'),
    refusal('invalid_request', /^constructor\.prototype: /),
  );
  assert.deepEqual(parseStrictJson('{"constructor":1,"prototype":{"constructor":2}}'), {
    constructor: 1,
    prototype: { constructor: 2 },
  });
});

test('numbers beyond the double range are refused; precision loss within it is not', () => {
  for (const n of ['1e400', '-1e400', '1E309', '2e+308', '9'.repeat(309)]) {
    assert.throws(
      () => parseStrictJson(`{"n":[${n}]}`),
      refusal('invalid_request', /^n\.0: the number is beyond the range of a double$/),
      n,
    );
  }
  assert.deepEqual(parseStrictJson('[1.7976931348623157e308,5e-324,1e-400,9007199254740993]'), [
    Number.MAX_VALUE,
    5e-324,
    0,
    9007199254740992,
  ]);
});

test('unpaired surrogates are refused, escaped or raw, in keys and values', () => {
  const lone = refusal('invalid_request', /unpaired UTF-16 surrogate$/);
  for (const text of [
    '"\\ud800"',
    '["\\udfff"]',
    '{"a":"\\ud800\\u0041"}',
    '{"a":"\\ud800\\ud800"}',
    '{"\\udc00":1}',
    '"\ud800"',
    '"\udc00\ud800"',
  ]) {
    assert.throws(() => parseStrictJson(text), lone, text);
  }
  assert.throws(() => parseStrictJson('{"k":{"\\ud800":1}}'), refusal('invalid_request', /^k: a key holds/));
  assert.throws(() => parseStrictJson('"\\ud800"'), refusal('invalid_request', /^\(body\): /));
  assert.equal(parseStrictJson('"\\ud83d\\ude00\\\\ud800"'), '😀\\ud800', 'an escaped backslash is no escape');
  assert.equal(parseStrictJson('"😀"'), '😀');
});

test('depth is bounded without recursion, even for hostile nesting', () => {
  assert.throws(
    () => parseStrictJson(`${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    refusal('invalid_request', /nested deeper/),
  );
  const ok = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
  assert.doesNotThrow(() => parseStrictJson(ok));
  assert.throws(() => parseStrictJson(`[${ok}]`), refusal('invalid_request', /nested deeper/));
});

test('parseBody refuses prototype keys in values built in-process (zod would drop them)', () => {
  const body = JSON.parse('{"action":{"tool":"t","parameters":{"a":[{"__proto__":{"x":1}}]}},"session":{"id":"s"}}');
  assert.throws(
    () => parseBody(DecideRequestSchema, body),
    refusal('invalid_request', /^action\.parameters\.a\.0\.__proto__: prototype keys are refused$/),
  );
  const ctor = { action: { tool: 't', parameters: { constructor: { prototype: { x: 1 } } } }, session: { id: 's' } };
  assert.throws(
    () => parseBody(DecideRequestSchema, ctor),
    refusal('invalid_request', /^action\.parameters\.constructor\.prototype: /),
  );
});

test('a capability check with __proto__ in its parameters is refused before any verification', async () => {
  let checked = 0;
  const deps = {
    capabilityKeys: new Map(),
    redemptions: { redeem: async () => 'first' as const },
    clock: () => new Date(),
    onCapabilityCheck: () => checked++,
  };
  const body = JSON.parse(
    '{"capability":"x.y.z","tool":"files.read","parameters":{"path":"/a","__proto__":{"path":"/etc"}}}',
  );
  await assert.rejects(verifyCapabilityRequest(deps, body), refusal('invalid_request', /^parameters\.__proto__: /));
  assert.equal(checked, 0);
});

test('every spelling of a decision route is known as that route', () => {
  for (const url of [
    '/v1/decide',
    '/v1/decide/',
    '/V1/DECIDE',
    '/v1/Decide?x=1',
    '/v1//decide',
    '/v1/decide/./',
    '/v1/x/../decide',
    '/v1/%64ecide',
    '/v1%2Fdecide',
    '/v1\\decide',
    '/v1/decide/anything',
    'http://host:8700/V1/decide',
  ]) {
    assert.equal(decisionRoute(url), '/v1/decide', url);
  }
  assert.equal(decisionRoute('/v1/Capabilities/Verify/'), '/v1/capabilities/verify');
  for (const url of ['/v1/decisions', '/v1/sessions', '/v1/decidex', '/healthz', '/v1/decide%', '*']) {
    assert.equal(decisionRoute(url), undefined, url);
  }
});
