/**
 * Rate limits shared by replicas (issue 12, item 6), with real Redis, real HTTP and two
 * real Arbiter processes' worth of services on one Redis: a caller's bucket and a tenant's
 * bucket are one key every replica takes from; a limited decision is 429 DENY; a bucket
 * that cannot be reached refuses (503 DENY) rather than letting everything through.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decideBody, startTestArbiter, uniqueSession, type TestArbiter } from '../support/arbiter.js';
import { startRedisServer, type RedisServer } from '../support/redis-servers.js';
import { createTestIssuer } from '../support/tokens.js';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'arbiter';

describe('rate limits kept in Redis, shared by two replicas', () => {
  let redis: RedisServer;
  let dir: string;
  let replicas: TestArbiter[];
  const token: Record<string, string> = {};
  const decide = (replica: TestArbiter, who: string) =>
    replica.post('/v1/decide', decideBody(uniqueSession(`rl-${who}`), 'files.read', { path: '/a' }), {
      authorization: `Bearer ${token[who]}`,
    });

  before(async () => {
    redis = await startRedisServer();
    dir = mkdtempSync(join(tmpdir(), 'arbiter-rl-'));
    const idp = await createTestIssuer({ kid: 'idp-rl' });
    const jwksFile = await idp.writeJwksFile(dir);
    const caller = (sub: string, tenant: string) =>
      idp.sign({ sub, roles: ['pep'], tenant }, { issuer: ISSUER, audience: AUDIENCE, expiresIn: '1h' });
    token.a1 = await caller('gateway-a1', 'acme');
    token.a2 = await caller('gateway-a2', 'acme');
    token.a3 = await caller('gateway-a3', 'acme');
    token.b1 = await caller('gateway-b1', 'globex');
    // One token per 1000 s: whatever the timing, a bucket is spent by its burst alone.
    const env = {
      ARBITER_AUTH: 'jwt',
      ARBITER_JWKS_FILE: jwksFile,
      ARBITER_JWT_ISSUER: ISSUER,
      ARBITER_JWT_AUDIENCE: AUDIENCE,
      ARBITER_REDIS_PREFIX: 'arbiter-rl-test:',
      ARBITER_RATE_LIMIT_RPS: '0.001',
      ARBITER_RATE_LIMIT_BURST: '2',
      ARBITER_RATE_LIMIT_TENANT_RPS: '0.001',
      ARBITER_RATE_LIMIT_TENANT_BURST: '5',
    };
    replicas = [
      await startTestArbiter({ store: 'redis', redisUrl: redis.url, env }),
      await startTestArbiter({ store: 'redis', redisUrl: redis.url, env }),
    ];
  });
  after(async () => {
    for (const replica of replicas ?? []) await replica.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a caller's burst is spent across replicas, then its tenant's; another tenant is not touched", async () => {
    const [one, two] = replicas as [TestArbiter, TestArbiter];
    // Caller a1: burst 2, one request on each replica, the third (on either) is limited.
    assert.equal((await decide(one, 'a1')).status, 200);
    assert.equal((await decide(two, 'a1')).status, 200);
    const limited = await decide(one, 'a1');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.decision, 'DENY');
    assert.equal(limited.body.error.code, 'rate_limited');
    // Tenant acme: burst 5, of which a1 took 2 (its limited request took none from the tenant).
    assert.equal((await decide(two, 'a2')).status, 200);
    assert.equal((await decide(one, 'a2')).status, 200);
    assert.equal((await decide(two, 'a3')).status, 200, 'the fifth request of the tenant');
    const tenantLimited = await decide(one, 'a3');
    assert.equal(tenantLimited.status, 429, "a3's own bucket has room, the tenant's has none");
    assert.equal(tenantLimited.body.decision, 'DENY');
    // Another tenant has its own buckets.
    assert.equal((await decide(two, 'b1')).status, 200);
  });

  test('a bucket that cannot be reached refuses: 503 DENY, never an unlimited service', async () => {
    await redis.kill();
    const answer = await decide(replicas[0]!, 'b1');
    assert.equal(answer.status, 503);
    assert.equal(answer.body.decision, 'DENY');
    assert.equal(answer.body.error.code, 'store_unavailable');
    assert.match(answer.body.error.message, /rate limit could not be checked/);
    await redis.restart();
  });
});
