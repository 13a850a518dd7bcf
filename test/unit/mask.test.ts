import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashOf } from '../../services/decision/src/receipts/canonical.js';
import { generateSigningKey } from '../../services/decision/src/receipts/keys.js';
import {
  maskerFor,
  maskingPaths,
  maskParameters,
  maskSecrets,
  maskText,
  withMaskingKey,
} from '../../services/decision/src/receipts/mask.js';
import { signAndHash, verifyReceiptSignature } from '../../services/decision/src/receipts/sign.js';

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

// Keyed masking (issue 12): HMAC under a per-deployment key, text and signals and results.

const keyA = generateSigningKey();
const keyB = generateSigningKey();

test('with the deployment masker, secrets become hmac-sha256: values that no dictionary reverses offline', () => {
  const masker = maskerFor(keyA);
  const masked = maskParameters(
    { to: 'a@example.com', password: 'hunter2', rows: [{ ssn: '123' }] },
    ['/rows/*/ssn'],
    masker,
  ) as Record<string, any>;
  assert.match(masked.password, /^hmac-sha256:[0-9a-f]{64}$/);
  assert.match(masked.rows[0].ssn, /^hmac-sha256:[0-9a-f]{64}$/);
  assert.equal(masked.to, 'a@example.com');
  // The plain digest of a guessed secret is not what the receipt holds.
  assert.notEqual(masked.password.slice('hmac-sha256:'.length), hashOf('hunter2').slice('sha256:'.length));
  // Comparable within a deployment: the same value masks the same way, another value not.
  assert.equal((maskParameters({ password: 'hunter2' }, [], maskerFor(keyA)) as any).password, masked.password);
  assert.notEqual(masker.hash('hunter3'), masked.password);
  // Another deployment's key gives another value.
  assert.notEqual(maskerFor(keyB).hash('hunter2'), masked.password);
});

test('a dedicated masking key keeps masked values stable across a signing key rotation', () => {
  const material = Buffer.alloc(32, 7);
  const before = maskerFor(withMaskingKey(keyA, material)).hash('hunter2');
  assert.equal(maskerFor(withMaskingKey(keyB, material)).hash('hunter2'), before);
  assert.notEqual(maskerFor(keyA).hash('hunter2'), before);
  assert.throws(() => withMaskingKey(keyA, Buffer.alloc(16)), /at least 32 bytes/);
});

test('text keeps what an auditor reads and loses the secrets it spells out', () => {
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl';
  const text = maskText(
    `deploy https://deploy:s3cr3t@git.example.com/repo.git?api_key=abc123&ref=main with token=tok-42, ` +
      `header Bearer abcdefgh12345678 and ${jwt} and AKIAABCDEFGHIJKLMNOP; password: hunter2`,
  );
  for (const secret of [
    's3cr3t',
    'deploy:',
    'abc123',
    'tok-42',
    'abcdefgh12345678',
    jwt,
    'AKIAABCDEFGHIJKLMNOP',
    'hunter2',
  ])
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  assert.ok(text.includes('https://***@git.example.com/repo.git?api_key=***&ref=main'), text);
  assert.equal(maskText(text), text, 'masking twice changes nothing');
  const plain = 'pay the supplier invoice of 2024-05-01T10:00:00Z to https://pay.example.com/inv/7';
  assert.equal(maskText(plain), plain);
  assert.equal(maskText('-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----'), '***');
});

test('signals: credential names and secret-shaped values are hashed; scores stay', () => {
  const masker = maskerFor(keyA);
  const signals = maskSecrets(
    {
      injection_score: 0.4,
      session_token: 'abc',
      upstream: { auth: { api_key: 'k-1' }, header: 'Bearer abcdefgh12345678', source: 'https://u:p@h.example' },
      flags: ['ok'],
    },
    masker,
  ) as Record<string, any>;
  assert.equal(signals.injection_score, 0.4);
  assert.equal(signals.session_token, masker.hash('abc'));
  assert.equal(signals.upstream.auth.api_key, masker.hash('k-1'));
  assert.equal(signals.upstream.header, masker.hash('Bearer abcdefgh12345678'));
  assert.equal(signals.upstream.source, 'https://***@h.example');
  assert.deepEqual(signals.flags, ['ok']);
});

test('a signed receipt keeps no secret of its target, intent, signals or policy result, and verifies', () => {
  const body = {
    receipt_id: 'rcpt_1',
    kind: 'decision',
    action: {
      id: 'a',
      tool: 'git.push',
      target: 'https://bot:ghs-secret@git.example.com/x',
      parameters: { password: 'sha256:' + '0'.repeat(64) },
    },
    input: {
      action: { tool: 'git.push', target: 'https://bot:ghs-secret@git.example.com/x' },
      session: { id: 's', intent: 'push with password=hunter2' },
      signals: { api_token: 'tok-1', score: 0.1 },
    },
    result: {
      decision: 'MODIFY',
      reasons: [{ policy_id: 'p', reason: 'r' }],
      patch: [
        { op: 'replace', path: '/headers/Authorization', value: 'Bearer abcdefgh12345678' },
        { op: 'remove', path: '/cc' },
      ],
    },
    reasons: [{ policy_id: 'p', reason: 'r' }],
  };
  const { receipt } = signAndHash(body as never, keyA);
  const text = JSON.stringify(receipt);
  for (const secret of ['ghs-secret', 'hunter2', 'tok-1', 'abcdefgh12345678'])
    assert.ok(!text.includes(secret), secret);
  const r = receipt as any;
  assert.equal(r.action.target, 'https://***@git.example.com/x');
  assert.equal(r.input.session.intent, 'push with password=***');
  assert.equal(r.input.signals.score, 0.1);
  assert.equal(r.result.patch[0].value, maskerFor(keyA).hash('Bearer abcdefgh12345678'));
  assert.deepEqual(r.result.patch[1], { op: 'remove', path: '/cc' });
  assert.equal(r.action.parameters.password, body.action.parameters.password, 'masked values stay as they are');
  assert.deepEqual(verifyReceiptSignature(receipt, new Map([[keyA.kid, keyA.publicKey]])), { ok: true });
});
