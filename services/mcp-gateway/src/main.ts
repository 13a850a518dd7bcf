/**
 * The MCP gateway as a process: spawns the upstream MCP server over stdio, and serves the
 * mediated tools to its own client over stdio. Configured by the environment:
 *
 *   ARBITER_URL                    Arbiter's base URL (required)
 *   MCP_UPSTREAM_COMMAND           the upstream server's command, and its arguments in
 *   MCP_UPSTREAM_ARGS              as a JSON array of strings (or `-- command args…` on the
 *                                  command line instead of both)
 *   ARBITER_SESSION_ID             the session (default: a random one per gateway process)
 *   ARBITER_AGENT                  the agent id (required)
 *   ARBITER_HUMAN, ARBITER_INTENT  optional
 *   ARBITER_AGENT_TOKEN_FILE       file holding the agent's JWT (identity.agent_token)
 *   ARBITER_CALLER_TOKEN_FILE      file holding the gateway's bearer token
 *                                  (both re-read at most once a second, so rotation needs no restart)
 *   ARBITER_APPROVAL_WAIT_S        longest wait for STEP_UP/DEFER (default 300, max 3600)
 *   ARBITER_REQUEST_TIMEOUT_MS     timeout of each request to Arbiter (default 5000)
 *   MCP_GATEWAY_META_TOOLS         comma-separated names of generic wrappers of the form
 *                                  { "name": tool, "arguments": {…} } (e.g. call_tool)
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createGateway, wrapperMetaTool, type MetaToolResolver } from './gateway.js';
import { tokenFile, type TokenSource } from './token-file.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

/** The token file a variable names, read once now so a wrong path fails the start rather than every call. */
async function tokenFrom(name: string): Promise<TokenSource | undefined> {
  const file = process.env[name];
  if (!file) return undefined;
  const source = tokenFile(file);
  await source();
  return source;
}

/** `-- command args…` on the command line, else MCP_UPSTREAM_COMMAND and MCP_UPSTREAM_ARGS. */
function upstreamCommand(): { command: string; args: string[] } {
  const dash = process.argv.indexOf('--');
  const [command, ...args] = dash >= 0 ? process.argv.slice(dash + 1) : [];
  if (command) return { command, args };
  const raw = process.env.MCP_UPSTREAM_ARGS;
  const parsed: unknown = raw ? JSON.parse(raw) : [];
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    throw new Error('MCP_UPSTREAM_ARGS must be a JSON array of strings');
  }
  return { command: required('MCP_UPSTREAM_COMMAND'), args: parsed };
}

async function main(): Promise<void> {
  const arbiterUrl = required('ARBITER_URL');
  const agent = required('ARBITER_AGENT');
  const metaTools: Record<string, MetaToolResolver> = {};
  for (const name of (process.env.MCP_GATEWAY_META_TOOLS ?? '').split(',')) {
    if (name.trim()) metaTools[name.trim()] = wrapperMetaTool();
  }

  const agentToken = await tokenFrom('ARBITER_AGENT_TOKEN_FILE');
  const callerToken = await tokenFrom('ARBITER_CALLER_TOKEN_FILE');

  // The upstream gets the safe default environment, none of the gateway's own settings.
  const upstream = new Client({ name: 'arbiter-mcp-gateway', version: '0.1.0' });
  await upstream.connect(
    new StdioClientTransport({
      ...upstreamCommand(),
      env: getDefaultEnvironment(),
      stderr: 'inherit',
    }),
  );

  const gateway = createGateway({
    arbiterUrl,
    upstream,
    sessionId: process.env.ARBITER_SESSION_ID || `mcp-${randomUUID()}`,
    agent,
    ...(process.env.ARBITER_HUMAN && { human: process.env.ARBITER_HUMAN }),
    ...(process.env.ARBITER_INTENT && { intent: process.env.ARBITER_INTENT }),
    agentToken,
    callerToken,
    approvalWaitSeconds: Number(process.env.ARBITER_APPROVAL_WAIT_S ?? 300),
    requestTimeoutMs: Number(process.env.ARBITER_REQUEST_TIMEOUT_MS ?? 5000),
    metaTools,
  });
  // Either side going away ends the process: the client's with 0, the upstream's with 1.
  let closing = false;
  gateway.onclose = () => {
    if (closing) return;
    closing = true;
    void upstream.close().finally(() => process.exit(0));
  };
  upstream.onclose = () => {
    if (closing) return;
    closing = true;
    process.stderr.write('mcp-gateway: the upstream server closed\n');
    process.exit(1);
  };
  await gateway.connect(new StdioServerTransport());
}

main().catch((err: unknown) => {
  process.stderr.write(`mcp-gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
