/**
 * The reference PEP for MCP: a gateway between an MCP client (the agent) and an upstream
 * MCP server. Every tools/call is mediated: resolved (meta-tools), normalised into an
 * action, decided by Arbiter (POST /v1/decide), its capability verified and redeemed
 * (POST /v1/capabilities/verify, redeem: true), and only then, and only as decided, run
 * upstream. Anything but a clean ALLOW or MODIFY with a capability used up for exactly
 * this call ends in an isError tool result and no upstream call (AARM R1: no fail-open mode).
 */
import { createHash } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type CallToolResult,
  type ListToolsResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { TokenSource } from './token-file.js';

/** The header a load balancer may hash on to keep a session's calls on one Arbiter replica. */
const SESSION_HEADER = 'x-arbiter-session';

/** What a meta-tool resolver returns: the real tool and its arguments. */
export interface ResolvedCall {
  tool: string;
  arguments: Record<string, unknown>;
}

export type MetaToolResolver = (args: Record<string, unknown>) => ResolvedCall;

export type GatewayLogger = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface GatewayOptions {
  /** Base URL of Arbiter, e.g. http://127.0.0.1:8080 (no trailing /v1). */
  arbiterUrl: string;
  /** An already-connected MCP client to the real tool server. */
  upstream: Client;
  sessionId: string;
  /** Sent with every decide request; the first call of a session sets the session's intent. */
  intent?: string;
  agent: string;
  human?: string;
  /** The agent's own JWT, sent as identity.agent_token; a TokenSource (tokenFile) is asked before each decide. */
  agentToken?: string | TokenSource;
  /**
   * The gateway's own token, sent as `Authorization: Bearer …` (role `pep` with ARBITER_AUTH=jwt);
   * a TokenSource is asked before each request, so a rotated token file is picked up.
   */
  callerToken?: string | TokenSource;
  /** Longest total wait for a STEP_UP approval or a DEFER resolution, 0..MAX_APPROVAL_WAIT_SECONDS. */
  approvalWaitSeconds: number;
  /** Timeout of each request to Arbiter (a long-poll gets its wait on top). */
  requestTimeoutMs: number;
  fetchImpl?: typeof fetch;
  /** Generic wrapper tools, by name, and how to find the real call inside their arguments. */
  metaTools?: Record<string, MetaToolResolver>;
  /** Defaults to JSON lines on stderr (stdout may be the MCP transport). */
  logger?: GatewayLogger;
  /** Name and version the gateway announces to its clients. */
  serverInfo?: { name: string; version: string };
}

/** The capability travels to the upstream in the request's _meta under this key. */
export const CAPABILITY_META_KEY = 'aarm/capability';
export const MAX_APPROVAL_WAIT_SECONDS = 3600;
/** Arbiter's own bound on one long-poll (MAX_WAIT_SECONDS in enforce/pending.ts). */
const MAX_POLL_SECONDS = 60;
/** A meta-tool may wrap another one, but not forever. */
const MAX_META_DEPTH = 4;
/** Pages of the upstream tool list read to find one tool's annotations. */
const MAX_LIST_PAGES = 50;

const DECISIONS = new Set(['ALLOW', 'DENY', 'MODIFY', 'STEP_UP', 'DEFER']);

type Reason = { policy_id?: string; reason?: string };

interface Answer {
  decision: 'ALLOW' | 'DENY' | 'MODIFY' | 'STEP_UP' | 'DEFER';
  action_id: string;
  reasons: Reason[];
  parameters?: Record<string, unknown>;
  approval?: { id: string };
  deferral?: { id: string };
  capability?: string;
}

/** A go-ahead: run this upstream with these arguments and this capability. */
interface Go {
  actionId: string;
  arguments: Record<string, unknown>;
  capability: string;
}

/** Why an action does not run; becomes the isError result. */
class Refusal extends Error {
  constructor(
    message: string,
    readonly reasons: Reason[] = [],
    readonly actionId?: string,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const defaultLogger: GatewayLogger = (level, message, fields) => {
  process.stderr.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), component: 'mcp-gateway', msg: message, ...fields })}\n`,
  );
};

/**
 * The usual generic wrapper, e.g. `call_tool { "name": "db.query", "arguments": {…} }`:
 * a resolver that reads the real tool's name and arguments from two members.
 */
export function wrapperMetaTool(nameKey = 'name', argumentsKey = 'arguments'): MetaToolResolver {
  return (args) => {
    const tool = args[nameKey];
    const inner = args[argumentsKey] ?? {};
    if (typeof tool !== 'string' || tool === '') throw new Error(`"${nameKey}" must name the tool to call`);
    if (!isObject(inner)) throw new Error(`"${argumentsKey}" must be an object`);
    return { tool, arguments: inner };
  };
}

/** sha256: and the hex SHA-256 of the JSON of a tool result's content. */
export function outputHash(content: unknown): string {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(content ?? []))
    .digest('hex')}`;
}

/**
 * The operation declared for a tool, from the upstream's annotations, which may only make
 * an action look more dangerous, never less: the upstream may be compromised.
 * destructiveHint → delete; readOnlyHint (alone) → no operation at all; anything else →
 * write. Without an operation Arbiter's catalogue (data.aarm.catalog) states what a
 * catalogued tool does, and for an uncatalogued one the policy's default posture applies
 * (no rule may treat it as a read) and its capability gets scope "none". A declared "read"
 * would instead let a destructive tool pass for a read wherever the catalogue is silent.
 */
export function operationOf(tool: Tool | undefined): 'write' | 'delete' | undefined {
  if (tool?.annotations?.destructiveHint === true) return 'delete';
  if (tool?.annotations?.readOnlyHint === true) return undefined;
  return 'write';
}

/** Validates a decide answer; anything it does not recognise is a refusal (fail closed). */
function parseAnswer(body: unknown): Answer {
  if (!isObject(body)) throw new Refusal('Arbiter answered with something that is not a JSON object');
  const { decision, action_id: actionId } = body;
  if (typeof decision !== 'string' || !DECISIONS.has(decision)) {
    throw new Refusal(`Arbiter answered with an unknown decision: ${JSON.stringify(decision)}`);
  }
  if (typeof actionId !== 'string' || actionId === '') throw new Refusal('Arbiter answered without an action_id');
  const reasons = Array.isArray(body.reasons) ? (body.reasons.filter(isObject) as Reason[]) : [];
  const answer: Answer = { decision: decision as Answer['decision'], action_id: actionId, reasons };
  if (typeof body.capability === 'string') answer.capability = body.capability;
  if (isObject(body.parameters)) answer.parameters = body.parameters;
  if (isObject(body.approval) && typeof body.approval.id === 'string') answer.approval = { id: body.approval.id };
  if (isObject(body.deferral) && typeof body.deferral.id === 'string') answer.deferral = { id: body.deferral.id };
  if (decision === 'MODIFY' && !answer.parameters) throw new Refusal('Arbiter answered MODIFY without parameters');
  if (decision === 'STEP_UP' && !answer.approval) throw new Refusal('Arbiter answered STEP_UP without an approval id');
  if (decision === 'DEFER' && !answer.deferral) throw new Refusal('Arbiter answered DEFER without a deferral id');
  if ((decision === 'ALLOW' || decision === 'MODIFY') && !answer.capability) {
    throw new Refusal(`Arbiter answered ${decision} without a capability`);
  }
  return answer;
}

function refusalResult(refusal: Refusal, tool: string): CallToolResult {
  const lines = refusal.reasons.map(
    (r) => `- ${r.reason ?? '(no reason given)'}${r.policy_id ? ` [${r.policy_id}]` : ''}`,
  );
  return {
    isError: true,
    content: [{ type: 'text', text: [`${tool} was not run: ${refusal.message}`, ...lines].join('\n') }],
    structuredContent: {
      aarm: {
        executed: false,
        message: refusal.message,
        reasons: refusal.reasons,
        ...(refusal.actionId && { action_id: refusal.actionId }),
      },
    },
  };
}

export function createGateway(options: GatewayOptions): Server {
  const { upstream, metaTools = {} } = options;
  if (!Number.isFinite(options.approvalWaitSeconds) || options.approvalWaitSeconds < 0) {
    throw new RangeError('approvalWaitSeconds must be a number of seconds, 0 or more');
  }
  if (options.approvalWaitSeconds > MAX_APPROVAL_WAIT_SECONDS) {
    throw new RangeError(`approvalWaitSeconds must be at most ${MAX_APPROVAL_WAIT_SECONDS}`);
  }
  if (!Number.isFinite(options.requestTimeoutMs) || options.requestTimeoutMs <= 0) {
    throw new RangeError('requestTimeoutMs must be a positive number of milliseconds');
  }
  const fetchImpl = options.fetchImpl ?? fetch;
  const log = options.logger ?? defaultLogger;
  const base = options.arbiterUrl.replace(/\/+$/, '');
  const tools = new Map<string, Tool>();

  const server = new Server(options.serverInfo ?? { name: 'arbiter-mcp-gateway', version: '0.1.0' }, {
    capabilities: { tools: {} },
  });

  // --- Arbiter over HTTP ------------------------------------------------------------------

  /** A token that cannot be read is a Refusal: nothing is sent without the configured token. */
  const current = async (which: 'agent' | 'caller', token: string | TokenSource | undefined) => {
    if (typeof token !== 'function') return token;
    try {
      return await token();
    } catch (err) {
      log('error', `the ${which} token could not be read`, { error: err instanceof Error ? err.message : String(err) });
      throw new Refusal(`the gateway's ${which} token could not be read`);
    }
  };

  // The session id as a header too, for a load balancer that routes a session's calls to one
  // replica by hashing it (docs/operations.md, "Parallel calls on one session"); a header
  // holds only visible ASCII, so an id with anything else is not sent that way.
  const sessionHeader: Record<string, string> = /^[\x21-\x7e]{1,256}$/.test(options.sessionId)
    ? { [SESSION_HEADER]: options.sessionId }
    : {};

  const headers = async (): Promise<Record<string, string>> => {
    const callerToken = await current('caller', options.callerToken);
    return {
      'content-type': 'application/json',
      accept: 'application/json',
      ...sessionHeader,
      ...(callerToken && { authorization: `Bearer ${callerToken}` }),
    };
  };

  /** One request to Arbiter: the parsed JSON body of a 200, else a Refusal. */
  const arbiter = async (
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<unknown> => {
    const requestHeaders = await headers();
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetchImpl(`${base}${path}`, {
        method,
        headers: requestHeaders,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      });
    } catch (err) {
      const why = timeout.aborted
        ? `timed out after ${timeoutMs} ms`
        : signal?.aborted
          ? 'the call was cancelled'
          : String(err);
      throw new Refusal(`Arbiter could not be reached (${method} ${path}): ${why}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new Refusal(`Arbiter's answer could not be read (${method} ${path}): ${String(err)}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.status !== 200) {
      const error = isObject(parsed) && isObject(parsed.error) ? parsed.error : undefined;
      const detail = typeof error?.message === 'string' ? `: ${error.message}` : '';
      throw new Refusal(`Arbiter answered ${res.status} to ${method} ${path}${detail}`);
    }
    if (parsed === undefined) throw new Refusal(`Arbiter answered ${method} ${path} with a body that is not JSON`);
    return parsed;
  };

  /**
   * Long-polls an approval or a deferral until it closes, within the total wait. A
   * deferral that escalates to an approval is followed there. Ends in a go-ahead or a Refusal.
   */
  const awaitClosure = async (
    kind: 'approval' | 'deferral',
    id: string,
    actionId: string,
    original: Record<string, unknown>,
    signal: AbortSignal,
    progress: (message: string) => Promise<void>,
  ): Promise<Go> => {
    const deadline = Date.now() + options.approvalWaitSeconds * 1000;
    let current = { kind, id };
    for (let hops = 0; hops < 8;) {
      const remaining = Math.floor((deadline - Date.now()) / 1000);
      const wait = Math.max(0, Math.min(MAX_POLL_SECONDS, remaining));
      const path = `/v1/${current.kind}s/${encodeURIComponent(current.id)}?wait=${wait}`;
      const view = await arbiter('GET', path, undefined, wait * 1000 + options.requestTimeoutMs, signal);
      if (!isObject(view) || typeof view.status !== 'string') {
        throw new Refusal(
          `Arbiter answered the ${current.kind} ${current.id} with something unrecognisable`,
          [],
          actionId,
        );
      }
      const final = isObject(view.final) ? view.final : undefined;
      const reasons = final && Array.isArray(final.reasons) ? (final.reasons.filter(isObject) as Reason[]) : [];
      if (view.status === 'pending') {
        if (wait === 0 || Date.now() >= deadline) {
          throw new Refusal(
            `the ${current.kind} ${current.id} was still pending after ${options.approvalWaitSeconds} s`,
            [],
            actionId,
          );
        }
        await progress(`waiting for ${current.kind} ${current.id}`);
        // A server that answers a long-poll at once must not turn this into a busy loop.
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      if (view.status === 'escalated' && typeof view.escalated_to === 'string' && current.kind === 'deferral') {
        hops++;
        current = { kind: 'approval', id: view.escalated_to };
        await progress(`deferral escalated to approval ${current.id}`);
        continue;
      }
      const decision = view.decision ?? final?.decision;
      if (decision === 'ALLOW' || decision === 'MODIFY') {
        if (typeof view.capability !== 'string') {
          throw new Refusal(
            `the ${current.kind} ${current.id} ended in ${decision} without a capability`,
            reasons,
            actionId,
          );
        }
        if (decision === 'MODIFY' && !isObject(final?.parameters)) {
          throw new Refusal(`the ${current.kind} ${current.id} ended in MODIFY without parameters`, reasons, actionId);
        }
        const args = decision === 'MODIFY' ? (final!.parameters as Record<string, unknown>) : original;
        return { actionId, arguments: args, capability: view.capability };
      }
      throw new Refusal(
        `the ${current.kind} ${current.id} ended ${view.status}${typeof decision === 'string' ? ` (${decision})` : ''}`,
        reasons,
        actionId,
      );
    }
    throw new Refusal(`the ${kind} ${id} escalated too many times`, [], actionId);
  };

  // --- MCP ---------------------------------------------------------------------------------

  const remember = (list: Tool[]) => {
    for (const t of list) tools.set(t.name, t);
  };

  /** The upstream's description of a tool (for its annotations), listing again if unseen. */
  const describe = async (name: string, signal: AbortSignal): Promise<Tool | undefined> => {
    if (tools.has(name)) return tools.get(name);
    try {
      let cursor: string | undefined;
      for (let page = 0; page < MAX_LIST_PAGES; page++) {
        const listed = await upstream.listTools(cursor ? { cursor } : undefined, { signal });
        remember(listed.tools);
        cursor = listed.nextCursor;
        if (!cursor || tools.has(name)) break;
      }
    } catch (err) {
      log('warn', 'the upstream tool list could not be read; the operation defaults to write', {
        tool: name,
        error: String(err),
      });
    }
    return tools.get(name);
  };

  /** AML: meta-tools are resolved to the real tool before evaluation. */
  const resolve = (name: string, args: Record<string, unknown>): { chain: string[]; call: ResolvedCall } => {
    const chain: string[] = [];
    let call: ResolvedCall = { tool: name, arguments: args };
    while (Object.hasOwn(metaTools, call.tool)) {
      if (chain.length >= MAX_META_DEPTH) throw new Refusal(`meta-tool ${name} nests deeper than ${MAX_META_DEPTH}`);
      chain.push(call.tool);
      let next: unknown;
      try {
        next = metaTools[call.tool]!(call.arguments);
      } catch (err) {
        throw new Refusal(
          `meta-tool ${call.tool} could not be resolved: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      if (!isObject(next) || typeof next.tool !== 'string' || next.tool === '' || !isObject(next.arguments)) {
        throw new Refusal(`meta-tool ${call.tool} did not name a tool and its arguments`);
      }
      call = { tool: next.tool, arguments: next.arguments };
    }
    return { chain, call };
  };

  const decide = async (
    name: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
    progress: (m: string) => Promise<void>,
  ) => {
    const { chain, call } = resolve(name, args);
    const operation = operationOf(await describe(call.tool, signal));
    const action = {
      tool: call.tool,
      ...(operation !== undefined && { operation }),
      parameters: call.arguments,
      // The name the agent called, kept for audit when it was a meta-tool.
      ...(chain.length > 0 && { target: `meta-tool:${[...chain, call.tool].join('>')}` }),
    };
    const agentToken = await current('agent', options.agentToken);
    const request = {
      action,
      session: { id: options.sessionId, ...(options.intent !== undefined && { intent: options.intent }) },
      identity: {
        agent: options.agent,
        ...(options.human !== undefined && { human: options.human }),
        ...(agentToken !== undefined && { agent_token: agentToken }),
      },
      signals: {},
    };
    const answer = parseAnswer(await arbiter('POST', '/v1/decide', request, options.requestTimeoutMs, signal));
    log('info', 'decided', { tool: call.tool, via: chain, decision: answer.decision, action_id: answer.action_id });
    let go: Go;
    switch (answer.decision) {
      case 'ALLOW':
        go = { actionId: answer.action_id, arguments: call.arguments, capability: answer.capability! };
        break;
      case 'MODIFY':
        go = { actionId: answer.action_id, arguments: answer.parameters!, capability: answer.capability! };
        break;
      case 'STEP_UP':
        await progress(`waiting for approval ${answer.approval!.id}`);
        go = await awaitClosure('approval', answer.approval!.id, answer.action_id, call.arguments, signal, progress);
        break;
      case 'DEFER':
        await progress(`waiting for deferral ${answer.deferral!.id}`);
        go = await awaitClosure('deferral', answer.deferral!.id, answer.action_id, call.arguments, signal, progress);
        break;
      default:
        throw new Refusal('Arbiter denied the action', answer.reasons, answer.action_id);
    }
    await redeem(call.tool, go, signal);
    return { tool: call.tool, go };
  };

  /**
   * Uses the capability up for exactly the call about to run (tool and arguments) before
   * the upstream sees it: a capability that is not valid now, was used before, or whose
   * use Arbiter cannot record (unreachable, 503) runs nothing.
   */
  const redeem = async (tool: string, go: Go, signal: AbortSignal) => {
    const verdict = await arbiter(
      'POST',
      '/v1/capabilities/verify',
      { capability: go.capability, tool, parameters: go.arguments, redeem: true },
      options.requestTimeoutMs,
      signal,
    ).catch((err: unknown) => {
      throw err instanceof Refusal ? new Refusal(err.message, [], go.actionId) : err;
    });
    if (!isObject(verdict) || verdict.valid !== true) {
      const reason = isObject(verdict) && typeof verdict.reason === 'string' ? verdict.reason : 'unrecognised answer';
      throw new Refusal(`Arbiter refused the capability (${reason})`, [], go.actionId);
    }
  };

  /** Best effort: a failed report is logged and changes nothing for the caller. */
  const reportOutcome = async (actionId: string, status: 'success' | 'error', content: unknown) => {
    try {
      await arbiter(
        'POST',
        `/v1/actions/${encodeURIComponent(actionId)}/outcome`,
        { status, output_hash: outputHash(content) },
        options.requestTimeoutMs,
      );
    } catch (err) {
      log('error', 'the outcome could not be reported to Arbiter', {
        action_id: actionId,
        status,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  };

  server.setRequestHandler(ListToolsRequestSchema, async (request, extra): Promise<ListToolsResult> => {
    const listed = await upstream.listTools(request.params, { signal: extra.signal });
    remember(listed.tools);
    return { tools: listed.tools, ...(listed.nextCursor !== undefined && { nextCursor: listed.nextCursor }) };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const name = request.params.name;
    const args = request.params.arguments ?? {};
    const progressToken = request.params._meta?.progressToken;
    let step = 0;
    // Keeps a client that asked for progress (and resets its timeout on it) informed during long waits.
    const progress = async (message: string) => {
      if (progressToken === undefined) return;
      await extra
        .sendNotification({ method: 'notifications/progress', params: { progressToken, progress: ++step, message } })
        .catch(() => {});
    };

    let decided: { tool: string; go: Go };
    try {
      decided = await decide(name, args, extra.signal, progress);
    } catch (err) {
      const refusal =
        err instanceof Refusal
          ? err
          : new Refusal(`the gateway failed: ${err instanceof Error ? err.message : String(err)}`);
      log('warn', 'not run', { tool: name, reason: refusal.message, action_id: refusal.actionId });
      return refusalResult(refusal, name);
    }

    const { tool, go } = decided;
    let result: CallToolResult;
    try {
      result = (await upstream.callTool(
        { name: tool, arguments: go.arguments, _meta: { [CAPABILITY_META_KEY]: go.capability } },
        undefined,
        { signal: extra.signal },
      )) as CallToolResult;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      result = { isError: true, content: [{ type: 'text', text: `${tool} failed upstream: ${message}` }] };
    }
    await reportOutcome(go.actionId, result.isError ? 'error' : 'success', result.content);
    return result;
  });

  return server;
}
