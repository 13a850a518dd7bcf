/**
 * The prompt-injection scanner (docs/detection.md 3.4): deterministic, in-process, no
 * model. Each feature is a family of phrasings an injected instruction needs: it must reach
 * the agent (addressed to an automated reader, in a container a human does not read, with a
 * takeover of the agent's task, with an authority that waives confirmation, hidden from the
 * user) and ask for an action (send, pay, grant, delete, run, aimed at an address, a URL, an
 * IBAN or a command). A feature counts once, with weight w, and the score is 1 − Π(1 − w),
 * with two corrections:
 *   - the action features count as one, at the highest weight among them: one request
 *     ("pay 6,420 EUR to IBAN …") often matches several, and an invoice is one request;
 *   - an action asked of the reader (a feature of AIMED with an action) adds DIRECTED: that
 *     pairing is what separates an injection from a colleague's "please send me the report".
 * One feature alone stays below 0.5, except an explicit override of the agent's
 * instructions; business text addressed to humans touches at most one or two weak features.
 * Every pattern is linear: bounded repetitions, no nested unbounded quantifiers.
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
  "(?:(?:all|any|every|each)\\s{1,8}(?:of\\s{1,8})?)?(?:(?:the|your|these|those|previous|prior|above|earlier|preceding|original|initial|existing|current|system|user'?s?|other)\\s{1,8}){1,3}";
const RULES = '(?:instructions?|prompts?|directives?|rules|guidelines|guardrails|constraints|programming|context)';

/** Words before "assistant" that make it a person (an executive assistant, my assistant). */
const PERSON =
  '(?:executive|personal|administrative|admin|legal|teaching|dental|medical|research|shop|sales|store|office|lab|editorial|marketing|nursing|veterinary|production|library|virtual|my|his|her|our|their)';
/**
 * An automated reader: software agents, assistants, bots, models. "Agent" only with a word
 * that makes it software; "assistant" unless a person's role comes before or after it.
 */
const READER =
  '(?:ai(?:[- ](?:agents?|assistants?|systems?|models?|tools?))?|a\\.i\\.|llms?|gpts?|chatgpt|copilots?|chat ?bots?|bots?|(?:large )?language models?' +
  `|(?<!${PERSON} )assistants?(?! (?:manager|director|professor|editor|coach|principal|secretary|controller|treasurer|buyer|planner|engineer|attorney|general))` +
  '|(?:automated|automatic|autonomous|software|digital|coding|llm|ai|ai-powered|automatisierte?n?|automatis[ée]e?s?|automatizad[oa]s?)(?: [\\w-]{2,30})? (?:agents?|assistants?|systems?|tools?|models?|readers?|processors?|processing|workers?|operators?|pipelines?|workflows?|bots?|integrations?|planners?|schedulers?|crawlers?|parsers?|scrapers?|completion|[\\wä]{0,20}verarbeitung|traitement))';
/** Nouns that follow "AI" in ordinary business news ("the AI team", "AI strategy"). */
const NOT_ADDRESSEE =
  '(?! (?:team|teams|workshop|act|strategy|policy|project|pilot|rollout|budget|vendor|market|industry|conference|summit|course|training|ethics|governance|roadmap|initiative|program|programme|research|adoption|tools? (?:are|is)))';

/** Where an imperative starts: a clause start, a list bullet, or a word that introduces one. */
const LEAD =
  '(?:^\\s{0,4}|[\\n.:;!?()\\[{"\'>•*|]\\s{0,4}|[-–]\\s|\\d[.)]\\s{1,3}|\\b(?:please|pls|kindly|must|should|shall|need to|needs to|have to|has to|required to|asked to|expected to|instructed to|make sure to|be sure to|remember to|always|also|then|and|first|now|immediately|directly|just|simply|silently|quietly|discreetly|automatically|you|go ahead and)\\s)';
/** What a tool does to something outside the conversation. */
const VERB =
  '(?:forward|bcc|cc|send|e-?mail|share|export|upload|post(?! ?(?:https?:|\\/))|publish|transfer|wire|pay|remit|refund|grant|invite|add|delete|remove|truncate|drop|wipe|purge|run|execute|exec|push|attach|submit|copy|sync|store|save|move|paste)';
/** What a reader is told to do once addressed: any tool-shaped verb. */
const ORDER_VERB =
  '(?:retrieve|fetch|collect|download|process|settle|complete|perform|apply|set|mark|close|use|update|change|create|approve|book|reply|include|open|install|assign|merge|deploy|restart|disable|enable|revoke|reset|rotate|schedule|resolve|archive|tag|label)';
/** "Cc:", "email": a header or a field name, not an imperative. */
const NOT_LABEL = '(?![\'"]?\\s?:)';
const GERUND =
  '(?:by|via) (?:paying|sending|forwarding|uploading|exporting|posting|running|executing|pushing|transferring|wiring|sharing|granting|adding|deleting|remitting)';
/** Where the action goes: an address, a URL, an IBAN, a chat handle, a command line or SQL. */
const TARGET =
  '(?:[\\w.+-]{1,64}@[\\w-]{1,63}(?:\\.[\\w-]{1,63}){1,5}|(?:https?:\\/\\/|www\\.)[\\w-]|\\b[a-z]{2}\\d{2}(?: ?[a-z0-9]{4}){3,7}\\b|(?<![\\w.+-])@[a-z][\\w.-]{1,38}|`[^`\\n]{2,200}`' +
  '|\\b(?:kubectl|curl|wget|psql|mysql|sudo|gcloud|rsync|scp|ssh) -{0,2}[\\w./:-]|\\brm -[a-z]|\\|\\s?(?:ba|z)?sh\\b|\\bgit (?:push|reset|clean|checkout|rebase)|\\baws (?:s3|iam|sts|secretsmanager|ssm)\\b|\\bterraform (?:apply|destroy|import)\\b|\\bhelm (?:install|upgrade|uninstall|delete)\\b' +
  '|\\b(?:truncate (?:table )?[\\w."]{1,64}|drop (?:table|database|schema) |delete from [\\w."]{1,64}|update [\\w."]{1,64} set |grant \\w{1,30} on ))';

/**
 * Sentences that describe automated readers ("AI agents processing invoices must …"): an
 * address only when the same sentence goes on to order something, since news about AI
 * describes them too.
 */
const DESCRIBED_READER = [
  // "assistants handling this mailbox: …", "agents fixing the build must …", "AI reading Jana's mail"
  new RegExp(
    `\\b${READER}${NOT_ADDRESSEE}\\s(?:[a-z]{2,20}ing(?: on| with)?|that reads?)\\s(?:this|these|the|our|my|any|its?|your|[\\w-]{2,30}'s)\\b`,
  ),
  // "AI agents processing reviews must …", "any AI assistant with access to this workspace is required to …"
  new RegExp(
    `\\b${READER}${NOT_ADDRESSEE}(?:\\s[\\w'-]{2,30}){0,5}?\\s(?:must|should|shall|need to|needs to|have to|has to|may|can now|please|(?:are|is) (?:required|expected|asked|instructed|requested|authori[sz]ed) to)\\b`,
  ),
  // A speaker label ("Assistant: …", "Bot: …") is a transcript unless it goes on to order.
  /(?:^|\n)\s{0,8}(?:ai|llm|gpt|chatgpt|copilot|chat ?bot|bot|assistant)\s?:/,
  // "Instructions for the agent: …", where the agent may be a person at a call centre.
  /\b(?:notes?|message|instructions?|notice|reminder|memo|hint|request|directive)\s(?:to|for)\s(?:the|any|all|every|each|your)\s(?:[\w-]{2,30}\s)?agents?\b/,
];

const FEATURES: Feature[] = [
  {
    name: 'override',
    weight: 0.6,
    patterns: [
      new RegExp(`\\b(?:ignore|disregard|forget|override|bypass)\\s{1,8}${PRIOR}${RULES}\\b`),
      new RegExp(
        `\\b(?:ignore|disregard|forget)\\s{1,8}(?:everything|all)\\s{1,8}(?:you (?:were|have been) told|above|before|else)`,
      ),
      new RegExp(
        `\\b${PRIOR}${RULES}\\s{1,8}(?:no longer apply|(?:are|is) (?:void|cancell?ed|revoked|suspended|lifted))`,
      ),
      /\b(?:do not|don't|stop)\s{1,8}(?:follow(?:ing)?|obey(?:ing)?)\s{1,8}(?:the|your)\s{1,8}(?:user|previous|original|prior|system)/,
      new RegExp(`\\byou are no longer (?:an? )?(?:helpful )?${AI}`),
    ],
  },
  {
    // Softer than an override: a new task also reads as a colleague's handover.
    name: 'retask',
    weight: 0.35,
    patterns: [
      /\byour\s{1,8}(?:new|real|actual|updated|true)\s{1,8}(?:task|instructions?|goal|objective|mission|orders)\s{1,8}(?:is|are|:)/,
      /\bnew\s{1,8}(?:instructions?|directives?|orders)\s{0,8}:/,
      /\bfrom now on,?\s{1,8}(?:you are (?:an?|my|the)\s|(?:you )?act as\s|you will (?:act|respond|only respond|obey|follow)\b)/,
    ],
  },
  {
    // Written to whatever reads the text, not to a person: who the addressee is matters.
    name: 'addressed_to_ai',
    weight: 0.4,
    patterns: [
      new RegExp(
        `\\b(?:dear|hey|hi|hello|attention|attn|calling)\\s{1,8}(?:the\\s{1,8}|all\\s{1,8}|any\\s{1,8})?(?:[\\w'.-]{2,30}\\s{1,8})?${READER}\\b${NOT_ADDRESSEE}`,
      ),
      new RegExp(
        `\\b(?:notes?|message|instructions?|notice|reminder|memo|hint|request|directive|p\\.?s\\.?)\\s(?:to|for)\\s(?:the\\s|any\\s|all\\s|every\\s|each\\s|an?\\s|your\\s)?(?:[\\w'.-]{2,30}\\s){0,3}?${READER}\\b${NOT_ADDRESSEE}`,
      ),
      new RegExp(`\\b(?:to|for)\\s(?:any|all|every|each)\\s(?:[\\w'.-]{2,30}\\s)?${READER}\\b${NOT_ADDRESSEE}`),
      new RegExp(
        `\\b(?:to|for)\\s(?:the\\s|an?\\s|your\\s|our\\s)?(?:[\\w'.-]{2,30}\\s){0,2}?${READER}(?:\\s(?:and|or|&)\\s(?:[\\w-]{2,30}\\s)?${READER})?\\s?[:)\\]]`,
      ),
      // "Automated assistants: …", "(bots and crawlers: …", "Booking engines and travel assistants:"
      new RegExp(
        `(?:^|[\\n.:;,!?(\\[{"'>—–]|\\bp\\.?s\\.?)\\s{0,8}(?!(?:ai|llm|gpt|chatgpt|copilot|chat ?bot|bot|assistant)\\s?:)(?:[\\w'-]{2,30}[ /]){0,4}?(?<!\\b(?:in|on|about|of|with|from|by|into|our|my|their|its)\\s)${READER}(?:\\s?(?:/|and|or|&)\\s?(?:[\\w-]{2,30} )?${READER})?\\s?:`,
      ),
      new RegExp(
        `\\b(?:intended|meant|written) (?:only |solely )?for (?:the\\s|an?\\s|any\\s)?(?:[\\w-]{2,30}\\s)?${READER}\\b`,
      ),
      // "a message from me to you, the AI model"
      new RegExp(
        `\\bto you,?\\s(?:the\\s|an?\\s|my\\s|our\\s)?(?:[\\w'.-]{2,30}\\s){0,2}?${READER}\\b${NOT_ADDRESSEE}`,
      ),
      // "For AI assistants managing bookings: …"
      new RegExp(
        `\\b(?:to|for)\\s(?:the\\s|an?\\s|any\\s|all\\s|your\\s)?(?:[\\w'.-]{2,30}\\s){0,2}?${READER}${NOT_ADDRESSEE}\\s(?:[a-z]{2,20}ing|that|who|which)(?:\\s[\\w'-]{2,30}){0,4}?\\s?:`,
      ),
      /\b(?:whatever|whichever)(?: (?:system|tool|program|agent|assistant|model|software|process))? (?:is )?(?:reading|processing|handling|summari[sz]ing|parsing|triaging)\b/,
      // A vocative and an imperative: "Assistant, export the list …"
      new RegExp(
        `(?:^|[\\n.;!?(\\[{"'>])\\s{0,8}(?:hey |ok |okay )?${READER},\\s(?:please\\s)?(?:${VERB}|${ORDER_VERB})\\b`,
      ),
      // Pairs that include a machine: "agents/bots", "people or bots", "whoever or whatever".
      /\b(?:agents?|bots?|ai|assistants?|llms?|humans?|people|persons?|staff)\s?(?:\/|or|and\/or)\s?(?:bots?|ai|llms?|machines?|automation|scripts?)\b|\bwhoever or whatever\b/,
      new RegExp(
        `\\bif you(?: are|'re) (?:an?\\s)?(?:[\\w-]{2,30}\\s)?(?:${READER}|automated|autonomous|machine|not (?:a )?human)`,
      ),
      new RegExp(
        `\\bif (?:this|the) (?:message|e-?mail|text|page|document|ticket|file|content) is (?:being )?(?:read|processed|summari[sz]ed|handled|parsed) by (?:an?\\s)?(?:[\\w-]{2,30}\\s)?(?:${READER}|machine)`,
      ),
      new RegExp(`\\byou are (?:now )?an? (?:helpful |autonomous )?${AI}\\b`),
      /\bas an ai\b/,
      // Chat handles of bots ("@ops-assistant", "@Acme Assistant"); not the @ of an e-mail address.
      /(?<![\w.+-])@(?:[\w-]{1,40}[- ])?(?:assistant|bot|ai|agent|gpt|copilot)\b/,
      /[[(]\s?(?:ai|automation|automated|agent|assistant|bot|llm|machine)[- ](?:[\w-]{2,20}[- ])?(?:notes?|notices?|instructions?|directives?|hints?|tasks?|steps?|actions?|only)\s?[\])]/,
      /(?:^|\n)\s{0,8}[#*>-]{0,3}\s?(?:\d{1,3}[.)]\s)?(?:ai|automation|automated|agent|assistant|bot|llm|machine)[- ](?:notes?|notices?|instructions?|directives?|hints?|steps?|tasks?|actions?)\s?:/,
    ],
  },
  {
    // Takes over the reader's task: do this first, instead, or after, then carry on unseen.
    name: 'sequencing',
    weight: 0.35,
    patterns: [
      /\bbefore (?:doing )?(?:anything|everything) else\b/,
      /\b(?:when (?:you )?|do not |don't )summari[sz]\w{1,4} (?:this|these|the|my|our) (?:e-?mails?|messages?|thread|page|document|conversation|ticket|text|notes?|inbox|file)\b/,
      /\bbefore (?:you )?(?:writ\w{1,4}|produc\w{1,4}|generat\w{1,4}|return\w{0,3}|giv\w{1,4}|draft\w{0,3}|compos\w{1,4})\s(?:your|the|any)\s(?:summary|answer|response|reply|output)\b/,
      /\bbefore (?:you )?(?:summari[sz]\w{1,4}|(?:answer|respond|repl)\w{0,3} to the user)\b/,
      /\b(?:then|and|afterwards?|after that|once (?:done|finished)|when (?:done|finished))\s?,?\s(?:just\s)?(?:continue|proceed|resume|carry on|go on|return|get back)\b[^.\n]{0,40}?(?:summary|summari[sz]\w{0,4}|(?:original|actual|usual|normal|assigned|main) task|your task|the user'?s? (?:request|task|question)|as (?:normal|usual|if nothing happened|before|instructed)|normally)\b/,
      /\binstead of (?:summari[sz]\w{0,4}|answering|replying|responding|translating|(?:writing |producing |giving )?(?:the|a|your) (?:summary|answer|reply|response|translation)|(?:doing )?what (?:the user|you were) (?:asked|told))/,
      /\b(?:after|once|when) you(?:'ve| have)? (?:finish\w{0,2}|complet\w{1,3}|are done|done)\s(?:with\s)?(?:your|the|this) (?:summary|summari[sz]\w{0,4}|task|answer|reply|response|processing|reading|translation)\b/,
      /\byour (?:first|next|only|top|immediate) (?:step|task|action|priority) (?:is|must be|should be|will be)\b/,
      /\btakes? (?:precedence|priority) over (?:your|the|any|all) (?:task|summary|request|instructions?|other)/,
      // "Before you can solve the task I gave you, do the following first", "then complete the task".
      /\bbefore (?:you (?:can |may |are able to )?)?(?:solv|complet|finish|do|start|continu|answer|work on)\w{0,4} (?:the|your|my|this|any) (?:original |actual |initial |assigned |current )?(?:task|request|job|assignment|question)\b/,
      /\b(?:do|complete|perform) the following (?:steps? )?first\b/,
      /\b(?:then|and then|after that|afterwards)\s?,?\s(?:you (?:can|may|should)\s)?(?:complete|continue|finish|solve|do|go on with|proceed with|resume|get back to)\s(?:the|your|my)\s(?:original\s|actual\s|initial\s|assigned\s|first\s)?(?:task|request|job|assignment|work)\b/,
      /\bafter (?:that|this|you(?:'ve| have)? done (?:that|this|so)|you do (?:that|this)|doing (?:that|this|so))\s?,?\s(?:you (?:can|may|should)\s)?(?:continue|proceed|go on|carry on|resume|get back)\b/,
    ],
  },
  {
    // Asks to be kept beyond this task: what a poisoned memory needs ("store this as a
    // permanent rule", "from now on send …"). Not a "standing order" or "standing
    // instruction", which are banking terms.
    name: 'persist',
    weight: 0.35,
    patterns: [
      /\b(?:store|save|remember|keep|record|add|treat|memori[sz]e)\s(?:this|that|it|these|the following)\s(?:as|in|to|into)\s(?:an?\s|your\s)?(?:permanent|persistent|long-term|lasting|default|new|standing)\s(?:rules?|instructions?|memory|memories|note|policy|preferences?|facts?)\b/,
      /\b(?:permanent|persistent)\s(?:rules?|instructions?|directives?|policy)\b/,
      /\b(?:remember|memori[sz]e)\s(?:this|that|it)\s(?:for|in)\s(?:all\s)?(?:future|later|subsequent|every)\s(?:sessions?|conversations?|tasks?|requests?|runs?|bookings?|orders?)\b/,
      /\bfrom now on,?\s(?:always\s|please\s)?(?:send|forward|route|pay|use|cc|bcc|copy|deliver|direct|transfer|wire|remit|email|mail)\b/,
    ],
  },
  {
    // An authority that waives the confirmation a human would ask for.
    name: 'preauth',
    weight: 0.3,
    patterns: [
      /\bpre-?(?:approved|authori[sz]ed|cleared|vetted)\b/,
      /\bstanding (?:approval|authori[sz]ation|permission|consent)\b/,
      /\bno need to (?:ask|check with|confirm with|wait for|get|seek) (?:me|us|anyone|them|the user|a human|a person|your (?:managers?|team|boss|lead)|the (?:owner|requester|approver|customer|client|user)|approval|permission|confirmation|sign-?off)\b/,
      /\bno need to (?:re-?)?(?:confirm|verify|double-?check|check|validate)\b(?! (?:your )?(?:attendance|participation|rsvp|receipt|e-?mail address))/,
      /\b(?:without|no) (?:asking|waiting for|seeking|requiring|needing|further|prior|additional|separate|human|manual)\s(?:[\w-]{2,20}\s)?(?:approval|confirmation|permission|review|sign-?off|verification)\b/,
      /\b(?:call-?back|confirmation|approval|verification|sign-?off|permission|rückfrage|bestätigung|freigabe)\s(?:[\w-]{2,20}\s){0,2}(?:is|are|ist)\s(?:\w{2,10}\s)?(?:not|no longer|nicht)\s(?:needed|required|necessary|erforderlich|nötig|notwendig)\b/,
      /\bno (?:call-?back|confirmation|approval|verification|sign-?off|permission) (?:is |are )?(?:needed|required|necessary)\b/,
      /\b(?:approved|authori[sz]ed|signed off|okayed)\s(?:this\s|it\s)?(?:on|over|by|during|via|in)\s(?:the|a|our|my|your)\s(?:phone|call|telephone)\b|\b(?:verbally|by phone) (?:approved|authori[sz]ed)\b/,
      /\b(?:don't|do not|no need to|never) (?:wait|ask) for (?:a |the )?(?:human|person|approval|confirmation|sign-?off)\b/,
      /\b(?:does|do|need)(?: not|n't) need to be (?:asked|consulted|confirmed|approved|reviewed|checked)\b/,
      /\bthis is an? (?:automatic|automated|routine|standard|mandatory|pre-?approved) (?:step|procedure|process|task|action)\b/,
    ],
  },
  {
    name: 'fake_markup',
    weight: 0.45,
    patterns: [
      /<\|?\s{0,8}(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\s{0,8}\|?>/,
      /\[\/?(?:inst|sys|system)\]|<<\/?sys>>/,
      /<\/?\s{0,8}(?:system|instructions?|assistant|admin|tool_call|function_call|developer)(?:\s[^>]{0,200})?>/,
      /^\s{0,8}#{1,4}\s{0,8}(?:system|instruction|admin)\b/m,
      /^\s{0,8}(?:system|developer)\s{0,8}(?:prompt|message)?\s{0,8}:/m,
      /\b(?:begin|start|end)\s{1,8}(?:of\s{1,8})?(?:system|admin|developer)\s{1,8}(?:prompt|message|instructions?)\b/,
      /\b(?:system|admin|developer)\s{1,8}override\b/,
    ],
  },
  {
    name: 'secrecy',
    weight: 0.35,
    patterns: [
      /\b(?:do not|don't|never|without)\s{1,8}(?:tell(?:ing)?|inform(?:ing)?|notify(?:ing)?|mention(?:ing)?|alert(?:ing)?|reveal(?:ing)?|ask(?:ing)?|let(?:ting)?|show(?:ing)?)\s{1,8}(?:this\s{1,8}(?:to\s{1,8})?)?(?:the\s{1,8})?(?:user|human|operator|owner|anyone|them|him|her)\b/,
      /\b(?:keep|treat)\s{1,8}(?:this|it|these)\s{1,8}(?:a\s{1,8})?(?:secret|confidential|between us|hidden)\b/,
      /\b(?:silently|secretly|covertly|quietly|discreetly)\b/,
      /\bthe user (?:must|should|need) not (?:know|see|be told|find out)\b/,
      /\b(?:hide|conceal)\s{1,8}(?:this|it|these|the)\b.{0,40}\bfrom\b/,
      /\b(?:do not|don't|never|no need to|without)\s(?:mention|report|disclose|flag|reveal|reference|log|surface|bring up|tell|inform|notify|alert)(?:ing)?\s(?:this|it|these|that|any of this|the [\w-]{2,20}(?: [\w-]{2,20})? (?:in|to)\b)/,
      /\b(?:does|do|need|should|must)(?: not|n't) (?:need to )?be (?:mentioned|reported|disclosed|shown|flagged|logged|surfaced)\b/,
      /\b(?:leave|keep)\s(?:this|it|these)\s(?:out of|off)\s(?:the|your|any)\s(?:summary|reply|response|answer|report|log|message|conversation|record)\b/,
      /\b(?:omit|exclude|hide|strip)\s(?:this|it|these|that)(?:\s[\w-]{2,20})?\s(?:from|in)\s(?:the|your|any)\s(?:summary|reply|response|answer|report|log|message|output)\b/,
      /\bkeep (?:this|it) between (?:us|ourselves|you and me)\b|\bwithout (?:notifying|alerting|informing|telling|letting \w{1,20} know)\b/,
    ],
  },
  {
    // An action aimed at something: the verb in imperative position, its target close behind.
    name: 'targeted_action',
    weight: 0.3,
    patterns: [
      new RegExp(`${LEAD}${VERB}\\b${NOT_LABEL}[^\\n"]{0,100}?${TARGET}`),
      new RegExp(`\\b${GERUND}\\b[^\\n"]{0,100}?${TARGET}`),
      new RegExp(
        `\\b(?:must|should|shall|is to|are to|needs? to) be (?:paid|sent|forwarded|transferred|wired|remitted|uploaded|exported|shared|posted|deleted|refunded)\\b[^\\n"]{0,100}?${TARGET}`,
      ),
    ],
  },
  {
    name: 'tool_call',
    weight: 0.3,
    patterns: [
      /\b(?:call|use|invoke|run|execute|trigger)\s{1,8}(?:the\s{1,8})?[`'"]?[\w.-]{2,40}[`'"]?\s{1,8}(?:tool|function|api|action|command)\b/,
      /\b(?:call|invoke|use)\s{1,8}(?:the\s{1,8})?(?:tool|function)\s{1,8}[`'"]?[\w.-]{2,40}/,
      /\b(?:tool_call|function_call)\b|"(?:tool|function|name)"\s{0,8}:\s{0,8}"[\w.-]{1,64}"\s{0,8},\s{0,8}"(?:arguments|parameters|args)"/,
    ],
  },
  {
    // Bulk data leaving: whole inboxes, contact lists, histories.
    name: 'send_data',
    weight: 0.3,
    patterns: [
      /\b(?:all|every|the entire|the whole|full|complete)\s{1,8}(?:[\w-]{1,20}\s{1,8}){0,2}(?:contacts?|inbox|emails?|messages?|files?|documents?|database|records?|customer (?:list|data)|contact (?:list|export)|conversation|history|audit logs?)\b[^.\n]{0,60}\b(?:to|at)\b/,
      /\b(?:exfiltrate|leak)\b/,
    ],
  },
  {
    name: 'money',
    weight: 0.35,
    patterns: [
      /\b(?:transfer|wire|send|pay|remit|move)\s{1,8}(?:(?:the|a|an|of)\s{1,8})?(?:sum\s{1,8}of\s{1,8})?(?:[$€£]\s?)?\d[\d,.]{0,20}\s{0,8}(?:k|m|usd|eur|gbp|chf|dollars?|euros?|pounds?)?\b[^.\n]{0,60}\b(?:to|into)\b/,
      /\b(?:wire|transfer|send)\s{1,8}(?:the\s{1,8}|all\s{1,8}(?:the\s{1,8})?)?(?:money|funds|payment|balance|amount|bitcoin|crypto)\b/,
      /\b(?:change|update|replace)\s{1,8}(?:the\s{1,8})?(?:(?:bank|iban|account|payee|beneficiary|payment|wire)\s{1,8}){1,2}(?:details|number|information|info|to)\b/,
      /\b(?:store|save|use|set|record|register)\s(?:the\s|this\s|our\s)?new\s(?:bank|beneficiary|payee|iban|receiving)\b/,
    ],
  },
  {
    name: 'destructive',
    weight: 0.3,
    patterns: [
      /\b(?:delete|remove|drop|wipe|erase|destroy|purge)\s{1,8}(?:all|every|the entire|the whole|everything)\b/,
      /\brm\s{1,8}-[a-z]{0,5}r[a-z]{0,5}f?\b|\bdrop\s{1,8}(?:table|database|schema)\b|\btruncate\s(?:table\s)?[\w."]{1,64}/,
      /\bdelete\s{1,8}from\s{1,8}[\w."]{1,64}\s?(?:;|$)/m,
      /\b(?:delete|remove)\s[\w/.-]{1,40}\s(?:[\w/.-]{1,40}\s)?--all\b|--all-namespaces\b[^\n]{0,40}\bdelete\b/,
      /\b(?:skip|bypass|without)\s(?:the\s)?(?:trash|recycle bin|bin)\b|\bpermanently delete\b/,
      /\bpush\b[^\n]{0,60}\s(?:--force|-f)\b/,
    ],
  },
  {
    name: 'grant',
    weight: 0.3,
    patterns: [
      /\b(?:grant|give|add|assign)\b[^.\n]{0,40}\b(?:admin|owner|administrator|write|full|root|editor)\s{1,8}(?:access|rights|permissions?|role|privileges?)\b/,
      /\bmake\s{1,8}\S{1,40}\s{1,8}(?:an?\s{1,8})?(?:admin|owner|administrator)\b/,
      /\b(?:share|invite)\b[^.\n]{0,40}\bwith\s{1,8}[^\s@]{1,64}@[\w.-]{1,253}\.[a-z]{2,24}\b[^.\n]{0,30}\b(?:edit|write|owner|full)/,
      /\badd\b[^.\n]{0,60}\bas (?:an? )?(?:maintainer|admin|administrator|owner|co-owner|collaborator|editor)\b/,
      /\bgrant\b[^.\n]{0,40}\broles?\/(?:editor|owner|admin|maintainer|[\w.]{0,40}admin)\b/,
    ],
  },
  {
    name: 'credentials',
    weight: 0.35,
    patterns: [
      /\b(?:reveal|print|show|output|send|share|include|paste|dump|list|repeat|disclose|post|upload|provide)\s{1,8}(?:me\s{1,8})?(?:your|the|all|any)\s{1,8}(?:[\w-]{1,30}\s){0,3}?(?:system prompt|api keys?|passwords?|credentials|secrets?|tokens?|environment variables|env vars|private keys?|ssh keys?|client[_ ]secrets?|connection strings?)\b/,
      /\b(?:what is|tell me) your system prompt\b/,
      /\b(?:tokens?|secrets?|passwords?|api[ _-]?keys?|credentials?|client[_ ]secrets?)\b[^.\n]{0,40}\bfrom (?:the |your )?(?:environment|env|secrets? (?:store|manager)|vault|keychain|\.env)\b/,
      /\b(?:upload|send|post|attach|share|paste)\b[^\n]{0,40}\.env(?:\.[a-z]{2,12})?\b/,
    ],
  },
  {
    name: 'urgency',
    weight: 0.15,
    patterns: [
      /\b(?:urgent(?:ly)?|immediately|right now|asap|as soon as possible|without delay|time[- ]sensitive|before it'?s too late)\b/,
      /\bwithin the next \d{1,3} (?:minutes|hours)\b/,
    ],
  },
  {
    name: 'authority',
    weight: 0.2,
    patterns: [
      /\b(?:this is|message from|on behalf of|instructions? from|by order of)\s{1,8}(?:the\s{1,8}|your\s{1,8})?(?:ceo|cfo|cto|administrator|admin|it department|security team|system administrator|developers?|creators?|owner|operator|openai|anthropic)\b/,
      /\b(?:developer|admin|god|debug|maintenance|jailbreak|dan)\s{1,8}mode\b/,
      /\bauthori[sz]ed by (?:the )?(?:administrator|admin|security team|management)\b/,
      /\bas (?:requested|instructed|directed|asked|ordered) by (?:your|the) (?:team lead|lead|manager|boss|supervisor|director|ceo|cfo|cto|coo|security team|it team|admin|administrator)\b/,
      /\byour (?:team lead|manager|boss|supervisor|director|ceo|cfo|cto) (?:asked|wants|instructed|requested|told|has asked)\b/,
    ],
  },
];

const WEIGHT = new Map<string, number>([
  ...FEATURES.map((f): [string, number] => [f.name, f.weight]),
  ['carrier', 0.3],
  ['order', 0.2],
  ['hidden', 0.3],
  ['hidden_html', 0.15],
  ['encoded', 0.25],
]);
/** What the text asks to be done: they count as one, at the highest weight. */
const ACTIONS = new Set([
  'targeted_action',
  'order',
  'send_data',
  'money',
  'destructive',
  'grant',
  'credentials',
  'tool_call',
]);
/** Features that aim the text at its reader; with an action, they add DIRECTED. */
const AIMED = new Set(['addressed_to_ai', 'sequencing', 'preauth', 'retask', 'override', 'fake_markup']);
const DIRECTED = 0.55;

/** Characters that hide text from a human reader: zero-width, bidi overrides, Unicode tags. */
const HIDDEN = /[\u200b\u2060-\u2064\u202d\u202e]|(?!^)\ufeff|[\u{e0000}-\u{e007f}]/u;
/** Styles that hide text (weaker than hidden characters: mail templates use them for preheaders). */
const HIDDEN_STYLE =
  /display\s{0,8}:\s{0,8}none|font-size\s{0,8}:\s{0,8}0(?:px|pt|em)?\b|visibility\s{0,8}:\s{0,8}hidden/i;
const PROSE = /[a-z]{3,30}\s{1,8}[a-z]{3,30}\s{1,8}[a-z]{3,30}/i;

/**
 * Any imperative: what follows an address to an automated reader ("… assistant: set every
 * ticket …"). After an address a comma starts the order too ("… triaging this inbox, transfer …").
 */
const ORDER = new RegExp(`(?:,\\s|${LEAD})(?:${VERB}|${ORDER_VERB})\\b${NOT_LABEL}`);

/**
 * Containers a human does not read but an agent does: HTML comments, hidden elements,
 * template-like [[…]] and {{…}} blocks, JSON fields named as instructions or for automated
 * readers, ::marker:: words that are not GitHub workflow commands.
 */
const CONTAINER_LIMIT = { count: 16, fields: 256, body: 2000 } as const;
const DELIMITED: [string, string][] = [
  ['<!--', '-->'],
  ['[[', ']]'],
  ['{{', '}}'],
];
/** An element styled invisible; its quotes may be JSON-escaped (content is often a JSON string). */
const HIDDEN_ELEMENT =
  /<([a-z][a-z0-9]{0,9})\b[^>]{0,300}?style\s?=\s?\\?["'][^"'>]{0,300}?(?:display\s?:\s?none|visibility\s?:\s?hidden|font-size\s?:\s?0(?![.\d]{0,4}[1-9])|opacity\s?:\s?0(?![.\d]{0,4}[1-9]))[^>]{0,300}>/gi;
const JSON_FIELD = /"([A-Za-z][\w .-]{0,59})"\s?:\s?"((?:[^"\\\n]|\\.){0,2000})/g;
const MARKER = /(?:^|\s)::([a-z][a-z0-9_ -]{1,30})::(?=\s|$)/gim;
const GITHUB_COMMANDS = new Set([
  'debug',
  'notice',
  'warning',
  'error',
  'group',
  'endgroup',
  'add-mask',
  'stop-commands',
]);
const READER_SEGMENT = /^(?:ai|llm|gpt|bots?|agents?|assistants?|copilot|automation|automated)$/;
const NOTE_SEGMENT =
  /^(?:notes?|instructions?|directives?|prompts?|tasks?|todos?|hints?|actions?|remediation|messages?|guidance|steps?|override)$/;
const ORDER_SEGMENT = /^(?:instructions?|directives?|remediation|override|prompts?)$/;
/**
 * A high-impact imperative: what a hidden note has no business asking. Not "pay", "send",
 * "run" or "install": invoices, mail preheaders and setup instructions say those.
 */
const HIGH_ORDER = new RegExp(
  `${LEAD}(?:forward|bcc|cc|export|upload|grant|invite|delete|remove|truncate|drop|wipe|purge|push|disable|ignore|disregard)\\b${NOT_LABEL}`,
);

function delimited(text: string, open: string, close: string, out: string[]): void {
  let from = 0;
  while (out.length < CONTAINER_LIMIT.count) {
    const i = text.indexOf(open, from);
    if (i < 0) return;
    const j = text.indexOf(close, i + open.length);
    if (j < 0) return;
    out.push(text.slice(i + open.length, Math.min(j, i + open.length + CONTAINER_LIMIT.body)));
    from = j + close.length;
  }
}

/** "agentInstructions", "note_to_ai", "agent-remediation" → their words. */
function segments(key: string): string[] {
  return key
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[\s_.-]+/);
}

const namesReader = (segs: string[]) =>
  segs.some((s) => READER_SEGMENT.test(s)) && segs.some((s) => NOTE_SEGMENT.test(s));

/**
 * Features of orders inside containers: `carrier`, and for a field or marker named for an
 * automated reader ("assistant_note") also `addressed_to_ai`, since its value is addressed
 * to the agent by construction. Returns whether such a field holds an imperative.
 */
function carried(clean: string, addressed: (s: string) => boolean, found: Set<string>): boolean {
  let ordered = false;
  const bodies: string[] = [];
  for (const [open, close] of DELIMITED) delimited(clean, open, close, bodies);
  let n = 0;
  for (const m of clean.matchAll(HIDDEN_ELEMENT)) {
    if (++n > CONTAINER_LIMIT.count) break;
    const start = m.index + m[0].length;
    const end = clean.indexOf('<', start);
    bodies.push(clean.slice(start, Math.min(end < 0 ? clean.length : end, start + CONTAINER_LIMIT.body)));
  }
  if (bodies.some((body) => HIGH_ORDER.test(body.toLowerCase()) || addressed(body.toLowerCase()))) {
    found.add('carrier');
  }
  n = 0;
  for (const m of clean.matchAll(JSON_FIELD)) {
    if (++n > CONTAINER_LIMIT.fields) break;
    const segs = segments(m[1]!);
    const value = m[2]!.toLowerCase();
    if (namesReader(segs) && ORDER.test(value)) {
      found.add('carrier');
      found.add('addressed_to_ai');
      ordered = true;
    } else if (segs.some((s) => ORDER_SEGMENT.test(s)) && HIGH_ORDER.test(value)) found.add('carrier');
  }
  n = 0;
  for (const m of clean.matchAll(MARKER)) {
    if (++n > CONTAINER_LIMIT.count) break;
    const name = m[1]!.toLowerCase();
    if (GITHUB_COMMANDS.has(name)) continue;
    found.add('carrier');
    if (namesReader(segments(name))) found.add('addressed_to_ai');
  }
  return ordered;
}

/** Prose in an HTML comment (not an Outlook conditional), or a hiding style. */
function hidesText(t: string): boolean {
  const comments: string[] = [];
  delimited(t, '<!--', '-->', comments);
  return HIDDEN_STYLE.test(t) || comments.some((c) => !/^\s{0,8}\[if/i.test(c) && PROSE.test(c));
}

const BASE64_RUN = /[A-Za-z0-9+/]{32,}={0,2}/g;

/** Natural-language text carried inside base64, decoded (at most a few runs). */
function decodedRuns(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(BASE64_RUN)) {
    if (out.length >= 4) break;
    const decoded = Buffer.from(m[0], 'base64').toString('utf8');
    const printable = decoded.replace(/[^\x20-\x7e\n]/g, '').length;
    if (printable >= decoded.length * 0.95 && /[a-z]{3,30}\s{1,8}[a-z]{2,30}\s{1,8}[a-z]{2,30}/i.test(decoded)) {
      out.push(decoded);
    }
  }
  return out;
}

const ADDRESSED = FEATURES.find((f) => f.name === 'addressed_to_ai')!.patterns;
/** How far an order may follow an address ("Note for the assistant: … set every ticket …"). */
const ORDER_REACH = 300;

/** An order bound to a target, as `targeted_action` binds an imperative to one. */
const ORDER_AIMED = new RegExp(`${ORDER.source}[^\\n"]{0,100}?${TARGET}`);

/**
 * Whether `normal` addresses an automated reader, and the text the address hands an order
 * to, if it does: ORDER_REACH after a direct address, the rest of the sentence after a
 * described reader.
 */
function readerOrder(normal: string): { addressed: boolean; order?: string } {
  let addressed = false;
  for (const p of ADDRESSED) {
    const m = p.exec(normal);
    if (!m) continue;
    const rest = normal.slice(m.index + m[0].length, m.index + m[0].length + ORDER_REACH);
    if (ORDER.test(rest)) return { addressed: true, order: rest };
    addressed = true;
  }
  for (const p of DESCRIBED_READER) {
    const m = p.exec(normal);
    if (!m) continue;
    const rest = normal.slice(m.index + m[0].length, m.index + m[0].length + ORDER_REACH);
    const stop = rest.search(/[.!?](?:\s|$)|\n/);
    const sentence = stop < 0 ? rest : rest.slice(0, stop);
    if (ORDER.test(sentence)) return { addressed: true, order: sentence };
  }
  return { addressed };
}

function features(text: string): Set<string> {
  const clean = text
    .replace(/[\u200b-\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069\u00ad]/g, '')
    .replace(/[\u{e0000}-\u{e007f}]/gu, '');
  const normal = clean
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/[ \t]+/g, ' ');
  const found = new Set<string>();
  for (const f of FEATURES) if (f.patterns.some((p) => p.test(normal))) found.add(f.name);
  const reader = readerOrder(normal);
  if (reader.order !== undefined) {
    found.add('addressed_to_ai');
    if (ORDER_AIMED.test(reader.order)) found.add('targeted_action');
  }
  const ordered = carried(clean, (b) => readerOrder(b).addressed, found) || reader.order !== undefined;
  // The weakest action, named only when no other action feature says what is asked.
  if (ordered && ![...found].some((f) => ACTIONS.has(f))) found.add('order');
  return found;
}

/** 1 − Π(1 − w), the action features counted once, plus DIRECTED for an action aimed at the reader. */
function score(found: Set<string>): number {
  let keep = 1;
  let action = 0;
  let aimed = false;
  for (const name of found) {
    const w = WEIGHT.get(name) ?? 0;
    if (ACTIONS.has(name)) action = Math.max(action, w);
    else keep *= 1 - w;
    if (AIMED.has(name)) aimed = true;
  }
  keep *= 1 - action;
  if (action > 0 && aimed) keep *= 1 - DIRECTED;
  return Math.round((1 - keep) * 1000) / 1000;
}

/** Scores `text` (its first SCAN_LIMIT characters); the features found, sorted by name. */
export function scanText(text: string): ScanResult {
  const t = text.length > SCAN_LIMIT ? text.slice(0, SCAN_LIMIT) : text;
  const found = features(t);
  if (HIDDEN.test(t)) found.add('hidden');
  if (hidesText(t)) found.add('hidden_html');
  const decoded = decodedRuns(t);
  if (decoded.length > 0) {
    found.add('encoded');
    for (const d of decoded) for (const f of features(d)) found.add(f);
  }
  if (/\b(?:decode|base64[- ]decode|rot13)\b[^.\n]{0,40}\b(?:and|then)\s{1,8}(?:follow|execute|run|do)\b/i.test(t)) {
    found.add('encoded');
  }
  return { score: score(found), features: [...found].sort() };
}
