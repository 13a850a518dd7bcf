/**
 * The older, sparse catalogue view `make eval` measures the corpus under a second time
 * (eval/legacy.ts): one operation per tool, no parameter kinds, org data or effects.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { legacyCatalog } from '../../eval/legacy.js';

describe('the older catalogue model of a company', () => {
  test('tools keep description, one operation, classification, default decision and egress', () => {
    const legacy = legacyCatalog({
      aarm: {
        catalog: {
          tools: {
            'bank.transfer': {
              description: 'pay an invoice',
              operation: ['write', 'pay'],
              classification: 'CONFIDENTIAL',
              max_classification: 'RESTRICTED',
              default_decision: 'ALLOW',
              parameters: { beneficiary: { fields: { iban: { kind: 'account', destination: true } } } },
              effects: [{ id: 'large', when: { param: 'amount', above: 5000 }, effect: 'STEP_UP' }],
            },
            'iam.grant_role': { operation: 'grant', classification: 'INTERNAL', default_decision: 'STEP_UP' },
            'k8s.kubectl': { operation: ['read', 'write', 'delete', 'execute'], parameters: { command: {} } },
            'mail.send': { operation: ['write', 'send'], classification: 'INTERNAL', default_decision: 'ALLOW' },
            'files.purge': { operation: 'delete', classification: 'INTERNAL', default_decision: 'ALLOW' },
          },
          data_classes: { pii: 'CONFIDENTIAL' },
        },
        org: { domains: ['acme.com'], payees: { 'p-1': { account: 'DE89370400440532013000' } } },
        egress: { allowed_domains: ['partner.example'] },
      },
    });
    assert.deepEqual(legacy, {
      aarm: {
        catalog: {
          tools: {
            'bank.transfer': {
              description: 'pay an invoice',
              operation: 'write',
              classification: 'CONFIDENTIAL',
              default_decision: 'ALLOW',
              egress: true,
            },
            'iam.grant_role': {
              operation: 'write',
              classification: 'INTERNAL',
              default_decision: 'STEP_UP',
              egress: false,
            },
            'k8s.kubectl': {
              operation: 'execute',
              classification: 'INTERNAL',
              default_decision: 'ALLOW',
              egress: false,
            },
            'mail.send': { operation: 'send', classification: 'INTERNAL', default_decision: 'ALLOW', egress: true },
            'files.purge': {
              operation: 'delete',
              classification: 'INTERNAL',
              default_decision: 'ALLOW',
              egress: false,
            },
          },
        },
        egress: { allowed_domains: ['partner.example', 'acme.com'] },
      },
    });
  });

  test('a catalogue already in the older model keeps what it says', () => {
    const old = {
      aarm: {
        catalog: {
          tools: {
            'mail.send': {
              description: 'send',
              operation: 'send',
              classification: 'INTERNAL',
              default_decision: 'ALLOW',
              egress: true,
            },
            'teams.send_message': {
              description: 'post to a channel',
              operation: 'send',
              classification: 'INTERNAL',
              default_decision: 'ALLOW',
              egress: false,
            },
          },
        },
        egress: { allowed_domains: ['acme.com'] },
      },
    };
    assert.deepEqual(legacyCatalog(old), old);
  });
});
