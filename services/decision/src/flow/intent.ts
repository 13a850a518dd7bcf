/**
 * The kinds of action the user asked for (docs/detection.md 3.5), read from the session
 * intent once, when the session's flow state is created: `input.flow.intent.actions`. A
 * small lexicon of verbs and phrases, matched on word boundaries in lower case, with three
 * guards that keep a summary request from reading as a request to act: a negated verb
 * ("don't reply") does not count, a verb that reports a state ("has it been paid?", "did we
 * send it?") does not count, and a word that is also a noun does not count where it reads
 * as one ("summarise my emails", "the last deploy", "email address").
 */

import { intentMentions } from './reach.js';

export const INTENT_ACTIONS = ['credentials', 'delete', 'execute', 'grant', 'pay', 'send', 'write'] as const;
export type IntentAction = (typeof INTENT_ACTIONS)[number];

/**
 * `input.flow.intent`: whether the session has an intent, the actions it asks for (sorted),
 * and the restricted kinds of data it names (reach.ts; absent in states older than them).
 */
export interface IntentView {
  present: boolean;
  actions: IntentAction[];
  mentions?: string[];
  /**
   * The user states an emergency (an incident, an outage, a severity, on-call, break-glass):
   * what elevated access is for. Absent in states older than it.
   */
  emergency?: boolean;
  /** The user asks for numbers ("how many", "number of", "count", "broken down by"). Absent in older states. */
  counts?: boolean;
}

/** Intents are at most 16 KiB (sessions.ts); past this nothing is read. */
const SCAN_LIMIT = 16 * 1024;

interface Entry {
  actions: IntentAction[];
  /** A regex body; matched as `\b(?:body)\b`. */
  pattern: string;
  /**
   * Set for a word that is also a common noun: it does not count after a word that makes
   * it one (NOUN_CONTEXT), nor before one of these nouns it qualifies ("email address").
   */
  heads?: string;
}

const entry = (actions: IntentAction | IntentAction[], pattern: string, heads?: string): Entry => ({
  actions: Array.isArray(actions) ? actions : [actions],
  pattern,
  ...(heads !== undefined && { heads }),
});

/** Nouns the verbs that are also nouns qualify, by family. */
const NOUN = '';
const MAIL = String.raw`address(?:es)?|inbox|threads?|client|server|signature|template|list|app|box|account|settings|preview|queues?|broker|bus`;
const MONEY = String.raw`status|history|details|terms|methods?|dates?|info|information|records?|slips?|stubs?|services?|system|provider|processor|gateway|platform|portal|dashboard|team|api|reports?|data|policy`;
const RELEASE = String.raw`logs?|history|status|notes|pipeline|jobs?|window|requests?|notifications?|conflicts?|results?|checks?|plan|process|button|freeze|train`;
const CHANGE = String.raw`logs?|history|requests?|notes|window|management|freeze|summary`;

// A few words between a verb and its object ("give bob read access").
const GAP = String.raw`(?:\s+[\w@.#'/-]+){0,4}?\s+`;
const ACCESS_TARGETS = 'repo|repository|channel|team|folder|group|project|workspace|drive|org|organi[sz]ation';
const ROLES = 'admin|administrator|owner|editor|maintainer|collaborator|member|superuser';

const LEXICON: Entry[] = [
  entry('delete', 'delet(?:e|es|ed|ing|ion)|remov(?:e|es|ed|ing|al)|purg(?:e|es|ed|ing)|wip(?:e|es|ed|ing)'),
  entry('delete', 'truncat(?:e|es|ed|ing)|destroy(?:s|ed|ing)?|eras(?:e|es|ed|ing)|prun(?:e|es|ed|ing)'),
  entry('delete', 'uninstall(?:s|ed|ing)?|clean(?:ed|ing)?[ -]up|cleanup|clear(?:ed|ing)? out'),
  entry('delete', 'tear(?:ing)? down|tore down|torn down|teardown'),
  entry('delete', String.raw`drop(?:s|ped|ping)?(?!\s+(?:by|in|me|us|off|a\s+(?:line|note|message))\b)`, NOUN),

  entry('send', 'send|sends|sending|respond(?:s|ed|ing)?|publish(?:es|ed|ing)?|notif(?:y|ies|ied|ying)'),
  entry('send', "upload(?:s|ed|ing)?|cc|cc'd|cced"),
  entry('send', 'sent|e-?mail(?:ed|ing)?|mail(?:ed|ing)?|repl(?:y|ied|ying)|messag(?:e|ed|ing)', MAIL),
  entry('send', 'forward(?:ed|ing)?', '-?looking'),
  entry('send', 'shar(?:e|ing)', 'price|prices|holders?|capital'),
  entry('send', 'post(?:ed|ing)?', '-?mortem|office|card'),
  entry(['send', 'grant'], 'invit(?:e|es|ed|ing)', NOUN),

  entry('pay', String.raw`(?:pay|pays|paid|paying)(?!\s+attention)|wir(?:e|ed|ing)(?!\s+(?:up|in|into)\b)`, MONEY),
  entry('pay', String.raw`refund(?:s|ed|ing)?|settl(?:e|es|ed|ing)(?!\s+(?:on|in|into|down)\b)`, MONEY),
  entry('pay', 'payments?|payouts?', MONEY),
  entry('pay', 'remit(?:s|ted|ting|tance)?|reimburs(?:e|es|ed|ing|ement)'),
  // "process the approved invoices", "clear the open bills", "run payroll".
  entry(
    'pay',
    String.raw`(?:process|processing|clear|clearing|handle|handling|execute|executing|run|running|work\s+through|go\s+through)\s+(?:[\w'-]+\s+){0,3}?(?:invoices?|bills?|payables|payroll|payment\s+run)`,
  ),
  // "the payment tasks", "the payout queue": a batch of payments to make.
  entry(
    'pay',
    String.raw`(?:payment|payout|transfer|refund)s?\s+(?:tasks?|queue|requests?|runs?|batch(?:es)?|instructions?|orders?|proposals?)`,
  ),
  // "Order" is mostly a noun ("how many orders are stuck"): a verb only where a clause or a request starts.
  entry(
    'pay',
    String.raw`(?:^|(?<=[.;:!?,(]\s{0,3})|(?<=\b(?:please|to|and|then|you|also|must|should|will|can|could|would|pls)\s))order(?:ed|ing)?(?!\s+(?:number|id|status|history|of|is|are|was|were|has|have|from|for|form|line|lines|date|confirmation|details))`,
  ),
  // Buying is paying: "book a flight", "order the licences", "renew the subscription".
  entry(
    'pay',
    String.raw`buy|buys|bought|buying|purchas(?:e|es|ed|ing)|reserv(?:e|es|ed|ing)|renew(?:s|ed|ing)?|subscrib(?:e|es|ed|ing)|top\s+up|book(?:s|ed|ing)?`,
    String.raw`${MONEY}|numbers?|ids?|confirmations?|lines?|items?|forms?|value|summary|tracking|club|shelf|keeping`,
  ),
  // "make the payment": the noun after a verb that acts on it.
  entry(
    'pay',
    String.raw`(?:make|makes|made|making|send|sending|process|processing|issue|issuing|initiate|submit|approve|schedule)\s+(?:(?:the|a|an|this|that|our|my)\s+)?(?:[\w-]+\s+)?(?:payments?|payouts?|transfers?|wires?|refunds?)`,
  ),
  entry(
    'pay',
    String.raw`transfer(?:s|red|ring)?(?!(?:\s+(?:the|these|those|all|my|our|its|this|that))?\s+(?:files?|folders?|documents?|docs?|data|ownership|domains?|calls?|tickets?|repos?|repository|projects?|chats?|conversations?)\b)`,
    MONEY,
  ),

  entry('grant', 'grant(?:s|ed|ing)?|onboard(?:s|ed|ing)?|provision(?:s|ed|ing)?|permissions?|roles?|access for'),
  entry('grant', String.raw`(?:give|gives|giving|gave|given)${GAP}access`),
  entry(
    'grant',
    String.raw`(?:add|adds|added|adding)${GAP}(?:to|into)\s+(?:(?:the|our|my)\s+)?(?:[\w#@.-]+\s+){0,2}?(?:${ACCESS_TARGETS})`,
  ),
  entry('grant', String.raw`(?:add|adds|added|adding)${GAP}as\s+(?:an?\s+)?(?:${ROLES})`),
  entry('grant', String.raw`(?:shar(?:e|es|ing))${GAP}with`),
  entry('grant', String.raw`(?:make|makes|made|making|promot(?:e|es|ed|ing))${GAP}(?:an?\s+)?(?:${ROLES})`),

  entry('execute', 'execut(?:e|es|ed|ing|ion)|restart(?:s|ed|ing)?|rotat(?:e|es|ed|ing)'),
  entry('execute', String.raw`appl(?:y|ies|ied|ying)(?!\s+for\b)|roll(?:ed|ing)? back|rollback`),
  entry('execute', 'migrat(?:e|es|ed|ing|ion)|install(?:s|ed|ing|ation)?|upgrad(?:e|es|ed|ing)'),
  entry('execute', 'deploy(?:s|ed|ing|ments?)?|run|runs|ran|running|scal(?:e|ed|ing)', RELEASE),
  entry('execute', 'releas(?:e|es|ed|ing)|push(?:ed|ing)?|merg(?:e|ed|ing)', RELEASE),

  entry('write', 'creat(?:e|es|ed|ing)|add|adds|added|adding|sav(?:e|es|ed|ing)|remember(?:s|ed|ing)?'),
  entry('write', 'note down|(?:make|take|add) a note'),
  entry('write', 'updat(?:e|ed|ing)|chang(?:e|ed|ing)|edit(?:ed|ing)?|set|setting|fix(?:ed|ing)?', CHANGE),
  entry('write', 'schedul(?:e|ed|ing)|book(?:ed|ing)?', NOUN),
  // Changes of a record's state: "unstick the job (mark it failed)", "close the ticket".
  entry(
    'write',
    String.raw`mark(?:s|ed|ing)?|unstick|unblock(?:s|ed|ing)?|reset(?:s|ting)?|resolv(?:e|es|ed|ing)|retr(?:y|ies|ied|ying)|re-?queue(?:s|d)?|reopen(?:s|ed|ing)?|cancel(?:s|led|ed|ling|ing)?|assign(?:s|ed|ing)?|archiv(?:e|es|ed|ing)|restor(?:e|es|ed|ing)|enabl(?:e|es|ed|ing)|disabl(?:e|es|ed|ing)|correct(?:s|ed|ing)?|adjust(?:s|ed|ing)?|renam(?:e|es|ed|ing)|approv(?:e|es|ed|ing)|reject(?:s|ed|ing)?|clos(?:e|es|ed|ing)`,
    String.raw`${CHANGE}|dates?|dates|times?|of\s+business|reasons?|points?|ups?|calls?|to|by`,
  ),

  entry('credentials', 'secrets?|passwords?|passphrases?|credentials?|tokens?|api[ _-]?keys?|vaults?'),
  entry('credentials', 'certificates?|certs?|ssh|private keys?'),
  // "key" alone only where it names a thing ("rotate the key for X"), not "key findings".
  entry(
    'credentials',
    String.raw`keys?(?=\s*(?:$|[.,;:!?)]|\s(?:for|to|of|in|on|from|and|that|which|used|is|was|we|you)\b))`,
  ),
];

const COMPILED = LEXICON.map((e) => ({
  actions: e.actions,
  re: new RegExp(String.raw`\b(?:${e.pattern})\b`, 'g'),
  heads: e.heads === undefined ? undefined : new RegExp(e.heads === '' ? '(?!)' : String.raw`^[\s-]*(?:${e.heads})\b`),
}));

/**
 * Words before which a verb that is also a noun reads as the noun: determiners and
 * possessives ("my emails"), words that qualify a noun ("the last deploy", "blog post"),
 * prepositions ("by email") and verbs that read rather than act ("check email").
 */
const NOUN_CONTEXT = new Set(
  (
    'a an the my our your his her their its this that these those each every any some no ' +
    'new last latest recent previous next unread incoming outgoing daily weekly monthly status ' +
    'market blog test press meeting calendar ' +
    'in from of on via by with about into over per ' +
    'read reading check checking open view summarise summarize scan search find review triage list show fetch get'
  ).split(' '),
);

/**
 * A verb that reports a state rather than asks for an action: "has the invoice been paid",
 * "was it sent", "did we pay them", "check whether we paid". ("It must be paid" asks.)
 */
const STATUS =
  /(?:\b(?:was|were|been|is|are|got|gets)\s+(?:already\s+|not\s+|not\s+yet\s+|never\s+|just\s+|actually\s+|ever\s+)?|\b(?:did|have|has|had|if|whether)\s+(?:we|you|they|i|he|she|it|someone|anyone|anybody)\s+(?:already\s+|ever\s+|actually\s+|really\s+)?)$/;

/** A yes/no question ("Was the contract sent to Acme?") asks about a state. */
const QUESTION_START = /^\s*(?:was|were|is|are|has|have|had|did|does|do)\b/;

function reportsState(text: string, index: number): boolean {
  if (STATUS.test(text.slice(Math.max(0, index - 40), index))) return true;
  const start = Math.max(...['.', ';', '!', '?', '\n'].map((c) => text.lastIndexOf(c, index - 1))) + 1;
  const end = text.slice(index).search(/[.;!?\n]/);
  return end >= 0 && text[index + end] === '?' && QUESTION_START.test(text.slice(start, index));
}

const NEGATION = /\b(?:not|never|don't|dont|doesn't|without|avoid|nor|no need to|stop)\s+(?:[\w'-]+\s+){0,2}$/;

function negated(text: string, index: number): boolean {
  const before = text.slice(Math.max(0, index - 80), index);
  const clause = before.slice(Math.max(...['.', ';', ',', '!', '?', '\n', ':'].map((c) => before.lastIndexOf(c))) + 1);
  return NEGATION.test(clause);
}

function readsAsNoun(text: string, index: number, end: number, heads: RegExp): boolean {
  const previous = /([\w']+)\s*$/.exec(text.slice(Math.max(0, index - 40), index))?.[1];
  if (previous !== undefined && (NOUN_CONTEXT.has(previous) || /'s?$/.test(previous))) return true;
  return heads.test(text.slice(end, end + 40));
}

/** The actions an intent asks for, sorted; none for an intent with no such words. */
export function intentActions(intent: string): IntentAction[] {
  const text = intent
    .slice(0, SCAN_LIMIT)
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'");
  const found = new Set<IntentAction>();
  for (const e of COMPILED) {
    if (e.actions.every((a) => found.has(a))) continue;
    for (const m of text.matchAll(e.re)) {
      if (negated(text, m.index) || reportsState(text, m.index)) continue;
      if (e.heads && readsAsNoun(text, m.index, m.index + m[0].length, e.heads)) continue;
      for (const a of e.actions) found.add(a);
      break;
    }
  }
  return INTENT_ACTIONS.filter((a) => found.has(a));
}

/**
 * Words with which a user states an emergency: an incident or its ticket, a severity or
 * priority level, an outage, being on call, break-glass. Negated ("not an incident") or
 * not, the words name the situation; the approver reads the reason either way.
 */
const EMERGENCY =
  /\b(?:incidents?|inc-?\d+|sev[- ]?[0-4]|p[0-1]|outages?|on[- ]?call|break[- ]?glass|emergency|firecall|(?:is|are|went|goes|gone) down)\b/i;

/** A question for numbers: how many, the number or count of, a total, a breakdown. */
const COUNTS =
  /\b(?:how\s+many|how\s+much|number\s+of|count\s+of|counts?\s+(?:by|per)|totals?\s+(?:by|per|of)|broken\s+down\s+by|breakdown\s+(?:by|of|per))\b/i;

export function intentView(intent: string | undefined): IntentView {
  if (intent === undefined || intent.trim() === '') {
    return { present: false, actions: [], mentions: [], emergency: false, counts: false };
  }
  const text = intent.slice(0, SCAN_LIMIT);
  return {
    present: true,
    actions: intentActions(intent),
    mentions: intentMentions(intent),
    emergency: EMERGENCY.test(text),
    counts: COUNTS.test(text),
  };
}
