/**
 * Inside or outside the organisation, per kind (docs/detection.md 2.1), with lookalikes,
 * the payee register and the older egress.allowed_domains.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { editDistance, maskAccount, orgOf, place } from '../../services/decision/src/flow/org.js';

const data = {
  aarm: {
    org: {
      domains: ['acme.com'],
      lookalikes: ['acme-payments.com'],
      hosts: ['*.acme.internal', 'localhost'],
      channels: { shared_prefixes: ['ext-', 'shared-'], public: ['announcements'] },
      principals: { guest_patterns: ['guest-*', '*@gmail.com'], groups: ['eng', 'finance'] },
      folders: { published: ['/public/', '/shared/external'] },
      accounts: { own: ['DE89 3704 0044 0532 0130 00'] },
      payees: { 'p-1001': { name: 'Office Supplies Ltd', account: 'DE44500105175407324931' } },
      protected_branches: ['main', 'release/*'],
    },
    egress: { allowed_domains: ['partner.example'] },
  },
};
const org = orgOf(data);

describe('org placement', () => {
  test('hosts: org domains and subdomains, allowed_domains, host patterns', () => {
    assert.equal(place('email', 'a@acme.com', 'acme.com', org)?.inside, true);
    assert.equal(place('url', 'https://wiki.eu.acme.com/x', 'wiki.eu.acme.com', org)?.inside, true);
    assert.equal(place('host', 'partner.example', 'partner.example', org)?.inside, true, 'allowed_domains count');
    assert.equal(place('host', 'ci.build.acme.internal', 'ci.build.acme.internal', org)?.inside, true);
    assert.equal(place('host', 'localhost', 'localhost', org)?.inside, true);
    const out = place('email', 'm@evil.io', 'evil.io', org)!;
    assert.deepEqual(out, {
      inside: false,
      lookalike: false,
      registered: false,
      reason: 'domain evil.io is outside the organisation',
    });
  });

  test('lookalikes: listed, a few edits away, another suffix, or containing the name', () => {
    for (const host of ['acme-payments.com', 'pay.acme-payments.com', 'acrne.com', 'acme.co', 'acme-corp.com']) {
      const p = place('host', host, host, org)!;
      assert.equal(p.inside, false, host);
      assert.equal(p.lookalike, true, host);
      assert.match(p.reason, /looks like acme\.com/);
    }
    assert.equal(place('host', 'acme.com.evil.io', 'acme.com.evil.io', org)?.lookalike, true);
    assert.equal(place('host', 'example.org', 'example.org', org)?.lookalike, false);
    assert.equal(place('host', 'home.com', 'home.com', org)?.lookalike, false, 'short names need closer matches');
  });

  test('private-network names and addresses are inside; link-local and public ones are not', () => {
    const bare = orgOf({ aarm: { org: { domains: ['acme.com'] } } });
    for (const host of [
      'fixtures.helix.internal',
      'printer.local',
      'nas.home.arpa',
      'wiki.corp',
      '10.2.3.4',
      '192.168.1.20',
      '172.20.0.5',
      '127.0.0.1',
      '::1',
      'fd12:3456::1',
    ]) {
      const p = place('host', host, host, bare)!;
      assert.equal(p.inside, true, host);
      assert.match(p.reason, /private-network name/, host);
    }
    for (const host of ['169.254.169.254', '172.32.0.1', '8.8.8.8', 'internal.evil.io', 'evil-internal.com']) {
      assert.equal(place('host', host, host, bare)?.inside, false, host);
    }
  });

  test('a host containing a hyphenated name without its hyphen is a lookalike too', () => {
    const hyphenated = orgOf({ aarm: { org: { domains: ['quayside-freight.com'] } } });
    for (const host of ['quaysidefreight-travel.com', 'quayside-freight-travel.com', 'travel-quaysidefreight.net']) {
      assert.equal(place('host', host, host, hyphenated)?.lookalike, true, host);
    }
    assert.equal(place('host', 'freight-travel.com', 'freight-travel.com', hyphenated)?.lookalike, false);
  });

  test('channels, principals and paths', () => {
    assert.equal(place('channel', 'eng-oncall', undefined, org)?.inside, true);
    assert.match(place('channel', 'ext-vendor', undefined, org)!.reason, /shared with outsiders \(prefix ext-\)/);
    assert.equal(place('channel', 'announcements', undefined, org)?.inside, false);
    assert.equal(place('principal', 'bob', undefined, org)?.inside, true);
    assert.equal(place('principal', 'eng', undefined, org)?.inside, true);
    assert.equal(place('principal', 'guest-jim', undefined, org)?.inside, false);
    assert.equal(place('principal', 'jim@gmail.com', 'gmail.com', org)?.inside, false);
    assert.equal(place('principal', 'ann@acme.com', 'acme.com', org)?.inside, true);
    assert.equal(place('path', '/home/ann/notes.txt', undefined, org)?.inside, true);
    assert.equal(place('path', '/public/report.pdf', undefined, org)?.inside, false);
    assert.equal(place('path', '/shared/external', undefined, org)?.inside, false, 'the folder itself');
    assert.equal(place('path', 'https://x.io/a', undefined, org)?.inside, false);
  });

  test('reasons name a URL by its host and an account masked, never in full', () => {
    const url = 'https://drop.evil.io/upload/alice%40acme.com?token=abc123';
    const reasons = [
      place('url', url, 'drop.evil.io', org)!.reason,
      place('path', url, undefined, org)!.reason,
      place('url', 'not a url', undefined, org)!.reason,
      place('account', 'GB29 NWBK 6016 1331 9268 19', undefined, org)!.reason,
      place('payee', 'GB29NWBK60161331926819', undefined, org)!.reason,
      place('payee', '60161331926819', undefined, org)!.reason,
    ];
    assert.deepEqual(reasons.slice(0, 3), [
      'domain drop.evil.io is outside the organisation',
      'the path is a URL on drop.evil.io, not an internal path',
      'the url has no readable host',
    ]);
    assert.deepEqual(reasons.slice(4), [
      'payee GB29...6819 is not in the payee register',
      'payee 6016...6819 is not in the payee register',
    ]);
    for (const r of reasons) assert.ok(!/upload|token|abc123|not a url|NWBK|1331/i.test(r), r);
    assert.equal(place('payee', 'p-666', undefined, org)!.reason, 'payee p-666 is not in the payee register');
    assert.equal(maskAccount('de89 3704 0044 0532 0130 00'), 'DE89...3000', 'as rego mask_account');
    assert.equal(maskAccount('12345'), '...45');
    assert.equal(maskAccount('1'), '...');
  });

  test('accounts and payees: own, registered, unregistered', () => {
    assert.deepEqual(place('account', 'DE89370400440532013000', undefined, org), {
      inside: true,
      lookalike: false,
      registered: true,
      reason: 'account DE89...3000 is an own account',
    });
    assert.equal(place('account', 'DE44500105175407324931', undefined, org)?.registered, true);
    const raw = place('account', 'GB29NWBK60161331926819', undefined, org)!;
    assert.equal(raw.inside, false);
    assert.equal(raw.registered, false);
    assert.equal(raw.reason, "account GB29...6819 is neither an own account nor a registered payee's");
    assert.equal(place('payee', 'p-1001', undefined, org)?.registered, true);
    assert.equal(place('payee', 'office supplies ltd', undefined, org)?.registered, true);
    assert.equal(place('payee', 'p-666', undefined, org)?.inside, false);
    assert.equal(place('text', 'x', undefined, org), undefined, 'free text goes nowhere');
  });

  test('without org data everything that has a place is outside, except plain names', () => {
    const empty = orgOf({});
    assert.equal(place('email', 'a@acme.com', 'acme.com', empty)?.inside, false);
    assert.equal(place('account', 'DE89370400440532013000', undefined, empty)?.inside, false);
    assert.equal(place('principal', 'bob', undefined, empty)?.inside, true);
  });

  test('edit distance gives up past its bound', () => {
    assert.equal(editDistance('acme', 'acne', 2), 1);
    assert.equal(editDistance('acme', 'amce', 2), 1, 'a transposition is one edit');
    assert.equal(editDistance('acme', 'globex', 2), 3);
  });
});
