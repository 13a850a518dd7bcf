/**
 * The listener's certificate, key and client CA, re-read while the service runs: a renewed
 * certificate (cert-manager, a rotated Kubernetes Secret, which swaps the mounted files)
 * serves new connections without a restart. Connections already open keep theirs. A set of
 * files that does not load (a key that does not match its certificate, a half-written file)
 * leaves the one in use in place and is tried again at the next check.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server as HttpsServer, ServerOptions } from 'node:https';

export interface TlsFiles {
  certPath: string;
  keyPath: string;
  clientCaPath?: string;
}

/** What the listener is built with: the files' contents and the fixed settings. */
export function tlsOptionsOf(files: TlsFiles): ServerOptions {
  return {
    cert: readFileSync(files.certPath),
    key: readFileSync(files.keyPath),
    minVersion: 'TLSv1.2',
    // mTLS: the handshake itself refuses a client without a certificate from this CA.
    ...(files.clientCaPath !== undefined && {
      ca: readFileSync(files.clientCaPath),
      requestCert: true,
      rejectUnauthorized: true,
    }),
  };
}

function fingerprint(options: ServerOptions): string {
  const hash = createHash('sha256');
  for (const part of [options.cert, options.key, options.ca]) hash.update(String(part ?? '')).update('\0');
  return hash.digest('hex');
}

export interface TlsReloadEvents {
  onReloaded: () => void;
  onFailed: (error: string) => void;
}

/**
 * Checks the files every `intervalMs` and swaps a changed, loadable set into `server`.
 * Returns the function that stops the checks.
 */
export function watchTls(
  server: HttpsServer,
  files: TlsFiles,
  initial: ServerOptions,
  intervalMs: number,
  events: TlsReloadEvents,
): () => void {
  let current = fingerprint(initial);
  let failed: string | undefined;
  const check = () => {
    let next: ServerOptions;
    try {
      next = tlsOptionsOf(files);
    } catch (err) {
      report(`cannot read the TLS files: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const print = fingerprint(next);
    if (print === current) return;
    try {
      server.setSecureContext(next);
    } catch (err) {
      report(`the new TLS certificate does not load: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    current = print;
    failed = undefined;
    events.onReloaded();
  };
  // One report per distinct failure, not one per check.
  const report = (error: string) => {
    if (error === failed) return;
    failed = error;
    events.onFailed(error);
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
