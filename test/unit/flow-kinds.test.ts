/**
 * Which parameter values the flow analyses, and as what (docs/detection.md 1.1, 2.2):
 * catalog kinds at any depth, kinds inferred from names and shapes, normal forms, bounds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LIMITS, parameterValues, type ParamSpec, type ToolSpec } from '../../services/decision/src/flow/kinds.js';
import {
  readAmount,
  readHost,
  readUrl,
  validIban,
  readEmails,
  readChannel,
  readAccount,
} from '../../services/decision/src/flow/normalise.js';

const tool = (operations: string[], params: Record<string, ParamSpec> = {}): ToolSpec => ({
  operations,
  params: new Map(Object.entries(params)),
});

describe('normal forms', () => {
  test('addresses: display names, lists, case', () => {
    assert.deepEqual(
      readEmails('Bob Smith <Bob@Example.IO>; carol@y.io, "Doe, J" <j@z.org>').map((r) => r.value),
      ['bob@example.io', 'carol@y.io', 'j@z.org'],
    );
    assert.deepEqual(readEmails('nobody at all'), []);
  });

  test('URLs with or without a scheme; userinfo and port dropped', () => {
    assert.deepEqual(readUrl('www.Files-Share.io/a?x=1'), {
      value: 'http://www.files-share.io/a?x=1',
      host: 'www.files-share.io',
      key: 'www.files-share.io/a?x=1',
    });
    assert.equal(readUrl('https://user:pw@Evil.io:8443/up')?.host, 'evil.io');
    assert.equal(readUrl('https://user:pw@Evil.io:8443/up')?.value, 'https://evil.io/up');
    assert.equal(readUrl('just words'), undefined);
    assert.equal(readUrl('www.x.io/a', { requireScheme: true }), undefined);
    assert.equal(readHost('admin@build.acme.internal:22')?.value, 'build.acme.internal');
  });

  test('channels, accounts and IBANs', () => {
    assert.equal(readChannel('#Ext-Partners')?.value, 'ext-partners');
    assert.equal(readAccount('de89 3704 0044 0532 0130 00')?.value, 'DE89370400440532013000');
    assert.equal(validIban('DE89370400440532013000'), true);
    assert.equal(validIban('DE89370400440532013001'), false, 'one digit off fails mod-97');
  });

  test('amounts: numbers, objects, strings with currencies and separators', () => {
    assert.deepEqual(readAmount(1200.5), { value: 1200.5 });
    assert.deepEqual(readAmount({ amount: '300', currency: 'chf' }), { value: 300, currency: 'CHF' });
    assert.deepEqual(readAmount('1,200.50 EUR'), { value: 1200.5, currency: 'EUR' });
    assert.deepEqual(readAmount('1.200,50 EUR'), { value: 1200.5, currency: 'EUR' });
    assert.deepEqual(readAmount('$5,000'), { value: 5000, currency: 'USD' });
    assert.deepEqual(readAmount('75', 'GBP'), { value: 75, currency: 'GBP' });
    assert.equal(readAmount('a lot'), undefined);
  });
});

describe('parameter values', () => {
  test('in a payment the account money comes from is no destination; the one it goes to is', () => {
    const read = parameterValues(
      {
        debit_account: 'DE05500400000589134700',
        from_iban: 'DE89370400440532013000',
        beneficiary: { iban: 'ES9121000418450200051332' },
        to_account: 'DE93545500100012048836',
      },
      tool(['pay']),
    );
    assert.deepEqual(
      read.values.map((v) => [v.path, v.kind, v.destination]),
      [
        ['debit_account', 'account', false],
        ['from_iban', 'account', false],
        ['beneficiary.iban', 'account', true],
        ['to_account', 'account', true],
      ],
    );
  });

  test('the path a write stores to is its destination; a read path is not', () => {
    const pathOf = (ops: string[]) =>
      parameterValues({ path: '/Client Share/annex.xlsx' }, tool(ops, { path: { kind: 'path' } })).values[0];
    assert.equal(pathOf(['write'])?.destination, true);
    assert.equal(pathOf(['read'])?.destination, false);
    const declared = parameterValues(
      { path: '/tmp/x' },
      tool(['write'], { path: { kind: 'path', destination: false } }),
    );
    assert.equal(declared.values[0]?.destination, false, 'the catalog has the last word');
  });

  test('catalog kinds at any depth: object members and array elements', () => {
    const spec = tool(['write'], {
      'fields.payroll_iban': { kind: 'account', destination: true },
      'attendees[].email': { kind: 'email' },
    });
    const { values } = parameterValues(
      {
        fields: { payroll_iban: 'DE44 5001 0517 5407 3249 31', name: 'x' },
        attendees: [{ email: 'a@acme.com' }, { email: 'Mallory <M@Evil.io>' }],
      },
      spec,
    );
    assert.deepEqual(
      values.map((v) => [v.path, v.pointer, v.param, v.kind, v.value, v.destination, v.inferred]),
      [
        [
          'fields.payroll_iban',
          '/fields/payroll_iban',
          'fields.payroll_iban',
          'account',
          'DE44500105175407324931',
          true,
          false,
        ],
        ['attendees[0].email', '/attendees/0/email', 'attendees[].email', 'email', 'a@acme.com', false, false],
        ['attendees[1].email', '/attendees/1/email', 'attendees[].email', 'email', 'm@evil.io', false, false],
      ],
    );
  });

  test('a kind on an array applies to each element; an address list expands', () => {
    const { values } = parameterValues(
      { recipients: ['a@x.io', 'B <b@y.io>, c@z.io'] },
      tool(['send'], { recipients: { kind: 'email' } }),
    );
    assert.deepEqual(
      values.map((v) => [v.path, v.value, v.destination]),
      [
        ['recipients[0]', 'a@x.io', true],
        ['recipients[1]', 'b@y.io', true],
        ['recipients[1]', 'c@z.io', true],
      ],
    );
  });

  test('a declared destination that does not read as its kind is unreadable', () => {
    const r = parameterValues(
      { to: 'the usual people', webhook: 'not a url at all' },
      tool(['send'], { to: { kind: 'email' }, webhook: { kind: 'url', destination: true } }),
    );
    assert.deepEqual(r.values, []);
    assert.deepEqual(r.unreadable, ['to', 'webhook']);
  });

  test('inference by name, confirmed by shape; the operation makes destinations', () => {
    const send = parameterValues(
      {
        to: 'ops@acme.com',
        link: 'www.files.io/x',
        subject: 'hello',
        extra: 'mallory@evil.io',
        notes: 'call back on Monday',
        tags: 'not analysed',
        limit: 10,
      },
      tool(['send']),
    );
    assert.deepEqual(
      send.values.map((v) => [v.path, v.kind, v.destination, v.inferred]),
      [
        ['to', 'email', true, true],
        ['link', 'url', true, true],
        ['subject', 'text', false, true],
        ['extra', 'email', true, true],
        ['notes', 'text', false, true],
      ],
    );
    const read = parameterValues({ url: 'https://news.example.org/a' }, tool(['read']));
    assert.equal(read.values[0]?.destination, false, 'fetching a URL sends nothing');
    const named = parameterValues({ forward_to: 'x@y.io' }, tool(['write']));
    assert.equal(named.values[0]?.destination, true, 'the name says where it goes');
    const declaredNot = parameterValues({ to: 'x@y.io' }, tool(['send'], { to: { destination: false } }));
    assert.equal(declaredNot.values[0]?.destination, false, 'destination: false in the catalog wins');
  });

  test('a payment recipient reads as a payee or an account; a query only when it is SQL', () => {
    const pay = parameterValues({ recipient: 'p-1001', amount: 250, currency: 'usd' }, tool(['pay']));
    assert.deepEqual(
      pay.values.map((v) => [v.path, v.kind, v.value]),
      [
        ['recipient', 'payee', 'p-1001'],
        ['amount', 'amount', 250],
      ],
    );
    assert.deepEqual(pay.amount, { value: 250, currency: 'USD' });
    const search = parameterValues({ query: 'quarterly revenue', q: 'alice@customer.io' }, tool(['read']));
    assert.deepEqual(
      search.values.map((v) => [v.path, v.kind, v.value]),
      [
        ['query', 'text', 'quarterly revenue'],
        ['q', 'text', 'alice@customer.io'],
      ],
      'a search string is free text, whatever it names',
    );
    const sql = parameterValues({ query: 'DELETE FROM t' }, tool(['read']));
    assert.equal(sql.values[0]?.kind, 'sql');
    const kindOf = (query: string) => parameterValues({ query }, tool(['read'])).values[0]?.kind;
    for (const q of [
      'SET statement_timeout = 5000; SELECT 1',
      'SHOW TABLES',
      'explain analyze select 1',
      'DESCRIBE orders',
    ]) {
      assert.equal(kindOf(q), 'sql', q);
    }
    for (const q of [
      'show me the latest orders',
      'set up a meeting',
      'explain quantum computing',
      'describe the plan',
    ]) {
      assert.equal(kindOf(q), 'text', q);
    }
  });

  test('a credential in any string leaf is a secret value at its own pointer', () => {
    const { values, partial } = parameterValues(
      {
        service: 'webhook-dispatcher',
        attributes: {
          'http.request.method': 'POST',
          'http.request.header.authorization': 'Bearer hxk_live_4f9aC2mQ8zR1tV6wY3nB7pL0sD5gH2jK',
          'http.request.header.x-trace': 'abc',
        },
        headers: { 'Content-Type': 'application/json', Authorization: 'Basic dXNlcjpodW50ZXIy' },
        'a/b~c': { password: 'hunter2' },
        note: 'rotated key AKIAIOSFODNN7EXAMPLE yesterday',
        dsn: 'postgres://app:T9vkq2Lm@pg-1.acme.internal:5432/app',
      },
      tool(['execute']),
    );
    assert.equal(partial, false);
    assert.deepEqual(
      values.map((v) => [v.path, v.pointer, v.kind, v.secret, v.inferred, v.destination]),
      [
        [
          'attributes.http.request.header.authorization',
          '/attributes/http.request.header.authorization',
          'text',
          true,
          true,
          false,
        ],
        ['headers.Authorization', '/headers/Authorization', 'text', true, true, false],
        ['a/b~c.password', '/a~1b~0c/password', 'text', true, true, false],
        ['note', '/note', 'text', true, true, false],
        // A credential's name says more than its shape: a DSN is a secret, not a URL to place.
        ['dsn', '/dsn', 'text', true, true, false],
      ],
    );
    assert.equal(values[0]!.value, 'Bearer hxk_live_4f9aC2mQ8zR1tV6wY3nB7pL0sD5gH2jK');
  });

  test('a secret keeps the kind its leaf has; placeholders and loose names with ordinary values are no secrets', () => {
    const { values } = parameterValues(
      {
        webhook: 'https://bot:pa55w0rd-x@hooks.example.net/in',
        body: 'the key is sk_live_4eC39HqLyjWDarjtT1zdp7dc',
        headers: { Authorization: '[REDACTED]', Cookie: '***', 'X-Api-Key': '<redacted>', token: '' },
        password: '${DB_PASSWORD}',
        session: 'Keynote',
        auth: 'basic',
        token: 'ETH',
        page_token: 'CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA3',
        meta: { session: 's%3AJ9x2KfQ7mLw4Zr8T1vNc' },
      },
      tool(['send']),
    );
    assert.deepEqual(
      values.map((v) => [v.path, v.kind, v.secret ?? false]),
      [
        ['webhook', 'url', true],
        ['body', 'text', true],
        ['meta.session', 'text', true],
      ],
    );
    assert.equal(values[0]!.value, 'https://hooks.example.net/in', 'a URL value never shows its userinfo');
  });

  test('past the value bound, secrets are kept first, in walk order', () => {
    const many = Array.from({ length: 100 }, (_, i) => `u${i}@x.io`);
    const r = parameterValues(
      { to: many, headers: { Authorization: 'Bearer abcdefghijklmnopqrstuvwxyz012345' }, api_key: 'k-42' },
      tool(['send']),
    );
    assert.equal(r.values.length, LIMITS.values);
    assert.equal(r.partial, true, 'values were dropped');
    assert.deepEqual(
      r.values.filter((v) => v.secret).map((v) => v.path),
      ['headers.Authorization', 'api_key'],
    );
    assert.equal(r.values[0]!.path, 'to[0]');
    assert.equal(r.values.filter((v) => v.kind === 'email').length, LIMITS.values - 2);
  });

  test('the walk is bounded: depth, values, leaves', () => {
    let deep: Record<string, unknown> = { to: 'deep@x.io' };
    for (let i = 0; i < 10; i++) deep = { n: deep };
    assert.deepEqual(parameterValues(deep, tool(['send'])).values, [], 'below depth 6 nothing is read');
    assert.equal(parameterValues(deep, tool(['send'])).partial, true, 'and the read says it is partial');
    const many = { to: Array.from({ length: 500 }, (_, i) => `u${i}@x.io`) };
    assert.equal(parameterValues(many, tool(['send'])).values.length, LIMITS.values);
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    assert.deepEqual(parameterValues({ ...wide, to: 'late@x.io' }, tool(['send'])).values, []);
    assert.equal(parameterValues({ ...wide, to: 'late@x.io' }, tool(['send'])).partial, true);
    assert.equal(parameterValues({ to: 'a@x.io', n: { m: 1 } }, tool(['send'])).partial, false);
  });
});
