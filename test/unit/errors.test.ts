import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ArbiterError, ERROR_CATALOGUE } from '../../services/decision/src/errors.js';

test('docs/errors.md lists exactly the codes and statuses of the catalogue', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
  const documented = new Map(
    [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])] as const),
  );
  const catalogue = new Map(Object.entries(ERROR_CATALOGUE).map(([code, e]) => [code, e.status] as const));
  assert.deepEqual([...documented].sort(), [...catalogue].sort());
});

test('an error body carries the public message, never the internal cause', () => {
  const err = new ArbiterError('store_unavailable', undefined, { cause: new Error('redis at 10.0.0.7 said NOAUTH') });
  assert.equal(err.status, 503);
  assert.deepEqual(err.toBody(), { error: { code: 'store_unavailable', message: 'the context store cannot serve' } });
  assert.ok(!JSON.stringify(err.toBody()).includes('NOAUTH'));
});
