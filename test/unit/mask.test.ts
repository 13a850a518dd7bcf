import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashOf } from '../../services/decision/src/receipts/canonical.js';
import { maskParameters, maskingPaths } from '../../services/decision/src/receipts/mask.js';

test('credential-like names are replaced by the hash of their value, at any depth', () => {
  const masked = maskParameters({
    to: 'a@example.com',
    password: 'hunter2',
    headers: { Authorization: 'Bearer abc', 'X-Api-Key': 'k' },
    list: [{ client_secret: { nested: 'x' } }],
    private_key: null,
  }) as Record<string, any>;
  assert.equal(masked.to, 'a@example.com');
  assert.equal(masked.password, hashOf('hunter2'));
  assert.equal(masked.headers.Authorization, hashOf('Bearer abc'));
  assert.equal(masked.headers['X-Api-Key'], hashOf('k'));
  assert.equal(masked.list[0].client_secret, hashOf({ nested: 'x' }));
  assert.equal(masked.private_key, hashOf(null));
});

test('connection strings and short credential names are masked too', () => {
  const masked = maskParameters({
    dsn: 'postgres://u:p@h/db',
    db_pwd: 'x',
    connection_string: 'Server=a;Password=b',
  }) as Record<string, unknown>;
  assert.equal(masked.dsn, hashOf('postgres://u:p@h/db'));
  assert.equal(masked.db_pwd, hashOf('x'));
  assert.equal(masked.connection_string, hashOf('Server=a;Password=b'));
});

test('paths from policy data are masked too, with * for any key or index', () => {
  const masked = maskParameters(
    {
      body: 'hello',
      rows: [
        { ssn: '123', name: 'a' },
        { ssn: '456', name: 'b' },
      ],
      'a/b': 1,
    },
    ['/body', '/rows/*/ssn', '/a~1b', 'not-a-pointer'],
  ) as Record<string, any>;
  assert.equal(masked.body, hashOf('hello'));
  assert.equal(masked.rows[0].ssn, hashOf('123'));
  assert.equal(masked.rows[1].ssn, hashOf('456'));
  assert.equal(masked.rows[1].name, 'b');
  assert.equal(masked['a/b'], hashOf(1));
});

test('the masking paths are read from data.aarm.masking.paths', () => {
  assert.deepEqual(maskingPaths({ aarm: { masking: { paths: ['/x', 7] } } }), ['/x']);
  assert.deepEqual(maskingPaths(undefined), []);
});
