/**
 * The trust of a result the catalog says nothing about, inferred from the tool's name
 * (docs/detection.md 3.2): outside sources and reads of mail and chat are untrusted; the
 * company's own stores, searched or not, are trusted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { catalogTool, inferredTrust } from '../../services/decision/src/flow/catalog.js';

describe('trust inferred from the tool name', () => {
  test('the web, web search engines, feeds, tickets, reviews and other agents are untrusted', () => {
    for (const tool of [
      'web.search',
      'web_fetch',
      'browser.open',
      'internet.lookup',
      'google.search',
      'bingSearch',
      'duckduckgo.query',
      'serp.api',
      'http.get',
      'rss.read',
      'support.tickets.list',
      'github.issues.get',
      'app_reviews.list',
      'agents.call',
      'agent_handoff.receive',
      'handoffs.list',
      'broker_portal.get_messages',
      'supplier-portal.download',
      'community.threads',
      'forum.read_post',
      'social.mentions',
    ]) {
      assert.equal(inferredTrust(tool, []), 'untrusted', tool);
    }
  });

  test("searching the company's own stores is trusted; so is writing a comment", () => {
    for (const tool of ['crm.search_contacts', 'drive.search', 'hr.searchEmployees', 'docs.search', 'kb.search']) {
      assert.equal(inferredTrust(tool, ['read']), 'trusted', tool);
      assert.equal(inferredTrust(tool, []), 'trusted', `${tool} without operations`);
    }
    assert.equal(inferredTrust('docs.add_comment', ['write']), 'trusted');
  });

  test('mail and chat: reads are untrusted, sends are not', () => {
    assert.equal(inferredTrust('mail.search', []), 'untrusted', 'searching mail reads it');
    assert.equal(inferredTrust('mail.read', ['read']), 'untrusted');
    assert.equal(inferredTrust('slack.history', []), 'untrusted');
    assert.equal(inferredTrust('mail.send', ['send']), 'trusted');
    assert.equal(inferredTrust('chat.post_message', ['send']), 'trusted');
  });
});

describe('operations and memory inferred from the tool name', () => {
  const data = (tools: Record<string, unknown>) => ({ aarm: { catalog: { tools } } });
  const of = (tool: string, entry: Record<string, unknown>) => catalogTool(data({ [tool]: entry }), tool);

  test('a share, an invite or a role change grants; a transfer of money pays', () => {
    assert.deepEqual(of('drive.share', { operation: 'write' }).operations, ['write', 'grant']);
    assert.deepEqual(of('repo.add_collaborator', { operation: 'write' }).operations, ['write', 'grant']);
    assert.deepEqual(of('iam.grant_role', { operation: 'write' }).operations, ['write', 'grant']);
    assert.deepEqual(of('bank.transfer', { operation: 'write' }).operations, ['write', 'pay']);
    assert.deepEqual(of('pay.invoice', { operation: 'send' }).operations, ['send', 'pay']);
  });

  test('a write whose name says it deletes also deletes', () => {
    assert.deepEqual(of('dms.delete', { operation: 'write' }).operations, ['write', 'delete']);
    assert.deepEqual(of('crm.purge_contacts', { operation: 'write' }).operations, ['write', 'delete']);
    assert.deepEqual(of('drive.removeFile', { operation: 'write' }).operations, ['write', 'delete']);
    assert.deepEqual(of('files.delete', { operation: 'read' }).operations, ['read'], 'a read is left alone');
    assert.deepEqual(of('files.delete', { operation: 'delete' }).operations, ['delete']);
    assert.deepEqual(of('docs.deleted_list', { operation: 'write' }).operations, ['write'], 'whole words only');
  });

  test('nothing is added to reads, to what the catalog already says, or to unrelated names', () => {
    assert.deepEqual(of('drive.share_list', { operation: 'read' }).operations, ['read']);
    assert.deepEqual(
      of('files.transfer', { operation: 'write' }).operations,
      ['write'],
      'a file transfer moves no money',
    );
    assert.deepEqual(of('iam.grant_role', { operation: 'grant' }).operations, ['grant']);
    assert.deepEqual(of('mail.send', { operation: 'send' }).operations, ['send']);
  });

  test('memory tools save and recall; the catalog has the last word', () => {
    assert.equal(of('memory.save', { operation: 'write' }).memory, 'save');
    assert.equal(of('agent.remember', { operation: 'write' }).memory, 'save');
    assert.equal(of('memory.search', { operation: 'read' }).memory, 'recall');
    assert.equal(of('notes.write', { operation: 'write' }).memory, undefined);
    assert.equal(of('memory.save', { operation: 'write', memory: 'recall' }).memory, 'recall');
  });
});
