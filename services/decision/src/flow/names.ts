/**
 * Destinations the user named by name (docs/detection.md 3.6). A user asks "post the status
 * in our shared channel with Voss Holding" or "reply to Van Dijk Legal", not "post to
 * #ext-voss-holding" or "mail accounts@vandijklegal.nl". The intent's names are kept as
 * salted fingerprints of their word runs (one to three words, folded to letters and digits:
 * "Voss Holding" → "vossholding"); a destination's own name is read from its value (a
 * channel's slug past the shared prefix, a folder's segments below its shared or published root, the
 * registrable name of a domain) and looked up. A name match only tells where a destination
 * nobody has seen before comes from: a value first seen in untrusted content stays
 * untrusted, and a lookalike of the organisation's domains is never named.
 */
import { fingerprint } from './entities.js';
import { registrable } from './normalise.js';
import type { Org } from './org.js';

/** Intents are read this far for names; past it nothing is kept (the bound of state.ts holds anyway). */
const WORD_LIMIT = 400;
export const NAME_BOUND = 256;
/** A run this short ("it", "q3") names nothing. */
const MIN_NAME = 4;

/** Words that say what kind of place something is, not whose it is. */
const GENERIC = new Set(
  (
    'the and for with our your their from into onto this that about please team teams channel channels ' +
    'chat shared share shares external ext public general client clients customer customers partner ' +
    'partners guest guests folder folders project projects workspace drive docs document documents file ' +
    'files report reports status update updates data info mail email inbox send post reply message new ' +
    'all org company internal random ops admin'
  ).split(' '),
);

/** Lower case, accents off, letters and digits only. */
export function nameKey(text: string): string {
  return words(text).join('');
}

/** The words of a text: runs of letters and digits, lower case, accents off. */
export function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

/**
 * The fingerprints of the names an intent may mention: every run of one to three words
 * that holds a word that is not generic, folded, at least MIN_NAME long; first ones kept.
 */
export function intentNameFingerprints(salt: string, intent: string): string[] {
  const ws = words(intent.slice(0, 16 * 1024)).slice(0, WORD_LIMIT);
  const out = new Set<string>();
  for (let i = 0; i < ws.length && out.size < NAME_BOUND; i++) {
    for (let n = 1; n <= 3 && i + n <= ws.length; n++) {
      const run = ws.slice(i, i + n);
      if (run.every((w) => GENERIC.has(w))) continue;
      const key = run.join('');
      if (key.length >= MIN_NAME) out.add(fingerprint(salt, 'name', key));
    }
  }
  return [...out].slice(0, NAME_BOUND);
}

/** A slug or folder name without its generic words, folded ("ext-voss-holding" → "vossholding"). */
function ownName(text: string): string | undefined {
  const key = words(text)
    .filter((w) => !GENERIC.has(w))
    .join('');
  return key.length >= MIN_NAME ? key : undefined;
}

/**
 * The names a destination goes by: a channel's slug past the organisation's shared prefix;
 * each folder of a path below its shared or published root (a file name too, without its extension);
 * the registrable name of an address's or URL's domain ("vandijklegal").
 */
export function destinationNames(kind: string, value: string, host: string | undefined, org: Org): string[] {
  const names: Array<string | undefined> = [];
  switch (kind) {
    case 'channel': {
      const slug = value.replace(/^#/, '').toLowerCase();
      const prefix = org.sharedPrefixes.find((p) => slug.startsWith(p));
      names.push(ownName(prefix === undefined ? slug : slug.slice(prefix.length)));
      break;
    }
    case 'path': {
      const root = [...org.sharedFolders, ...org.published].find((f) => `${value}/`.startsWith(f));
      const below = root === undefined ? value : value.slice(root.length);
      for (const segment of below.split('/').filter((s) => s !== ''))
        names.push(ownName(segment.replace(/\.\w{1,5}$/, '')));
      break;
    }
    case 'email':
    case 'url':
    case 'host':
    case 'principal':
      if (host !== undefined) names.push(ownName(registrable(host).name));
      break;
    default:
      break;
  }
  return [...new Set(names.filter((n): n is string => n !== undefined))];
}

/**
 * The names of a destination that belong to someone else: not the organisation's own
 * ("#shared-helix-partners" of helixcloud.io is named after the organisation, shared with
 * many partners, not after one of them).
 */
export function partyNames(names: readonly string[], org: Org): string[] {
  const own = org.domains.map((d) => nameKey(registrable(d).name)).filter((n) => n.length >= MIN_NAME);
  return names.filter((n) => !own.some((o) => o.startsWith(n) || n.startsWith(o)));
}

/** Whether a destination's name is one the intent mentions (by fingerprint). */
export function namedInIntent(
  salt: string,
  intentNames: readonly string[] | undefined,
  names: readonly string[],
): boolean {
  if (!intentNames || intentNames.length === 0) return false;
  return names.some((n) => intentNames.includes(fingerprint(salt, 'name', n)));
}
