/**
 * Destinations the user named by name (docs/detection.md 3.6): the intent's names are kept
 * as fingerprints; a destination nobody has seen before whose own name is one of them
 * comes from the intent, and nothing else changes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emptySummary } from '../../services/decision/src/context/types.js';
import { actionFlow, prepareFlow } from '../../services/decision/src/flow/index.js';
import { destinationNames, intentNameFingerprints, nameKey } from '../../services/decision/src/flow/names.js';
import { orgOf } from '../../services/decision/src/flow/org.js';

const SALT = 'AAAAAAAAAAAAAAAAAAAAAA';
const NOW = new Date('2031-05-04T10:20:00.000Z');
const data = {
  aarm: {
    org: {
      domains: ['meridian-advisory.eu'],
      lookalikes: ['meridian-advisory.com'],
      channels: { shared_prefixes: ['ext-'], public: ['announcements'] },
      folders: { published: ['/Published/'], shared: ['/Client Share/'] },
    },
    catalog: {
      tools: {
        'chat.post': { operation: 'send', parameters: { channel: { kind: 'channel', destination: true } } },
        'mail.send': { operation: 'send', parameters: { to: { kind: 'email', destination: true } } },
        'drive.upload': { operation: 'write', parameters: { path: { kind: 'path', destination: true } } },
      },
    },
  },
};
const org = orgOf(data);

function valueOf(intent: string, tool: string, parameters: Record<string, unknown>) {
  const flow = prepareFlow(emptySummary(), intent, () => SALT);
  return actionFlow({ flow, policyData: data, tool, parameters, now: NOW, actionCount: 1 }).flow.values[0]!;
}

describe('names', () => {
  test('a destination goes by its own name, without its prefix, root or generic words', () => {
    assert.equal(nameKey('Bureau Lefèvre Traduction'), 'bureaulefevretraduction');
    assert.deepEqual(destinationNames('channel', 'ext-voss-holding', undefined, org), ['vossholding']);
    assert.deepEqual(destinationNames('channel', 'ext-team', undefined, org), []);
    assert.deepEqual(destinationNames('path', '/Client Share/Voss Holding/ledger-2025.xlsx', undefined, org), [
      'vossholding',
      'ledger2025',
    ]);
    assert.deepEqual(destinationNames('email', 'accounts@vandijklegal.nl', 'vandijklegal.nl', org), ['vandijklegal']);
    assert.deepEqual(destinationNames('text', 'hello', undefined, org), []);
  });

  test('the intent keeps fingerprints of its word runs, bounded, never the words', () => {
    const fps = intentNameFingerprints(SALT, 'Post the status for Voss Holding in our shared channel');
    assert.ok(fps.length > 0 && fps.length <= 256);
    assert.ok(fps.every((f) => /^[\w-]{16}$/.test(f)));
    assert.ok(!fps.join(' ').includes('voss'));
    // One word repeated: its runs of one, two and three.
    assert.equal(intentNameFingerprints(SALT, 'word '.repeat(5000)).length, 3);
    assert.equal(intentNameFingerprints(SALT, Array.from({ length: 5000 }, (_, i) => `w${i}x`).join(' ')).length, 256);
  });

  test('a shared channel, a client folder and a domain the user named by name come from the intent', () => {
    const channel = valueOf('Post a status update for Voss Holding in our shared channel', 'chat.post', {
      channel: 'ext-voss-holding',
    });
    assert.equal(channel.origin, 'intent');
    assert.equal(channel.match, 'name');
    assert.equal(channel.scope, 'shared');
    assert.equal(channel.party_named, true);
    const folder = valueOf('Put the ledger into the Voss Holding share', 'drive.upload', {
      path: '/Client Share/Voss Holding/ledger.xlsx',
    });
    assert.equal(folder.origin, 'intent');
    assert.equal(folder.scope, 'shared');
    const mail = valueOf('Send the engagement letter to Van Dijk Legal', 'mail.send', {
      to: 'accounts@vandijklegal.nl',
    });
    assert.equal(mail.origin, 'intent');
  });

  test('a shared place named after the organisation itself is named by the user but after no party', () => {
    const v = valueOf('Post the update in #ext-meridian-partners', 'chat.post', { channel: 'ext-meridian-partners' });
    assert.equal(v.origin, 'intent');
    assert.equal(v.party_named, undefined);
  });

  test('another party, a lookalike, a public place or no intent stays new', () => {
    assert.equal(
      valueOf('Post a status for Voss Holding', 'chat.post', { channel: 'ext-brandt-logistik' }).origin,
      'new',
    );
    assert.equal(
      valueOf('Send the deck to Meridian Advisory', 'mail.send', { to: 'ceo@meridian-advisory.com' }).origin,
      'new',
    );
    const pub = valueOf('Post the announcements', 'chat.post', { channel: 'announcements' });
    assert.equal(pub.scope, 'public');
    const flow = prepareFlow(emptySummary(), undefined, () => SALT);
    const v = actionFlow({
      flow,
      policyData: data,
      tool: 'chat.post',
      parameters: { channel: 'ext-voss-holding' },
      now: NOW,
      actionCount: 1,
    }).flow.values[0]!;
    assert.equal(v.origin, 'new');
  });
});
