/**
 * Ids of receipts, approvals and deferrals carry their session's tag, so any of them can
 * be found from its id alone while every key of a session stays in one Redis Cluster
 * hash slot (the tag is the hash tag).
 */
import { createHash, randomBytes } from 'node:crypto';

const TAG_HEX = 32;
const ID_PATTERN = /^(rcpt|apr|dfr)_([0-9a-f]{32})_([0-9a-f]{20})$/;

export type IdKind = 'rcpt' | 'apr' | 'dfr';

/** 128 bits of SHA-256 of the session id: fixed length, no braces, whatever the id holds. */
export function sessionTag(sessionId: string): string {
  return createHash('sha256').update(sessionId, 'utf8').digest('hex').slice(0, TAG_HEX);
}

export function newId(kind: IdKind, sessionId: string): string {
  return `${kind}_${sessionTag(sessionId)}_${randomBytes(10).toString('hex')}`;
}

/** The session tag inside an id, or undefined when the id is not one of ours. */
export function tagOfId(id: string, kind: IdKind): string | undefined {
  const m = ID_PATTERN.exec(id);
  return m && m[1] === kind ? m[2] : undefined;
}
