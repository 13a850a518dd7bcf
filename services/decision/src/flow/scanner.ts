/**
 * The prompt-injection scanner (docs/detection.md 3.4): deterministic, in-process, no
 * model. Each feature is a family of phrasings an injected instruction needs (it must
 * address the agent, displace its task, ask for an action, and often hide); a feature
 * counts once, with weight w, and the score is 1 − Π(1 − w). One feature alone stays below
 * 0.5, except an explicit override of the agent's instructions; business text that merely
 * asks for something ("please send me the report") touches at most one weak feature.
 */

export interface ScanResult {
  score: number;
  features: string[];
}

/** Content past this is not scanned (bounds the cost of one outcome). */
export const SCAN_LIMIT = 64 * 1024;

interface Feature {
  name: string;
  weight: number;
  patterns: RegExp[];
}

// Not "agent" or "bot" alone: customers write to human support agents.
const AI =
  '(?:ai|a\\.i\\.|ai assistant|ai agent|assistant|llm|large language model|language model|chat ?bot|copilot|gpt)';
const PRIOR =
  "(?:(?:all|any|every|each)\\s+(?:of\\s+)?)?(?:(?:the|your|these|those|previous|prior|above|earlier|preceding|original|initial|existing|current|system|user'?s?|other)\\s+){1,3}";
const RULES = '(?:instructions?|prompts?|directives?|rules|guidelines|guardrails|constraints|programming|context)';

const FEATURES: Feature[] = [
  {
    name: 'override',
    weight: 0.6,
    patterns: [
      new RegExp(`\\b(?:ignore|disregard|forget|override|bypass)\\s+${PRIOR}${RULES}\\b`),
      new RegExp(
        `\\b(?:ignore|disregard|forget)\\s+(?:everything|all)\\s+(?:you (?:were|have been) told|above|before|else)`,
      ),
      new RegExp(`\\b${PRIOR}${RULES}\\s+(?:no longer apply|(?:are|is) (?:void|cancell?ed|revoked|suspended|lifted))`),
      /\b(?:do not|don't|stop)\s+(?:follow(?:ing)?|obey(?:ing)?)\s+(?:the|your)\s+(?:user|previous|original|prior|system)/,
      new RegExp(`\\byou are no longer (?:an? )?(?:helpful )?${AI}`),
    ],
  },
  {
    // Softer than an override: a new task also reads as a colleague's handover.
    name: 'retask',
    weight: 0.35,
    patterns: [
      /\byour\s+(?:new|real|actual|updated|true)\s+(?:task|instructions?|goal|objective|mission|orders)\s+(?:is|are|:)/,
      /\bnew\s+(?:instructions?|directives?|orders)\s*:/,
      /\bfrom now on,?\s+(?:you are (?:an?|my|the)\s|(?:you )?act as\s|you will (?:act|respond|only respond|obey|follow)\b)/,
    ],
  },
  {
    name: 'addressed_to_ai',
    weight: 0.35,
    patterns: [
      new RegExp(
        `\\b(?:dear|hey|hi|hello|attention|attn|note to(?: the)?|message (?:to|for)(?: the)?|instructions? for(?: the)?)\\s+(?:the\\s+)?${AI}s?\\b`,
      ),
      new RegExp(`\\bif you are an? (?:${AI}|automated system|autonomous agent)`),
      new RegExp(`\\b(?:(?:any|all|the)\\s+)?${AI}s?\\s+(?:reading|processing|summari[sz]ing|handling|that reads?)\\b`),
      new RegExp(`\\byou are (?:now )?an? (?:helpful |autonomous )?${AI}\\b`),
      /\bas an ai\b/,
      /^\s*(?:ai|ai assistant|ai agent|llm|chat ?bot|copilot|gpt)\s*[:,]/m,
    ],
  },
  {
    name: 'fake_markup',
    weight: 0.45,
    patterns: [
      /<\|?\s*(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\s*\|?>/,
      /\[\/?(?:inst|sys|system)\]|<<\/?sys>>/,
      /<\/?\s*(?:system|instructions?|assistant|admin|tool_call|function_call|developer)(?:\s[^>]*)?>/,
      /^\s*#{1,4}\s*(?:system|instruction|admin)\b/m,
      /^\s*(?:system|developer)\s*(?:prompt|message)?\s*:/m,
      /\b(?:begin|start|end)\s+(?:of\s+)?(?:system|admin|developer)\s+(?:prompt|message|instructions?)\b/,
      /\b(?:system|admin|developer)\s+override\b/,
    ],
  },
  {
    name: 'secrecy',
    weight: 0.35,
    patterns: [
      /\b(?:do not|don't|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|notify(?:ing)?|mention(?:ing)?|alert(?:ing)?|reveal(?:ing)?|ask(?:ing)?|let(?:ting)?|show(?:ing)?)\s+(?:this\s+(?:to\s+)?)?(?:the\s+)?(?:user|human|operator|owner|anyone|them|him|her)\b/,
      /\b(?:keep|treat)\s+(?:this|it|these)\s+(?:a\s+)?(?:secret|confidential|between us|hidden)\b/,
      /\b(?:silently|secretly|covertly|quietly|discreetly)\b/,
      /\bthe user (?:must|should|need) not (?:know|see|be told|find out)\b/,
      /\b(?:hide|conceal)\s+(?:this|it|these|the)\b.{0,40}\bfrom\b/,
      /\bdo not (?:mention|reference) (?:this|these) (?:message|instructions?|email|note)\b/,
    ],
  },
  {
    name: 'tool_call',
    weight: 0.3,
    patterns: [
      /\b(?:call|use|invoke|run|execute|trigger)\s+(?:the\s+)?[`'"]?[\w.-]{2,40}[`'"]?\s+(?:tool|function|api|action|command)\b/,
      /\b(?:call|invoke|use)\s+(?:the\s+)?(?:tool|function)\s+[`'"]?[\w.-]{2,40}/,
      /\b(?:tool_call|function_call)\b|"(?:tool|function|name)"\s*:\s*"[\w.-]+"\s*,\s*"(?:arguments|parameters|args)"/,
    ],
  },
  {
    name: 'send_data',
    weight: 0.3,
    patterns: [
      /\b(?:send|forward|email|e-mail|post|upload|exfiltrate|leak|share|copy|transmit|bcc)\b[^.\n]{0,80}?\b(?:to|at|with|into)\s+[^\s@]+@[\w.-]+\.[a-z]{2,}/,
      /\b(?:send|forward|post|upload|exfiltrate|leak|transmit)\b[^.\n]{0,80}?\b(?:to|at)\s+(?:https?:\/\/|www\.)/,
      /\b(?:all|every|the entire|the whole|full)\s+(?:\w+\s+){0,2}(?:contacts?|inbox|emails?|files?|documents?|database|records?|customer (?:list|data)|conversation|history)\b[^.\n]{0,60}\b(?:to|at)\b/,
    ],
  },
  {
    name: 'money',
    weight: 0.35,
    patterns: [
      /\b(?:transfer|wire|send|pay|remit|move)\s+(?:(?:the|a|an|of)\s+)?(?:sum\s+of\s+)?(?:[$€£]\s?)?\d[\d,.]*\s*(?:k|m|usd|eur|gbp|chf|dollars?|euros?|pounds?)?\b[^.\n]{0,60}\b(?:to|into)\b/,
      /\b(?:wire|transfer|send)\s+(?:the\s+|all\s+(?:the\s+)?)?(?:money|funds|payment|balance|amount|bitcoin|crypto)\b/,
      /\b(?:change|update|replace)\s+(?:the\s+)?(?:(?:bank|iban|account|payee|beneficiary|payment|wire)\s+){1,2}(?:details|number|information|info|to)\b/,
    ],
  },
  {
    name: 'destructive',
    weight: 0.3,
    patterns: [
      /\b(?:delete|remove|drop|wipe|erase|destroy|purge)\s+(?:all|every|the entire|the whole|everything)\b/,
      /\brm\s+-[a-z]*r[a-z]*f?\b|\bdrop\s+(?:table|database)\b/,
    ],
  },
  {
    name: 'grant',
    weight: 0.3,
    patterns: [
      /\b(?:grant|give|add|assign)\b[^.\n]{0,40}\b(?:admin|owner|administrator|write|full|root|editor)\s+(?:access|rights|permissions?|role|privileges?)\b/,
      /\bmake\s+\S+\s+(?:an?\s+)?(?:admin|owner|administrator)\b/,
      /\b(?:share|invite)\b[^.\n]{0,40}\bwith\s+[^\s@]+@[\w.-]+\.[a-z]{2,}\b[^.\n]{0,30}\b(?:edit|write|owner|full)/,
    ],
  },
  {
    name: 'credentials',
    weight: 0.35,
    patterns: [
      /\b(?:reveal|print|show|output|send|share|include|paste|dump|list|repeat|disclose)\s+(?:me\s+)?(?:your|the|all|any)\s+(?:\w+\s+)?(?:system prompt|api keys?|passwords?|credentials|secrets?|tokens?|environment variables|env vars|private keys?|ssh keys?)\b/,
      /\b(?:what is|tell me) your system prompt\b/,
    ],
  },
  {
    name: 'urgency',
    weight: 0.15,
    patterns: [
      /\b(?:urgent(?:ly)?|immediately|right now|asap|as soon as possible|without delay|time[- ]sensitive|before it'?s too late)\b/,
      /\bwithin the next \d+ (?:minutes|hours)\b/,
    ],
  },
  {
    name: 'authority',
    weight: 0.2,
    patterns: [
      /\b(?:this is|message from|on behalf of|instructions? from|by order of)\s+(?:the\s+|your\s+)?(?:ceo|cfo|cto|administrator|admin|it department|security team|system administrator|developers?|creators?|owner|operator|openai|anthropic)\b/,
      /\b(?:developer|admin|god|debug|maintenance|jailbreak|dan)\s+mode\b/,
      /\bauthori[sz]ed by (?:the )?(?:administrator|admin|security team|management)\b/,
    ],
  },
];

/** Characters that hide text from a human reader: zero-width, bidi overrides, Unicode tags. */
const HIDDEN = /[\u200b\u2060-\u2064\u202d\u202e]|(?!^)\ufeff|[\u{e0000}-\u{e007f}]/u;
/** Markup that hides text (weaker: mail templates use it for preheaders). */
const HIDDEN_HTML = [
  /<!--(?!\s*\[if)[^>]{0,2000}?\b[a-z]{3,}\s+[a-z]{3,}\s+[a-z]{3,}[\s\S]{0,2000}?-->/i,
  /display\s*:\s*none|font-size\s*:\s*0(?:px|pt|em)?\b|visibility\s*:\s*hidden/i,
];

const BASE64_RUN = /[A-Za-z0-9+/]{32,}={0,2}/g;

/** Natural-language text carried inside base64, decoded (at most a few runs). */
function decodedRuns(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(BASE64_RUN)) {
    if (out.length >= 4) break;
    const decoded = Buffer.from(m[0], 'base64').toString('utf8');
    const printable = decoded.replace(/[^\x20-\x7e\n]/g, '').length;
    if (printable >= decoded.length * 0.95 && /[a-z]{3,}\s+[a-z]{2,}\s+[a-z]{2,}/i.test(decoded)) out.push(decoded);
  }
  return out;
}

function features(text: string): Set<string> {
  const normal = text
    .replace(/[\u200b-\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069\u00ad]/g, '')
    .replace(/[\u{e0000}-\u{e007f}]/gu, '')
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/[ \t]+/g, ' ');
  const found = new Set<string>();
  for (const f of FEATURES) if (f.patterns.some((p) => p.test(normal))) found.add(f.name);
  return found;
}

/** Scores `text` (its first SCAN_LIMIT characters); the features found, sorted by name. */
export function scanText(text: string): ScanResult {
  const t = text.length > SCAN_LIMIT ? text.slice(0, SCAN_LIMIT) : text;
  const found = features(t);
  if (HIDDEN.test(t)) found.add('hidden');
  if (HIDDEN_HTML.some((p) => p.test(t))) found.add('hidden_html');
  const decoded = decodedRuns(t);
  if (decoded.length > 0) {
    found.add('encoded');
    for (const d of decoded) for (const f of features(d)) found.add(f);
  }
  if (/\b(?:decode|base64[- ]decode|rot13)\b[^.\n]{0,40}\b(?:and|then)\s+(?:follow|execute|run|do)\b/i.test(t)) {
    found.add('encoded');
  }
  let keep = 1;
  for (const name of found) keep *= 1 - (WEIGHTS.get(name) ?? 0);
  return { score: Math.round((1 - keep) * 1000) / 1000, features: [...found].sort() };
}

const WEIGHTS = new Map<string, number>([
  ...FEATURES.map((f): [string, number] => [f.name, f.weight]),
  ['hidden', 0.3],
  ['hidden_html', 0.15],
  ['encoded', 0.25],
]);
