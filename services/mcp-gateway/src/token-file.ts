/**
 * A token kept in a file that something else rotates (a Kubernetes projected service
 * account token, a Vault agent sink, a cron job): read again when the last read is at
 * least `minIntervalMs` old, so a rotated token is used without a restart (issue 12) while
 * the file is read at most once per interval however many calls there are.
 *
 * Example: `const callerToken = tokenFile('/var/run/secrets/tokens/arbiter');`
 * then `await callerToken()` before each request.
 */
import { readFile } from 'node:fs/promises';

/** The current token; rejects when it cannot be had (the caller then runs nothing). */
export type TokenSource = () => Promise<string>;

export const TOKEN_REREAD_MS = 1000;

export function tokenFile(path: string, options: { minIntervalMs?: number; now?: () => number } = {}): TokenSource {
  const minIntervalMs = options.minIntervalMs ?? TOKEN_REREAD_MS;
  const now = options.now ?? Date.now;
  let last: { at: number; token: Promise<string> } | undefined;
  return () => {
    const at = now();
    if (last && at - last.at < minIntervalMs) return last.token;
    // A failed read is kept for the interval too: a missing or empty file fails every call
    // (fail closed) rather than falling back to an older token, and is not re-read in a loop.
    const token = readFile(path, 'utf8').then((text) => {
      const trimmed = text.trim();
      if (trimmed === '') throw new Error(`the token file ${path} is empty`);
      return trimmed;
    });
    token.catch(() => {});
    last = { at, token };
    return token;
  };
}
