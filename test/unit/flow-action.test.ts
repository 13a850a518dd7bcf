/**
 * input.flow for one action (docs/detection.md 4): the operations the action's SQL says it
 * does, narrowed from the catalog's union, and credentials in any string leaf as secret
 * values a MODIFY can replace at their pointer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emptySummary } from '../../services/decision/src/context/types.js';
import { actionFlow, prepareFlow, type FlowState } from '../../services/decision/src/flow/index.js';

const SALT = 'AAAAAAAAAAAAAAAAAAAAAA';
const NOW = new Date('2031-05-04T10:20:00.000Z');
const sql = { sql: { kind: 'sql' } };
const data = {
  aarm: {
    catalog: {
      tools: {
        'sql.query': { operation: ['read', 'write', 'delete'], default_decision: 'ALLOW', parameters: sql },
        'sql.admin_exec': { operation: ['read', 'write', 'delete', 'grant'], default_decision: 'ALLOW' },
        'db.shell': { operation: 'execute', default_decision: 'ALLOW', parameters: sql },
        'db.readonly': { operation: 'read', default_decision: 'ALLOW', parameters: sql },
        'db.writer': { operation: 'write', default_decision: 'ALLOW', parameters: sql },
        'reports.mail_query': {
          operation: ['read', 'send'],
          default_decision: 'ALLOW',
          parameters: { sql: { kind: 'sql' }, to: { kind: 'email' } },
        },
        'warehouse.export': { operation: ['read', 'write'], default_decision: 'ALLOW', parameters: sql },
        'alerts.send_query': { operation: 'send', default_decision: 'ALLOW', parameters: sql },
        'telemetry.emit': { operation: 'send', default_decision: 'ALLOW', telemetry: true },
      },
    },
    org: { domains: ['acme.com'] },
  },
};

const start = (): FlowState => prepareFlow(emptySummary(), undefined, () => SALT);
const act = (tool: string, parameters: Record<string, unknown>, operation?: string) =>
  actionFlow({ flow: start(), policyData: data, tool, operation, parameters, now: NOW, actionCount: 1 }).flow;
const ops = (tool: string, parameters: Record<string, unknown>, operation?: string) => {
  const f = act(tool, parameters, operation);
  return [f.operations, f.operations_from];
};

describe('operations from the statement', () => {
  test('a read-only statement narrows a union to read', () => {
    assert.deepEqual(ops('sql.query', { sql: 'SELECT id, subject FROM tickets WHERE id = 4' }), [
      ['read'],
      'statement',
    ]);
    assert.deepEqual(ops('sql.admin_exec', { query: 'SET statement_timeout = 5000; SELECT count(*) FROM orders' }), [
      ['read'],
      'statement',
    ]);
    assert.deepEqual(ops('sql.query', { sql: 'EXPLAIN SELECT 1', params: [4, 'x'] }), [['read'], 'statement']);
  });

  test('row writes narrow to read and write; destructive, privilege and unknown statements keep the union', () => {
    assert.deepEqual(ops('sql.query', { sql: 'UPDATE tickets SET state = 2 WHERE id = 7' }), [
      ['read', 'write'],
      'statement',
    ]);
    assert.deepEqual(ops('sql.query', { sql: "INSERT INTO notes VALUES ('x')" }), [['read', 'write'], 'statement']);
    const union = [['read', 'write', 'delete'], 'catalog'];
    assert.deepEqual(ops('sql.query', { sql: 'DELETE FROM tickets' }), union);
    assert.deepEqual(ops('sql.query', { sql: 'SELECT * INTO t2 FROM tickets' }), union);
    assert.deepEqual(ops('sql.query', { sql: "COPY tickets TO '/tmp/t.csv'" }), union);
    assert.deepEqual(ops('sql.query', { sql: "SELECT setval('s', 1)" }), union);
    assert.deepEqual(ops('sql.admin_exec', { sql: 'GRANT SELECT ON payroll TO intern' }), [
      ['read', 'write', 'delete', 'grant'],
      'catalog',
    ]);
  });

  test('every SQL value of the action must be told', () => {
    assert.deepEqual(ops('sql.query', { sql: 'SELECT 1', steps: [{ sql: 'SELECT 2' }, { sql: 'SHOW TABLES' }] }), [
      ['read'],
      'statement',
    ]);
    assert.deepEqual(ops('sql.query', { sql: 'SELECT 1', steps: [{ sql: 'VACUUM FULL t' }] }), [
      ['read', 'write', 'delete'],
      'catalog',
    ]);
    assert.deepEqual(ops('sql.query', { sql: 'SELECT 1', steps: [{ sql: 'DELETE FROM t WHERE id = 1' }] }), [
      ['read', 'write'],
      'statement',
    ]);
  });

  test('only when the SQL is all the action does: no command, path or destination beside it', () => {
    const union = [['read', 'write', 'delete'], 'catalog'];
    assert.deepEqual(ops('sql.query', { sql: 'SELECT 1', command: 'rm -rf /tmp/x' }), union);
    assert.deepEqual(ops('sql.query', { sql: 'SELECT * FROM customers', path: '/exports/c.csv' }), union);
    assert.deepEqual(ops('sql.query', { sql: 'SELECT * FROM customers', webhook: 'https://x.io/h' }), union);
    assert.deepEqual(ops('reports.mail_query', { sql: 'SELECT 1', to: 'ann@acme.com' }), [['read', 'send'], 'catalog']);
    // A bound hit: what was read is not all there is.
    const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`n${i}`, `u${i}@x.io`]));
    assert.deepEqual(ops('sql.query', { sql: 'SELECT 1', ...many }), union);
  });

  test('a statement that does what the catalog says is told too: the change is known, not assumed', () => {
    assert.deepEqual(ops('db.writer', { sql: "UPDATE t SET state = 'ready' WHERE id = 2" }), [['write'], 'statement']);
    assert.deepEqual(ops('db.writer', { sql: 'SELECT count(*) FROM t' }), [['read'], 'statement']);
  });

  test('narrowed, never widened; operations the statement does not speak for stay', () => {
    assert.deepEqual(ops('db.shell', { sql: 'SELECT * FROM t' }), [['read'], 'statement'], 'execute of a read');
    assert.deepEqual(ops('db.readonly', { sql: 'INSERT INTO t VALUES (1)' }), [['read'], 'statement']);
    assert.deepEqual(ops('warehouse.export', { sql: 'SELECT 1' }), [['read'], 'statement']);
    assert.deepEqual(ops('alerts.send_query', { sql: 'SELECT 1' }), [['send'], 'catalog']);
    assert.deepEqual(ops('reports.mail_query', { sql: 'SELECT 1' }), [['read', 'send'], 'statement']);
    assert.deepEqual(ops('uncatalogued.db', { sql: 'SELECT 1' }, 'delete'), [['read'], 'statement']);
    assert.deepEqual(ops('uncatalogued.db', { sql: 'SELECT 1' }), [['read'], 'statement'], 'the catalog gives none');
    assert.deepEqual(ops('uncatalogued.db', { note: 'no SQL here' }, 'delete'), [['delete'], 'catalog']);
  });
});

describe('secrets in any string leaf', () => {
  test('a token in a nested telemetry attribute and in a header object are secret text values', () => {
    const flow = act('telemetry.emit', {
      service: 'dispatcher',
      attributes: {
        'url.full': 'https://hooks.partner.io/events',
        'http.request.header.authorization': 'Bearer hxk_live_4f9aC2mQ8zR1tV6wY3nB7pL0sD5gH2jK',
      },
      headers: { Authorization: 'Bearer [REDACTED]', Cookie: 'sid=9f8e7d6c5b4a39281706' },
    });
    const secrets = flow.values.filter((v) => v.flags.includes('secret'));
    assert.deepEqual(
      secrets.map((v) => [v.pointer, v.kind, v.flags, v.origin]),
      [
        ['/attributes/http.request.header.authorization', 'text', ['secret'], 'new'],
        ['/headers/Cookie', 'text', ['secret'], 'new'],
      ],
    );
    for (const v of flow.values) assert.ok(!('secret' in v), 'the flag says it; no other member does');
    assert.equal(flow.values.find((v) => v.kind === 'url')?.flags.length, 0);
  });

  test('a secret leaf that has a kind keeps it and is flagged; ordinary values are not', () => {
    const flow = act('sql.query', { sql: "SELECT * FROM users WHERE api_key = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'" });
    assert.deepEqual(flow.values[0]!.flags, ['secret']);
    assert.equal(flow.values[0]!.kind, 'sql');
    const plain = act('telemetry.emit', { attributes: { 'http.route': '/v1/orders', session: 'Keynote' } });
    assert.deepEqual(
      plain.values.filter((v) => v.flags.length > 0),
      [],
    );
  });
});
