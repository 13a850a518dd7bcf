#!/usr/bin/env node
// Validates policy data files against schemas/catalog.v1.schema.json (`make lint`): the
// shipped rego/data.json, every eval/companies/*/data.json and every data.json under
// test/fixtures/, or the files given as arguments. Prints one line per error, the file,
// the JSON path and the message, and exits 1 when there is any.
//
//   node scripts/check-catalogs.mjs [file.json ...]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const ROOT = join(import.meta.dirname, '..');
const SCHEMA = join(ROOT, 'schemas', 'catalog.v1.schema.json');

/** The data files `make lint` checks. */
function defaultFiles() {
  const files = [join(ROOT, 'rego', 'data.json')];
  const companies = join(ROOT, 'eval', 'companies');
  if (existsSync(companies)) {
    for (const entry of readdirSync(companies, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const file = join(companies, entry.name, 'data.json');
      if (entry.isDirectory() && existsSync(file)) files.push(file);
    }
  }
  const fixtures = join(ROOT, 'test', 'fixtures');
  if (existsSync(fixtures)) {
    for (const path of readdirSync(fixtures, { recursive: true }).sort()) {
      if (path === 'data.json' || path.endsWith('/data.json')) files.push(join(fixtures, path));
    }
  }
  return files;
}

/** A JSON Pointer as a JSON path: /aarm/catalog/tools/db.query/effects/0 → $.aarm.catalog.tools["db.query"].effects[0]. */
function jsonPath(pointer) {
  if (pointer === '') return '$';
  return (
    '$' +
    pointer
      .slice(1)
      .split('/')
      .map((raw) => raw.replaceAll('~1', '/').replaceAll('~0', '~'))
      .map((key) =>
        /^(0|[1-9][0-9]*)$/.test(key)
          ? `[${key}]`
          : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
            ? `.${key}`
            : `[${JSON.stringify(key)}]`,
      )
      .join('')
  );
}

/** What an error names beside its message: the key that is not allowed, the values that are. */
function detail(error) {
  const { params } = error;
  if (params.additionalProperty !== undefined) return ` (${JSON.stringify(params.additionalProperty)})`;
  if (params.allowedValues !== undefined) return ` (${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')})`;
  if (params.allowedValue !== undefined) return ` (${JSON.stringify(params.allowedValue)})`;
  return '';
}

/**
 * Ajv's errors, made readable: an "if" error only says that its "then" failed (which has
 * its own errors); an "anyOf" whose branches each miss a property becomes one "must have
 * one of" line instead of one line per branch; an error of a "dependentSchemas" rule says
 * which property brought the rule in.
 */
function readable(errors) {
  // c is an error of a branch of e, on the same value.
  const within = (c, e) => c.instancePath === e.instancePath && c.schemaPath.startsWith(`${e.schemaPath}/`);
  const collapsed = new Map();
  for (const e of errors) {
    if (e.keyword !== 'anyOf') continue;
    const branches = errors.filter((c) => within(c, e));
    if (branches.length > 0 && branches.every((c) => c.keyword === 'required')) {
      const missing = [...new Set(branches.map((c) => c.params.missingProperty))];
      collapsed.set(e, { ...e, message: `must have one of the properties ${missing.join(', ')}`, params: {} });
    }
  }
  const hidden = (c) => c.keyword === 'if' || [...collapsed.keys()].some((e) => within(c, e));
  return errors
    .filter((e) => !hidden(e) && (e.keyword !== 'anyOf' || collapsed.has(e)))
    .map((e) => collapsed.get(e) ?? e)
    .map((e) => {
      const rule = /\/dependentSchemas\/([^/]+)\//.exec(e.schemaPath);
      return rule ? { ...e, because: `, as it has ${rule[1]}` } : e;
    });
}

// strictRequired off: the conditional rules (if MODIFY then patch) name properties declared beside them.
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
addFormatsModule.default(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));

const files = process.argv.length > 2 ? process.argv.slice(2) : defaultFiles();
let failed = 0;
for (const file of files) {
  const name = relative(process.cwd(), file) || file;
  let data;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`${name}: $: ${err instanceof Error ? err.message : String(err)}`);
    failed += 1;
    continue;
  }
  if (validate(data)) continue;
  failed += 1;
  for (const error of readable(validate.errors ?? [])) {
    console.error(`${name}: ${jsonPath(error.instancePath)}: ${error.message}${detail(error)}${error.because ?? ''}`);
  }
}
if (failed > 0) {
  console.error(`${failed} of ${files.length} policy data files do not match schemas/catalog.v1.schema.json`);
  process.exit(1);
}
console.log(`${files.length} policy data files match schemas/catalog.v1.schema.json`);
