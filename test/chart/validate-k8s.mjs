#!/usr/bin/env node
/**
 * Validates rendered manifests against the Kubernetes API schemas, offline.
 *
 *   node test/chart/validate-k8s.mjs RENDERED.yaml...
 *   node test/chart/validate-k8s.mjs --self-test
 *
 * The schemas come from npm (kubernetes-models, generated from the Kubernetes OpenAPI
 * spec, and @kubernetes-models/prometheus-operator for the ServiceMonitor), installed by
 * scripts/test-chart.sh into .tools/k8s-schemas from test/chart/k8s-schemas/. Two checks:
 *
 *   1. types, enums, formats and required fields: each object through its model's
 *      validate() (JSON Schema, compiled ahead of time);
 *   2. unknown fields (what `kubeconform -strict` adds): the objects written out as object
 *      literals typed with the models' TypeScript interfaces and compiled with tsc, whose
 *      excess-property check rejects any field the API does not define.
 *
 * --self-test runs both on known-bad objects and fails unless each is caught, so a check
 * that silently validates nothing cannot pass.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCHEMAS = join(ROOT, '.tools', 'k8s-schemas');
const MODULES = join(SCHEMAS, 'node_modules');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Where an object's model lives: [package, path inside it]. */
function modelOf(o) {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  if (group === 'monitoring.coreos.com')
    return ['@kubernetes-models/prometheus-operator', `${group}/${version}/${o.kind}`];
  return ['kubernetes-models', `${group ? `${group}/` : ''}${version}/${o.kind}`];
}

async function validateTypes(objects) {
  const errors = [];
  for (const [i, o] of objects.entries()) {
    const [pkg, path] = modelOf(o);
    const file = join(MODULES, pkg, `${path}.js`);
    if (!existsSync(file)) {
      errors.push(`${i}: ${o.apiVersion} ${o.kind}: no schema for this kind`);
      continue;
    }
    const Model = (await import(pathToFileURL(file).href))[o.kind];
    try {
      new Model(o).validate();
    } catch (err) {
      errors.push(`${o.kind}/${o.metadata?.name}: ${err.message}`);
    }
  }
  return errors;
}

function validateFields(objects) {
  const dir = join(SCHEMAS, 'strict');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const lines = [];
  objects.forEach((o, i) => {
    const [pkg, path] = modelOf(o);
    lines.push(`import type { I${o.kind} as T${i} } from '${pkg}/${path}';`);
    lines.push(`// ${o.kind}/${o.metadata?.name}`);
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(o, null, 2)};`);
  });
  writeFileSync(join(dir, 'manifests.ts'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        types: [],
      },
      files: ['manifests.ts'],
    }),
  );
  try {
    execFileSync(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' });
    return [];
  } catch (err) {
    return String(err.stdout || err.message)
      .split('\n')
      .filter((l) => l.includes('error TS'))
      .map((l) => l.replace(/^.*manifests\.ts/, 'manifests.ts'));
  }
}

async function validate(objects) {
  return [...(await validateTypes(objects)), ...validateFields(objects)];
}

function load(files) {
  return files.flatMap((f) =>
    parseAllDocuments(readFileSync(f, 'utf8'))
      .map((d) => d.toJS())
      .filter((o) => o !== null),
  );
}

if (!existsSync(join(MODULES, 'kubernetes-models'))) {
  console.error(`validate-k8s: no schemas in ${SCHEMAS}: run scripts/test-chart.sh (it installs them from npm)`);
  process.exit(1);
}

if (process.argv[2] === '--self-test') {
  const base = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    },
  };
  const wrongType = structuredClone(base);
  wrongType.spec.replicas = 'three';
  const wrongEnum = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    spec: { ports: [{ port: 80, protocol: 'TCPX' }] },
  };
  const unknownField = structuredClone(base);
  unknownField.spec.template.spec.containers[0].securityContext = { readOnlyRootFilesytem: true };
  const cases = {
    'a valid Deployment': [base, 0],
    'a string replicas': [wrongType, 1],
    'an unknown protocol': [wrongEnum, 1],
    'a misspelt field': [unknownField, 1],
  };
  let failed = false;
  for (const [name, [object, expectErrors]] of Object.entries(cases)) {
    const errors = await validate([object]);
    const ok = expectErrors === 0 ? errors.length === 0 : errors.length > 0;
    console.log(
      `validate-k8s self-test: ${name}: ${ok ? 'ok' : 'NOT CAUGHT'}${errors.length ? ` (${errors[0]})` : ''}`,
    );
    failed ||= !ok;
  }
  process.exit(failed ? 1 : 0);
}

const files = process.argv.slice(2);
const objects = load(files);
const errors = await validate(objects);
for (const e of errors) console.error(`validate-k8s: ${e}`);
console.log(
  `validate-k8s: ${objects.length} objects from ${files.length} file(s): ${errors.length === 0 ? 'valid' : `${errors.length} error(s)`}`,
);
process.exit(errors.length === 0 ? 0 : 1);
