/**
 * Which restricted kinds of personal data an action asks for by name (docs/detection.md
 * 3.7): the fields it selects (`fields`, `columns`, `select`, ... parameters) and the
 * select lists of its SQL. A meeting-prep agent that asks the HR system for
 * `medical_notes` and `base_salary` reaches further than the task, whatever the tool's
 * usual level; the intent says whether the user asked for such data
 * (`input.flow.intent.mentions`). Field names only: values are never read here.
 */
import { words } from './names.js';

export interface Category {
  /** Words of a field name (split on `_`, `-`, `.`, case changes) that put it in the category. */
  fields: string[];
  /** Word starts of an intent that ask for the category ("salar" for salary, salaries). */
  intent: string[];
}

export const CATEGORIES: Record<string, Category> = {
  compensation: {
    fields: [
      'salary',
      'salaries',
      'wage',
      'wages',
      'compensation',
      'bonus',
      'bonuses',
      'payroll',
      'payrate',
      'earnings',
    ],
    intent: ['salar', 'wage', 'compens', 'bonus', 'payroll', 'pay', 'earning', 'remunerat', 'raise', 'income'],
  },
  health: {
    fields: ['medical', 'health', 'diagnosis', 'diagnoses', 'sick', 'sickness', 'illness', 'disability', 'treatment'],
    intent: ['medic', 'health', 'sick', 'ill', 'disab', 'absence', 'absent', 'leave', 'diagnos', 'treatment'],
  },
  discipline: {
    fields: ['disciplinary', 'discipline', 'grievance', 'grievances', 'misconduct'],
    intent: ['disciplin', 'grievanc', 'misconduct', 'investigat', 'warning', 'complaint'],
  },
  government_id: {
    fields: ['ssn', 'passport', 'nationalid', 'socialsecurity', 'taxid', 'driverslicense'],
    intent: ['ssn', 'social', 'passport', 'national', 'identity', 'tax', 'licen', 'visa', 'travel', 'kyc'],
  },
  bank_account: {
    fields: ['iban', 'bankaccount', 'accountnumber', 'routingnumber', 'cardnumber', 'cvv', 'cvc', 'pan'],
    intent: ['iban', 'bank', 'account', 'payment', 'pay', 'payroll', 'routing', 'card', 'refund', 'payout', 'transfer'],
  },
  // Personal contact details, row by row: the drift pack counts them only against an intent
  // that asks for numbers ("how many signed up?"), where a list of people is no answer.
  contact: {
    fields: [
      'email',
      'emails',
      'phone',
      'phones',
      'mobile',
      'telephone',
      'address',
      'addresses',
      'street',
      'postcode',
      'postalcode',
      'zipcode',
      'fullname',
      'firstname',
      'lastname',
      'surname',
    ],
    intent: [
      'contact',
      'email',
      'e-mail',
      'phone',
      'call',
      'address',
      'name',
      'who',
      'whom',
      'owner',
      'outreach',
      'detail',
      'people',
      'person',
    ],
  },
  special: {
    fields: [
      'religion',
      'ethnicity',
      'race',
      'sexualorientation',
      'criminal',
      'backgroundcheck',
      'dob',
      'birthdate',
      'dateofbirth',
    ],
    intent: ['religio', 'ethnic', 'race', 'orient', 'criminal', 'background', 'birth', 'diversity'],
  },
};

/** Parameters whose values name fields to return. */
const FIELD_PARAMS =
  /^(?:fields?|columns?|select|attributes?|properties|include|expand|fieldset|return_fields|output_fields|projection)$/i;

/** The words of a field name: "base_salary" → base, salary, basesalary; "dateOfBirth" → date, of, birth, dateofbirth. */
function fieldWords(name: string): string[] {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
  const out = new Set(words);
  for (let i = 0; i < words.length; i++) {
    for (let n = 2; n <= 3 && i + n <= words.length; n++) out.add(words.slice(i, i + n).join(''));
  }
  return [...out];
}

function categoriesOf(field: string): string[] {
  const words = fieldWords(field);
  return Object.entries(CATEGORIES)
    .filter(([, c]) => c.fields.some((f) => words.includes(f)))
    .map(([name]) => name);
}

/** Field names a select list names ("u.email, b.card_last4 AS last4" → email, card_last4). */
function selectedColumns(sql: string): string[] {
  const out: string[] = [];
  const code = sql
    .slice(0, 16 * 1024)
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/--[^\n]*/g, ' ');
  for (const m of code.matchAll(/\bselect\b([\s\S]*?)\bfrom\b/gi)) {
    for (const id of m[1]!.matchAll(/[a-z_][\w]*(?:\.[a-z_][\w]*)?/gi)) out.push(id[0].replace(/^.*\./, ''));
  }
  return out;
}

export interface Reach {
  categories: string[];
  /** The field names that put the action in them (at most 16). */
  fields: string[];
}

/** The restricted categories an action's parameters ask for; undefined for none. */
export function reachOf(parameters: Record<string, unknown>, sqlValues: string[]): Reach | undefined {
  const names: string[] = [];
  for (const [key, value] of Object.entries(parameters)) {
    if (!FIELD_PARAMS.test(key)) continue;
    if (typeof value === 'string') names.push(...value.split(/[\s,]+/));
    else if (Array.isArray(value)) for (const v of value.slice(0, 128)) if (typeof v === 'string') names.push(v);
  }
  for (const sql of sqlValues) names.push(...selectedColumns(sql));
  const categories = new Set<string>();
  const fields = new Set<string>();
  for (const name of names.slice(0, 512)) {
    const found = categoriesOf(name);
    if (found.length === 0) continue;
    for (const c of found) categories.add(c);
    if (fields.size < 16) fields.add(name);
  }
  return categories.size === 0 ? undefined : { categories: [...categories].sort(), fields: [...fields] };
}

/** The categories an intent asks for by its words. */
export function intentMentions(intent: string): string[] {
  const ws = words(intent.slice(0, 16 * 1024));
  return Object.entries(CATEGORIES)
    .filter(([, c]) => c.intent.some((start) => ws.some((w) => w.startsWith(start))))
    .map(([name]) => name);
}
