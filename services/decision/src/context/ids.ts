/**
 * Ids of receipts, approvals, deferrals and generated actions carry their session's tag, so
 * any of them can be found from its id alone while every key of a session stays in one
 * Redis Cluster hash slot (the tag is the hash tag).
 */
import { createHash, randomBytes } from 'node:crypto';

const ID_PATTERN = /^(rcpt|apr|dfr|act)_([0-9a-f]{32})_([0-9a-f]{20})$/;

export type IdKind = 'rcpt' | 'apr' | 'dfr' | 'act';

/**
 * 128 bits of SHA-256 over the tenant and the session id: fixed length, no braces whatever
 * the id holds, and two tenants' "s-1" are two sessions, not one.
 */
export function sessionTag(tenant: string, sessionId: string): string {
  return createHash('sha256').update(`${tenant}\0${sessionId}`, 'utf8').digest('hex').slice(0, 32);
}

export function newId(kind: IdKind, tag: string): string {
  return `${kind}_${tag}_${randomBytes(10).toString('hex')}`;
}

/** The session tag inside an id of one of the given kinds, or undefined when it is not one of ours. */
export function tagOfId(id: string, ...kinds: IdKind[]): string | undefined {
  const m = ID_PATTERN.exec(id);
  return m && kinds.includes(m[1] as IdKind) ? m[2] : undefined;
}
