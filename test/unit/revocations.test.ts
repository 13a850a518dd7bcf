/**
 * Revocations (issue 12) on both stores: per tenant for token ids too, keys that no tenant
 * containing ":" can spell for another, an end (with the token, or after the revocation
 * TTL) that a second revocation never brings forward, and entries written before all this
 * still honoured.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { MemorySessionStore } from '../../services/decision/src/context/memory.js';
import { RedisSessionStore } from '../../services/decision/src/context/redis.js';
import {
  REVOCATION_EXP_LEEWAY_SECONDS,
  revocationKeys,
  type SessionStore,
} from '../../services/decision/src/context/types.js';
import { deleteKeys, TEST_REDIS_URL } from '../support/arbiter.js';

const TAG = '0123456789abcdef0123456789abcdef';
const T0 = Date.parse('2030-01-01T00:00:00.000Z');

const revoked = async (store: SessionStore, r: { tenant: string; jti?: string; sub?: string }) =>
  (await store.load(TAG, { revocation: r })).revoked;

/** The behaviour both stores share. */
function common(make: () => Promise<SessionStore>) {
  test('a token id is revoked in its tenant only', async () => {
    const store = await make();
    await store.addRevocation({ tenant: 'acme', jti: 'tok-9', at: new Date().toISOString() });
    assert.equal(await revoked(store, { tenant: 'acme', jti: 'tok-9' }), true);
    assert.equal(await revoked(store, { tenant: 'globex', jti: 'tok-9' }), false);
  });

  test('a tenant or subject holding ":" cannot name another pair', async () => {
    const store = await make();
    await store.addRevocation({ tenant: 'a:b', sub: 'c', at: new Date().toISOString() });
    assert.equal(await revoked(store, { tenant: 'a:b', sub: 'c' }), true);
    assert.equal(await revoked(store, { tenant: 'a', sub: 'b:c' }), false);
    await store.addRevocation({ tenant: 'x', jti: 'y:z', at: new Date().toISOString() });
    assert.equal(await revoked(store, { tenant: 'x:y', jti: 'z' }), false);
    assert.equal(await revoked(store, { tenant: 'x', jti: 'y:z' }), true);
  });
}

test('keys encode every part, so distinct (tenant, id) pairs never share one', () => {
  assert.notDeepEqual(revocationKeys({ tenant: 'a:b', sub: 'c' }), revocationKeys({ tenant: 'a', sub: 'b:c' }));
  assert.notDeepEqual(revocationKeys({ tenant: 'a', jti: 'sub:x' }), revocationKeys({ tenant: 'a', sub: 'x' }));
  assert.notDeepEqual(revocationKeys({ tenant: 'a%3Ab', sub: 'c' }), revocationKeys({ tenant: 'a:b', sub: 'c' }));
});

describe('the memory store', () => {
  common(async () => new MemorySessionStore(60));

  test('a jti revocation ends with its token; a subject one after the revocation TTL; none ends early', async () => {
    let now = T0;
    const store = new MemorySessionStore(60, () => now, { revocationTtlSeconds: 3600 });
    const at = new Date(T0).toISOString();
    const exp = T0 / 1000 + 600;
    await store.addRevocation({ tenant: 'acme', jti: 'short', exp, at });
    await store.addRevocation({ tenant: 'acme', jti: 'long', at });
    await store.addRevocation({ tenant: 'acme', sub: 'agent-1', at });
    // Named again with an earlier exp: the longer life it has stays.
    await store.addRevocation({ tenant: 'acme', jti: 'long', exp, at });

    now = (exp + REVOCATION_EXP_LEEWAY_SECONDS) * 1000 - 1;
    assert.equal(await revoked(store, { tenant: 'acme', jti: 'short' }), true, 'within the verifier tolerance');
    now = (exp + REVOCATION_EXP_LEEWAY_SECONDS) * 1000;
    assert.equal(await revoked(store, { tenant: 'acme', jti: 'short' }), false, 'the token is dead anyway');
    assert.equal(await revoked(store, { tenant: 'acme', jti: 'long' }), true);
    assert.equal(await revoked(store, { tenant: 'acme', sub: 'agent-1' }), true);

    now = T0 + 3600 * 1000;
    assert.equal(await revoked(store, { tenant: 'acme', jti: 'long' }), false);
    assert.equal(await revoked(store, { tenant: 'acme', sub: 'agent-1' }), false);
    await store.addRevocation({ tenant: 'acme', sub: 'agent-2', at: new Date(now).toISOString() });
    assert.equal(store.usage().revocations, 1, 'expired revocations are forgotten');
  });
});

describe('the Redis store', () => {
  const prefix = `arbiter-test:${randomBytes(6).toString('hex')}:`;
  const stores: RedisSessionStore[] = [];
  let redis: Redis;
  const ready = async (store: RedisSessionStore) => {
    // The connection answers only once it is up (no offline queue): bounded wait for it.
    for (let i = 0; ; i++) {
      try {
        return await store.ping();
      } catch (err) {
        if (i >= 100) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const make = (revocationTtlSeconds?: number) => {
    const store = new RedisSessionStore({
      url: TEST_REDIS_URL,
      prefix,
      timeoutMs: 2000,
      ttlSeconds: 60,
      shards: 1,
      waitReplicas: 0,
      ...(revocationTtlSeconds !== undefined && { revocationTtlSeconds }),
    });
    stores.push(store);
    return store;
  };
  before(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    redis.disconnect();
    await deleteKeys(TEST_REDIS_URL, prefix);
  });

  common(async () => {
    const store = make();
    await ready(store);
    return store;
  });

  test('entries expire in Redis: a subject after the TTL, a token id with its exp, never shortened', async () => {
    const store = make(3600);
    await ready(store);
    const now = Date.now();
    const at = new Date(now).toISOString();
    await store.addRevocation({ tenant: 'acme', sub: 'agent-1', at });
    await store.addRevocation({ tenant: 'acme', jti: 'dead', exp: Math.floor(now / 1000) - 3600, at });
    await store.addRevocation({ tenant: 'acme', jti: 'kept', at });
    await store.addRevocation({ tenant: 'acme', jti: 'kept', exp: Math.floor(now / 1000) - 3600, at });
    const ttl = async (r: { tenant: string; jti?: string; sub?: string }) =>
      redis.pttl(`${prefix}{rev}:${revocationKeys(r)[0]}`);
    const sub = await ttl({ tenant: 'acme', sub: 'agent-1' });
    assert.ok(sub > 0 && sub <= 3600 * 1000, `subject TTL ${sub}`);
    assert.ok((await ttl({ tenant: 'acme', jti: 'dead' })) <= 1000, 'a token long expired needs no entry');
    assert.ok((await ttl({ tenant: 'acme', jti: 'kept' })) > 1000, 'a later, shorter revocation did not shorten it');
  });

  test('entries written before per-tenant keys are still honoured, with their old broader meaning', async () => {
    const store = make();
    await ready(store);
    const legacy = JSON.stringify({ tenant: 'acme', jti: 'old', at: 'then' });
    await redis.hset(`${prefix}revocations`, 'jti:old', legacy, 'sub:acme:agent-old', legacy);
    assert.equal(await revoked(store, { tenant: 'globex', jti: 'old' }), true, 'fail closed: any tenant');
    assert.equal(await revoked(store, { tenant: 'acme', sub: 'agent-old' }), true);
    assert.equal(await revoked(store, { tenant: 'acme', sub: 'agent-new' }), false);
  });
});
