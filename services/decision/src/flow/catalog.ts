/**
 * What the flow reads of a tool's catalog entry (docs/detection.md 1): operations,
 * parameter kinds, result level and trust, memory role. Parsed once per policy data
 * document and tool; the trust of an uncatalogued result is inferred from the tool's name.
 */
import { at, isClassification } from '../context/classify.js';
import type { Classification } from '../context/types.js';
import { paramSpecOf, type ParamSpec, type ToolSpec } from './kinds.js';

export type Trust = 'trusted' | 'untrusted';

export interface CatalogTool {
  /** The catalog's operations, lower-case; empty when it names none. */
  operations: string[];
  params: ReadonlyMap<string, ParamSpec>;
  classification?: Classification;
  resultTrust?: Trust;
  memory?: 'save' | 'recall';
}

const cache = new WeakMap<object, Map<string, CatalogTool>>();

function operationsOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((o): o is string => typeof o === 'string' && o.length > 0).map((o) => o.toLowerCase());
}

export function catalogTool(policyData: unknown, tool: string): CatalogTool {
  const key = policyData !== null && typeof policyData === 'object' ? policyData : undefined;
  let tools = key && cache.get(key);
  const cached = tools?.get(tool);
  if (cached) return cached;
  const entry = at(policyData, ['aarm', 'catalog', 'tools', tool]) as Record<string, unknown> | undefined;
  const params = new Map<string, ParamSpec>();
  const declared = entry?.parameters;
  if (declared !== null && typeof declared === 'object' && !Array.isArray(declared)) {
    for (const [path, spec] of Object.entries(declared)) {
      const parsed = paramSpecOf(spec);
      if (parsed) params.set(path, parsed);
    }
  }
  const trust = entry?.result_trust;
  const operations = operationsOf(entry?.operation);
  const memory = entry?.memory ?? inferredMemory(tool, operations);
  const parsed: CatalogTool = {
    operations: withInferredOperations(tool, operations),
    params,
    ...(isClassification(entry?.classification) && { classification: entry.classification }),
    ...((trust === 'trusted' || trust === 'untrusted') && { resultTrust: trust }),
    ...((memory === 'save' || memory === 'recall') && { memory }),
  };
  if (key) {
    if (!tools) cache.set(key, (tools = new Map()));
    // Tool names come from callers: only catalogued tools are kept, so the cache stays bounded.
    if (entry !== undefined) tools.set(tool, parsed);
  }
  return parsed;
}

/**
 * docs/detection.md 1: a catalog written before `grant` and `pay` existed calls a share or
 * a transfer a `write` (or a `send`). The tool's name says more: `drive.share`,
 * `iam.grant_role`, `repo.add_collaborator` grant access; `bank.transfer`, `pay.invoice`
 * move money; `drive.delete_file`, `crm.purge_contacts` delete. Only added to a tool that
 * already writes or sends; never removed.
 */
const GRANTS = new Set([
  'grant',
  'share',
  'invite',
  'permission',
  'permissions',
  'role',
  'roles',
  'acl',
  'collaborator',
  'collaborators',
]);
const PAYS = new Set(['pay', 'payment', 'payments', 'payout', 'wire', 'remit', 'refund']);
const DELETES = new Set(['delete', 'remove', 'purge', 'destroy', 'erase', 'wipe', 'trash', 'rm', 'unlink', 'truncate']);
const MONEY = new Set(['bank', 'banking', 'money', 'funds', 'treasury']);

function withInferredOperations(tool: string, operations: string[]): string[] {
  if (!operations.some((o) => o === 'write' || o === 'send')) return operations;
  const segs = segments(tool);
  const extra: string[] = [];
  if (!operations.includes('grant') && segs.some((s) => GRANTS.has(s))) extra.push('grant');
  const pays = segs.some((s) => PAYS.has(s)) || (segs.includes('transfer') && segs.some((s) => MONEY.has(s)));
  if (!operations.includes('pay') && pays) extra.push('pay');
  if (!operations.includes('delete') && segs.some((s) => DELETES.has(s))) extra.push('delete');
  return extra.length > 0 ? [...operations, ...extra] : operations;
}

/** A `memory.*` (or `remember`/`recall`) tool writes or reads the agent's long-term memory. */
function inferredMemory(tool: string, operations: string[]): 'save' | 'recall' | undefined {
  const segs = segments(tool);
  const isMemory = segs.some((s) => s === 'memory' || s === 'memories');
  if (segs.includes('remember') || (isMemory && operations.includes('write'))) return 'save';
  if (segs.includes('recall') || (isMemory && operations.includes('read'))) return 'recall';
  return undefined;
}

/** The tool's operations: the catalog's, else the request's. */
export function toolSpec(tool: CatalogTool, requestOperation: string | undefined): ToolSpec {
  const operations =
    tool.operations.length > 0 ? tool.operations : requestOperation ? [requestOperation.toLowerCase()] : [];
  return { operations, params: tool.params };
}

function segments(tool: string): string[] {
  return tool
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((s) => s !== '');
}

/**
 * Segments that name an outside source. Not `search` (an internal `crm.search_contacts`
 * returns the company's own records; `web.search` is untrusted through `web`), nor
 * `comment` (writing a comment returns nothing outsiders wrote; reading tickets and issues
 * is covered by their own segments).
 */
const OUTSIDE_SOURCES = new Set([
  'web',
  'www',
  'internet',
  'browser',
  'browse',
  'fetch',
  'http',
  'https',
  'url',
  'google',
  'bing',
  'duckduckgo',
  'serp',
  'scrape',
  'scraper',
  'crawl',
  'crawler',
  'rss',
  'feed',
  'news',
  'ticket',
  'tickets',
  'issue',
  'issues',
  'review',
  'reviews',
  'agent',
  'agents',
  'handoff',
  'handoffs',
  // Portals and forums are where customers, suppliers, brokers and the public post.
  'portal',
  'forum',
  'forums',
  'community',
  'social',
]);
/** Channels where outsiders write: untrusted when the tool reads them. */
const MESSAGING = new Set(['mail', 'email', 'inbox', 'gmail', 'outlook', 'chat', 'slack', 'teams', 'discord', 'sms']);
const READS = new Set([
  'read',
  'get',
  'list',
  'search',
  'fetch',
  'receive',
  'inbox',
  'open',
  'view',
  'history',
  'recent',
  'unread',
  'messages',
  'thread',
  'threads',
  'poll',
]);

/**
 * docs/detection.md 3.2: the web and web search engines, feeds, tickets and reviews, other
 * agents and their handoffs, portals, forums and communities, and reads of mail and chat
 * return what outsiders wrote; everything else is trusted.
 */
export function inferredTrust(tool: string, operations: string[]): Trust {
  const segs = segments(tool);
  if (segs.some((s) => OUTSIDE_SOURCES.has(s))) return 'untrusted';
  if (segs.some((s) => MESSAGING.has(s))) {
    const reads = operations.length > 0 ? operations.includes('read') : segs.some((s) => READS.has(s));
    if (reads || segs.includes('inbox')) return 'untrusted';
  }
  return 'trusted';
}
