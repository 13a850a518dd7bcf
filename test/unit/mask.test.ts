import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashOf } from '../../services/decision/src/receipts/canonical.js';
import { maskParameters } from '../../services/decision/src/receipts/mask.js';

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
