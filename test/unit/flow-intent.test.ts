/**
 * What the session intent asks for (docs/detection.md 3.5): read once when the session's
 * flow state is created, kept in it, and shown as input.flow.intent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emptySummary } from '../../services/decision/src/context/types.js';
import { actionFlow, prepareFlow } from '../../services/decision/src/flow/index.js';
import { intentActions, intentView } from '../../services/decision/src/flow/intent.js';

const SALT = 'AAAAAAAAAAAAAAAAAAAAAA';
const NOW = new Date('2031-05-04T10:20:00.000Z');

describe('intent actions', () => {
  test('realistic requests name what they ask for', () => {
    const cases: Array<[string, string[]]> = [
      ['Email the Q3 report to carol@partner.io', ['send']],
      ['Forward the invoice from Paper Co to finance@acme.com', ['send']],
      ['Please send the signed contract to legal', ['send']],
      ['Post the weekly status update in #eng', ['send']],
      ['Pay the March invoice from Office Supplies Ltd', ['pay']],
      ['Transfer 1,200 EUR to payee p-1001 for the office chairs', ['pay']],
      ['Make the payment to Paper Co for invoice 12', ['pay']],
      ['Process the refund for order 5521', ['pay']],
      ['Give Bob read access to the design folder', ['grant']],
      ['Add dana@acme.com to the #incident channel', ['grant', 'write']],
      ['Share the roadmap doc with the product team', ['grant', 'send']],
      ['Make Carol an admin of the billing workspace', ['grant']],
      ['Invite the vendor to the Thursday call', ['grant', 'send']],
      ['Deploy the hotfix to staging and restart the api pods', ['execute']],
      ['Roll back the last deploy of the checkout service', ['execute']],
      ['Clean up the stale feature branches in the web repo', ['delete']],
      ['Drop the temp_orders table from the analytics database', ['delete']],
      ['drop table temp_orders', ['delete']],
      ['Deploy api v2 to staging', ['execute']],
      ['Email reports to Bob every Friday', ['send']],
      ['Wipe the staging database', ['delete']],
      ['Rotate the API key for the payments service', ['credentials', 'execute']],
      ['Create a new API token for the CI pipeline', ['credentials', 'write']],
      ['Update the CRM record for Acme with the new phone number', ['write']],
      ['Schedule a meeting with the design team next Tuesday', ['write']],
      ['Book a flight to Berlin for the offsite', ['pay', 'write']],
      ['Order 20 new laptops from the usual supplier', ['pay']],
      ['Process the supplier invoices that came in through the portal', ['pay']],
      ['Work through the payment tasks the triage agent handed over', ['pay']],
      ['Onboard the new hire Dan: create his account and add him to the eng group', ['grant', 'write']],
    ];
    for (const [intent, actions] of cases) assert.deepEqual(intentActions(intent), actions, intent);
  });

  test('reading, summarising and researching ask for no action', () => {
    for (const intent of [
      'Summarise my unread emails from this morning',
      "Look up Carol's email address in the CRM",
      'What were the key findings of the security review?',
      'Check whether the payment from Acme arrived',
      'Check the status of my transfer',
      'Why did the payments service fail last night?',
      'Investigate why the last deploy failed and check the logs',
      'Summarise the latest release notes',
      'Find hotels in Lisbon under 150 EUR per night',
      'Research competitor pricing on the web',
      'Transfer the files in /projects/old to the archive folder',
      'Review the open merge requests',
      'Summarise the forward-looking statements in the filing',
      'What are the payment terms of the Acme contract?',
    ]) {
      assert.deepEqual(intentActions(intent), [], intent);
    }
  });

  test('a negated verb does not count; the next clause does', () => {
    assert.deepEqual(intentActions('Read the latest email from Bob and draft a reply, but do not send it'), []);
    assert.deepEqual(intentActions('Please don’t delete anything, just list the old backups'), []);
    assert.deepEqual(intentActions("Don't email anyone, just delete the drafts"), ['delete']);
  });

  test('a verb that reports a state asks for nothing; one that asks still counts', () => {
    for (const intent of [
      "Has Van Dijk Legal's invoice 2025-117 been paid yet? Just check",
      'Was the contract sent to Acme last week?',
      'Did we pay the March rent?',
      'Check whether we already paid the courier',
      'Is the old backup deleted?',
    ]) {
      assert.deepEqual(intentActions(intent), [], intent);
    }
    assert.deepEqual(intentActions('Has the invoice been paid? If not, pay it now'), ['pay']);
    assert.deepEqual(intentActions('The invoice must be paid today'), ['pay']);
  });

  test('acting on invoices, bills and payroll asks to pay; reading them does not', () => {
    assert.deepEqual(intentActions('Process the approved invoices in the AP queue'), ['pay']);
    assert.deepEqual(intentActions('Clear the outstanding bills from the utilities'), ['pay']);
    assert.deepEqual(intentActions('Run payroll for November'), ['execute', 'pay']);
    assert.deepEqual(intentActions('Summarise the open invoices from Acme'), []);
    assert.deepEqual(intentActions('How many orders are stuck and since when?'), []);
    assert.deepEqual(intentActions('Please order new toner for the second floor'), ['pay']);
  });

  test('changes of a record state ask to write', () => {
    assert.deepEqual(intentActions('Find the stuck job and unstick it (mark it failed so it retries)'), ['write']);
    assert.deepEqual(intentActions('Cancel my 3pm meeting with Dana'), ['write']);
    assert.deepEqual(intentActions('What is the close date of the Acme deal?'), []);
  });

  test('an emergency is read from the words that state one', () => {
    for (const intent of [
      'SEV-1 INC-2241: the primary stopped accepting writes. I am on call and approve break-glass.',
      'Refunds are posted twice since 14:10 (SEV1); find the duplicates',
      'The checkout service is down for EU customers, restart it',
      'P1 outage on the payments API: roll back the last release',
      'Use the emergency access to unlock the admin account',
    ]) {
      assert.equal(intentView(intent).emergency, true, intent);
    }
    for (const intent of [
      'How many orders did we ship to Austria last month?',
      'Run the weekly refunds-by-reason report for last week',
      'Give me the number of active seats per enterprise customer',
      'Write the notes down for the several plans',
    ]) {
      assert.equal(intentView(intent).emergency, false, intent);
    }
  });

  test('a question for numbers is read as one', () => {
    for (const intent of [
      'How many workspaces signed up last week, broken down by plan?',
      'Give me the number of active seats per enterprise customer',
      'Refund totals by reason for October',
      'A breakdown by region of open tickets',
    ]) {
      assert.equal(intentView(intent).counts, true, intent);
    }
    for (const intent of [
      'List the new workspace owners for outreach',
      'Send the Q3 numbers to the board',
      'Who are our enterprise customers in Austria?',
    ]) {
      assert.equal(intentView(intent).counts, false, intent);
    }
  });

  test('case and word boundaries: a word inside another is not the word', () => {
    assert.deepEqual(intentActions('DELETE the old invoices'), ['delete']);
    assert.deepEqual(intentActions('Summarise the repayment plan and the keynote'), []);
  });

  test('no intent: present false; an intent is read once and kept in the flow state', () => {
    assert.deepEqual(intentView(undefined), {
      present: false,
      actions: [],
      mentions: [],
      emergency: false,
      counts: false,
    });
    assert.deepEqual(intentView('Summarise the thread'), {
      present: true,
      actions: [],
      mentions: [],
      emergency: false,
      counts: false,
    });
    const flow = prepareFlow(emptySummary(), 'Pay invoice 12 and email the receipt to ann@acme.com', () => SALT);
    // "pay" also names pay and bank details as data the user may need, "email" contact details (reach.ts).
    const mentions = ['compensation', 'bank_account', 'contact'];
    assert.deepEqual(flow.intent_actions, {
      present: true,
      actions: ['pay', 'send'],
      mentions,
      emergency: false,
      counts: false,
    });
    const input = actionFlow({
      flow,
      policyData: {},
      tool: 'mail.send',
      parameters: { to: 'ann@acme.com' },
      now: NOW,
      actionCount: 1,
    });
    assert.deepEqual(input.flow.intent, {
      present: true,
      actions: ['pay', 'send'],
      mentions,
      emergency: false,
      counts: false,
    });
    // Stored, not recomputed: a later call with another intent keeps what the state holds.
    const again = prepareFlow({ ...emptySummary(), flow }, 'Delete everything');
    assert.equal(again, flow);
    // A state from before intent actions existed gets them once.
    const { intent_actions: _dropped, ...older } = flow;
    assert.deepEqual(prepareFlow({ ...emptySummary(), flow: older }, 'Wipe the staging database').intent_actions, {
      present: true,
      actions: ['delete'],
      mentions: [],
      emergency: false,
      counts: false,
    });
    const none = prepareFlow(emptySummary(), undefined, () => SALT);
    assert.deepEqual(
      actionFlow({ flow: none, policyData: {}, tool: 'x', parameters: {}, now: NOW, actionCount: 0 }).flow.intent,
      { present: false, actions: [], mentions: [], emergency: false, counts: false },
    );
  });
});
