/**
 * Renders the chart with the pinned helm (.tools/bin/helm, from scripts/install-helm.sh)
 * and parses the multi-document output into objects.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR } from './values-table.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const HELM = join(ROOT, '.tools', 'bin', 'helm');
export { CHART_DIR };
export const CI_VALUES = [
  'default-values.yaml',
  'production-values.yaml',
  'cluster-values.yaml',
  'trial-values.yaml',
].map((f) => join(CHART_DIR, 'ci', f));
/**
 * The smallest values that render (the identity provider): the chart's own defaults refuse
 * to, since auth.mode is jwt by default. What render() starts from unless told otherwise.
 */
export const MINIMAL_VALUES = CI_VALUES[0]!;

/** A rendered Kubernetes object; tests reach into its spec freely. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function requireHelm(): void {
  if (!existsSync(HELM)) {
    throw new Error(
      `helm is not installed at ${HELM}: run scripts/install-helm.sh (it builds the pinned helm with Go)`,
    );
  }
}

export function helm(args: string[]): HelmResult {
  requireHelm();
  const r = spawnSync(HELM, args, {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, HELM_CACHE_HOME: join(ROOT, '.tools', 'helm-cache') },
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface RenderOptions {
  /** Values files, in order, after MINIMAL_VALUES unless `bare`. */
  values?: string[];
  /** Without MINIMAL_VALUES: the chart's defaults and `values` alone (each ci/ file stands alone). */
  bare?: boolean;
  /** --set arguments. */
  set?: string[];
  /** --set-string arguments. */
  setString?: string[];
  release?: string;
}

function templateArgs(o: RenderOptions): string[] {
  return [
    'template',
    o.release ?? 'arbiter',
    CHART_DIR,
    '--namespace',
    'decisions',
    ...[...(o.bare ? [] : [MINIMAL_VALUES]), ...(o.values ?? [])].flatMap((f) => ['--values', f]),
    ...(o.set ?? []).flatMap((s) => ['--set', s]),
    ...(o.setString ?? []).flatMap((s) => ['--set-string', s]),
  ];
}

/** helm template; throws with helm's message when it fails. */
export function render(o: RenderOptions = {}): Manifest[] {
  const r = helm(templateArgs(o));
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0]?.message}`);
      return d.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/** helm template expected to fail; returns its message. */
export function renderFails(o: RenderOptions): string {
  const r = helm(templateArgs(o));
  if (r.status === 0) throw new Error(`helm template succeeded with ${JSON.stringify(o)}, expected a failure`);
  return r.stderr;
}

export function find(objects: Manifest[], kind: string, nameSuffix = ''): Manifest | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
}

export function get(objects: Manifest[], kind: string, nameSuffix = ''): Manifest {
  const found = find(objects, kind, nameSuffix);
  if (!found)
    throw new Error(
      `no ${kind}${nameSuffix ? ` named *${nameSuffix}` : ''} rendered; got ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  return found;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: any;
}

/** The container's environment: the config ConfigMap (envFrom), then its env entries. */
export function containerEnv(objects: Manifest[]): { literal: Map<string, string>; env: EnvVar[] } {
  const deployment = get(objects, 'Deployment');
  const container = deployment.spec.template.spec.containers[0];
  const literal = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name);
    if (!cm) throw new Error(`envFrom names ConfigMap ${from.configMapRef?.name}, which the chart does not render`);
    for (const [k, v] of Object.entries(cm.data ?? {})) literal.set(k, String(v));
  }
  const env = (container.env ?? []) as EnvVar[];
  for (const e of env) if (e.value !== undefined) literal.set(e.name, e.value);
  return { literal, env };
}
