/**
 * An example tool server that honours Arbiter's capabilities (AARM R9). It is a stand-in
 * for a real backend (a file service, a database proxy, a payments API) and talks to
 * Arbiter over HTTP only:
 *
 *   POST /tools/<tool>                    JSON body = the parameters to run with
 *   x-aarm-capability: <capability>       from Arbiter's decide answer (ALLOW or MODIFY)
 *
 * 1. asks Arbiter `POST /v1/capabilities/verify` {capability, tool, parameters, scope,
 *    redeem: true}, with the scope of what this tool does: the capability must be for this
 *    tool, these exact parameters, this scope, unexpired and unused;
 * 2. refuses with 403 anything Arbiter does not call valid (503 if Arbiter cannot answer:
 *    fail closed, the tool does not run);
 * 3. runs the (fake) tool;
 * 4. reports the use as the action's outcome, `POST /v1/actions/{action_id}/outcome`
 *    {status, output_hash, session_id}, so every use is in the session's receipt chain.
 *
 * Run:  ARBITER_URL=http://127.0.0.1:8700 TOOL_SERVER_PORT=8800 node --import tsx examples/tool-server/server.ts
 * With ARBITER_AUTH=jwt, give it a token with the role "pep": ARBITER_TOKEN=<jwt>.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

export type ToolScope = 'read' | 'write' | 'delete' | 'execute' | 'send' | 'grant' | 'pay';

export interface ToolDefinition {
  /** What this tool does: the scope the capability must carry. */
  scope: ToolScope;
  run(parameters: Record<string, unknown>): unknown;
}

/** Fake tools matching the shipped catalogue (rego/data.json). */
export const DEFAULT_TOOLS: Record<string, ToolDefinition> = {
  'files.read': { scope: 'read', run: (p) => ({ path: p.path, content: `contents of ${String(p.path)}` }) },
  'db.query': {
    scope: 'read',
    run: (p) => ({ rows: Array.from({ length: Math.min(Number(p.limit ?? 3), 3) }, (_, i) => ({ id: i + 1 })) }),
  },
  'email.send': { scope: 'send', run: (p) => ({ sent: true, to: p.to }) },
  'http.post': { scope: 'send', run: (p) => ({ posted: true, url: p.url }) },
  'payments.transfer': { scope: 'pay', run: (p) => ({ transferred: p.amount, reference: `tx-${Date.now()}` }) },
  'db.drop': { scope: 'delete', run: (p) => ({ dropped: p.database }) },
  'credentials.rotate': { scope: 'execute', run: (p) => ({ rotated: p.name }) },
};

export interface ToolServerOptions {
  /** Arbiter's base URL, e.g. http://127.0.0.1:8700. */
  arbiterUrl: string;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Bearer token for Arbiter (role "pep") when it runs with ARBITER_AUTH=jwt. */
  token?: string;
  tools?: Record<string, ToolDefinition>;
  /** Per request to Arbiter. Default 5000 ms. */
  timeoutMs?: number;
  maxBodyBytes?: number;
}

export interface RunningToolServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

interface VerifyAnswer {
  valid: boolean;
  reason?: string;
  claims?: {
    jti: string;
    aud: string;
    aarm: { tool: string; scope: string; action: string; session: string; receipt: string };
  };
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.error ?? status));
  }
}

export async function startToolServer(options: ToolServerOptions): Promise<RunningToolServer> {
  const arbiter = options.arbiterUrl.replace(/\/+$/, '');
  const tools = options.tools ?? DEFAULT_TOOLS;
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxBody = options.maxBodyBytes ?? 256 * 1024;

  const callArbiter = async (path: string, body: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${arbiter}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.token && { authorization: `Bearer ${options.token}` }),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { raw: text };
    }
    return { status: res.status, body: parsed };
  };

  const verify = async (
    capability: string,
    tool: string,
    scope: ToolScope,
    parameters: Record<string, unknown>,
  ): Promise<VerifyAnswer> => {
    let answer: { status: number; body: any };
    try {
      answer = await callArbiter('/v1/capabilities/verify', { capability, tool, parameters, scope, redeem: true });
    } catch {
      throw new HttpFailure(503, { error: 'arbiter_unreachable' });
    }
    if (answer.status === 200 && typeof answer.body?.valid === 'boolean') return answer.body as VerifyAnswer;
    // 4xx: Arbiter would not judge this request (e.g. a malformed body): a refusal. 5xx: fail closed.
    if (answer.status >= 400 && answer.status < 500)
      return { valid: false, reason: answer.body?.error?.code ?? 'rejected' };
    throw new HttpFailure(503, { error: 'arbiter_unavailable', status: answer.status });
  };

  /** The outcome, retried a little: the tool has run, so the use must reach the receipt chain. */
  const report = async (claims: NonNullable<VerifyAnswer['claims']>, status: 'success' | 'error', output: unknown) => {
    const body = { status, output_hash: outputHash(output), session_id: claims.aarm.session };
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await callArbiter(`/v1/actions/${encodeURIComponent(claims.aarm.action)}/outcome`, body);
        if (res.status === 200) return { recorded: true, receipt_id: res.body?.receipt?.id as string | undefined };
        if (res.status < 500 || attempt >= 3)
          return { recorded: false, status: res.status, error: res.body?.error?.code };
      } catch (err) {
        if (attempt >= 3) return { recorded: false, error: err instanceof Error ? err.message : String(err) };
      }
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://tool-server');
    const match = /^\/tools\/([^/]+)$/.exec(url.pathname);
    if (!match) throw new HttpFailure(404, { error: 'not_found' });
    if (req.method !== 'POST') throw new HttpFailure(405, { error: 'method_not_allowed' });
    const tool = decodeURIComponent(match[1]!);
    const definition = Object.hasOwn(tools, tool) ? tools[tool] : undefined;
    if (!definition) throw new HttpFailure(404, { error: 'unknown_tool', tool });

    const capability = req.headers['x-aarm-capability'];
    if (typeof capability !== 'string' || capability === '')
      throw new HttpFailure(403, { error: 'capability_required' });
    const parameters = await readJson(req, maxBody);

    const verdict = await verify(capability, tool, definition.scope, parameters);
    // Defence in depth: even a "valid" answer must name this tool and this scope (alone, or
    // in the union "read send" of a tool that does several operations).
    if (
      !verdict.valid ||
      !verdict.claims ||
      verdict.claims.aud !== tool ||
      !verdict.claims.aarm.scope.split(' ').includes(definition.scope)
    ) {
      throw new HttpFailure(403, { error: 'capability_refused', reason: verdict.reason ?? 'invalid_answer' });
    }
    const claims = verdict.claims;

    let output: unknown;
    let status: 'success' | 'error' = 'success';
    try {
      output = await definition.run(parameters);
    } catch (err) {
      status = 'error';
      output = { error: err instanceof Error ? err.message : String(err) };
    }
    const outcome = await report(claims, status, output);
    send(res, status === 'success' ? 200 : 500, { tool, action_id: claims.aarm.action, status, output, outcome });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpFailure) send(res, err.status, err.body);
      else send(res, 500, { error: 'internal' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** "sha256:<hex>" of the JSON output (the form Arbiter's outcome accepts). */
function outputHash(output: unknown): string {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(output ?? null), 'utf8')
    .digest('hex')}`;
}

async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HttpFailure(415, { error: 'unsupported_media_type' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpFailure(413, { error: 'payload_too_large' });
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpFailure(400, { error: 'invalid_json' });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new HttpFailure(400, { error: 'parameters must be a JSON object' });
  return body as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// Run directly: node --import tsx examples/tool-server/server.ts
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arbiterUrl = process.env.ARBITER_URL ?? 'http://127.0.0.1:8700';
  const port = Number(process.env.TOOL_SERVER_PORT ?? 8800);
  startToolServer({ arbiterUrl, port, ...(process.env.ARBITER_TOKEN && { token: process.env.ARBITER_TOKEN }) })
    .then((s) => console.log(`tool server on ${s.url}, verifying capabilities at ${arbiterUrl}`))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
