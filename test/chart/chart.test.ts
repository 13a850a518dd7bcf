/**
 * The Helm chart, rendered by the pinned helm and asserted on as objects: probes, the
 * security context, the policy ConfigMap as the folder ARBITER_POLICY_DIR names (hot
 * reload, no restart), secrets referenced and never inlined, the Redis URL forms, the
 * optional objects, the values schema, and the README's table of values.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../services/decision/src/config.js';
import { CHAIN_ENV_SHAPE } from '../../services/decision/src/chain/settings.js';
import { DRIFT_ENV_SHAPE } from '../../services/decision/src/drift/index.js';
import {
  CHART_DIR,
  CI_VALUES,
  HELM,
  ROOT,
  containerEnv,
  find,
  get,
  helm,
  render,
  renderFails,
  requireHelm,
  type Manifest,
} from './support.js';
import { readmeTable, schemaLeaves, valueRows, valuesTable } from './values-table.js';

const POD_NAME = 'arbiter-7d9c6b5f4-abcde';

let scratch: string;
before(() => {
  requireHelm();
  scratch = mkdtempSync(join(tmpdir(), 'arbiter-chart-test-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes a values file (for multi-line values such as PEMs) and returns its path. */
function valuesFile(name: string, values: unknown): string {
  const path = join(scratch, name);
  writeFileSync(path, stringify(values));
  return path;
}

const deploymentOf = (objects: Manifest[]) => get(objects, 'Deployment');
const podSpec = (objects: Manifest[]) => deploymentOf(objects).spec.template.spec;
const container = (objects: Manifest[]) => podSpec(objects).containers[0];

describe('helm lint --strict', () => {
  // Lint reports a template's fail() as information only: the chart defaults lint, though
  // they do not render (see 'authentication is safe by default').
  for (const file of [undefined, ...CI_VALUES]) {
    test(file ? basename(file) : 'chart defaults', () => {
      const r = helm(['lint', '--strict', CHART_DIR, ...(file ? ['--values', file] : [])]);
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    });
  }
});

describe('every example values file renders a hardened Deployment', () => {
  for (const file of CI_VALUES) {
    describe(basename(file), () => {
      let objects: Manifest[];
      before(() => {
        objects = render({ values: [file], bare: true });
      });

      test('probes: startup and liveness on /healthz, readiness on /readyz, on the named port', () => {
        const c = container(objects);
        const port = c.ports.find((p: { name: string }) => p.name === 'http');
        assert.ok(port, 'a container port named http');
        assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'http' });
        assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'http' });
        assert.deepEqual(c.startupProbe.httpGet, { path: '/healthz', port: 'http' });
        const { literal } = containerEnv(objects);
        assert.equal(
          literal.get('ARBITER_PORT'),
          String(port.containerPort),
          'the service listens where the probes look',
        );
        assert.equal(literal.get('ARBITER_HOST'), '0.0.0.0');
      });

      test('the full security context, on the pod and the container', () => {
        const pod = podSpec(objects).securityContext;
        assert.equal(pod.runAsNonRoot, true);
        assert.ok(Number.isInteger(pod.runAsUser) && pod.runAsUser > 0, 'a fixed non-root UID');
        assert.deepEqual(pod.seccompProfile, { type: 'RuntimeDefault' });
        const c = container(objects).securityContext;
        assert.equal(c.runAsNonRoot, true);
        assert.equal(c.runAsUser, pod.runAsUser);
        assert.ok(c.runAsUser > 0);
        assert.equal(c.readOnlyRootFilesystem, true);
        assert.equal(c.allowPrivilegeEscalation, false);
        assert.equal(c.privileged, false);
        assert.deepEqual(c.capabilities, { drop: ['ALL'] });
        assert.deepEqual(c.seccompProfile, { type: 'RuntimeDefault' });
        assert.equal(podSpec(objects).automountServiceAccountToken, false);
      });

      test('resource requests and limits', () => {
        const r = container(objects).resources;
        assert.ok(r.requests.cpu && r.requests.memory, 'cpu and memory requests');
        assert.ok(r.limits.cpu && r.limits.memory, 'cpu and memory limits');
      });

      test('/tmp is a writable emptyDir (opa build writes there)', () => {
        const mount = container(objects).volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
        assert.ok(mount, '/tmp is mounted');
        assert.notEqual(mount.readOnly, true);
        const volume = podSpec(objects).volumes.find((v: { name: string }) => v.name === mount.name);
        assert.ok(volume.emptyDir, '/tmp is an emptyDir');
      });

      test('every ARBITER_POLICY_DIR folder is a mounted ConfigMap', () => {
        const { literal } = containerEnv(objects);
        const dirs = (literal.get('ARBITER_POLICY_DIR') ?? '').split(':').filter(Boolean);
        assert.ok(dirs.length > 0, 'ARBITER_POLICY_DIR is set');
        for (const dir of dirs) {
          const mount = container(objects).volumeMounts.find((m: { mountPath: string }) => m.mountPath === dir);
          assert.ok(mount, `${dir} is mounted`);
          assert.equal(mount.readOnly, true);
          assert.equal(mount.subPath, undefined, 'a whole folder: subPath mounts never see ConfigMap updates');
          const volume = podSpec(objects).volumes.find((v: { name: string }) => v.name === mount.name);
          assert.ok(volume.configMap?.name, `${dir} comes from a ConfigMap`);
        }
      });

      test('the pod name is the instance id', () => {
        const { env } = containerEnv(objects);
        const id = env.find((e) => e.name === 'ARBITER_INSTANCE_ID');
        assert.deepEqual(id?.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
      });

      test('the config checksum is on the pod template and no policy checksum is', () => {
        const annotations: Record<string, string> = deploymentOf(objects).spec.template.metadata.annotations;
        assert.match(annotations['checksum/config'] ?? '', /^[0-9a-f]{64}$/);
        for (const key of Object.keys(annotations)) assert.doesNotMatch(key, /policy|rego/i);
        const checksums = Object.keys(annotations).filter((k) => k.startsWith('checksum/'));
        assert.ok(
          checksums.every((k) => k === 'checksum/config' || k === 'checksum/secret'),
          `only config and secret checksums: ${checksums}`,
        );
      });

      test("the rendered configuration is accepted by the service's config.ts", () => {
        const { literal, env } = containerEnv(objects);
        const fromRefs = Object.fromEntries(
          env
            .filter((e) => e.valueFrom)
            .map((e) => [e.name, e.valueFrom.fieldRef ? POD_NAME : 'a-secret-value-of-16+-chars']),
        );
        const config = loadConfig({ ...Object.fromEntries(literal), ...fromRefs, ARBITER_OPA: '/usr/local/bin/opa' });
        assert.equal(config.host, '0.0.0.0');
        assert.equal(config.instance.id, POD_NAME);
        assert.deepEqual(config.policy.dirs, (literal.get('ARBITER_POLICY_DIR') ?? '').split(':'));
      });
    });
  }
});

describe('Redis', () => {
  test('Sentinel: redis+sentinel://host:port,host:port/<master>', () => {
    const objects = render({
      set: [
        'redis.mode=sentinel',
        'redis.sentinel.masterName=mymaster',
        'redis.sentinel.sentinels[0].host=host1',
        'redis.sentinel.sentinels[0].port=26379',
        'redis.sentinel.sentinels[1].host=host2',
        'redis.sentinel.sentinels[1].port=26379',
      ],
    });
    assert.equal(
      containerEnv(objects).literal.get('ARBITER_REDIS_URL'),
      'redis+sentinel://host1:26379,host2:26379/mymaster',
    );
  });

  test('Sentinel with TLS (the production example): rediss+sentinel://, the CA mounted for the Redis connections only', () => {
    const objects = render({ values: [CI_VALUES[1]!], bare: true });
    const { literal } = containerEnv(objects);
    assert.equal(
      literal.get('ARBITER_REDIS_URL'),
      'rediss+sentinel://redis-sentinel-0.redis-sentinel.redis.svc.cluster.local:26379,redis-sentinel-1.redis-sentinel.redis.svc.cluster.local:26379,redis-sentinel-2.redis-sentinel.redis.svc.cluster.local:26379/arbiter',
    );
    // NODE_EXTRA_CA_CERTS would make every outbound TLS connection (JWKS, webhooks, OTLP) trust it.
    assert.equal(literal.get('NODE_EXTRA_CA_CERTS'), undefined);
    const ca = literal.get('ARBITER_REDIS_TLS_CA') ?? '';
    const mount = container(objects).volumeMounts.find((m: { mountPath: string }) => ca.startsWith(`${m.mountPath}/`));
    assert.ok(mount, 'ARBITER_REDIS_TLS_CA points into a mounted volume');
    assert.equal(
      podSpec(objects).volumes.find((v: { name: string }) => v.name === mount.name).secret.secretName,
      'arbiter-redis-ca',
    );
  });

  test('TLS on the listener: the Secret mounted, HTTPS probes; with a client CA, mTLS and TCP probes', () => {
    const tlsOnly = render({
      set: ['tls.existingSecret=arbiter-tls', 'serviceMonitor.enabled=true', 'metrics.public=true'],
    });
    const { literal } = containerEnv(tlsOnly);
    const mount = container(tlsOnly).volumeMounts.find((m: { name: string }) => m.name === 'tls');
    assert.equal(literal.get('ARBITER_TLS_CERT'), `${mount.mountPath}/tls.crt`);
    assert.equal(literal.get('ARBITER_TLS_KEY'), `${mount.mountPath}/tls.key`);
    assert.equal(literal.get('ARBITER_TLS_CLIENT_CA'), undefined);
    // A renewal is picked up in place: a folder mount (no subPath, which would freeze the files) and a check interval.
    assert.equal(literal.get('ARBITER_TLS_RELOAD_MS'), '60000');
    assert.equal(mount.subPath, undefined);
    const never = containerEnv(render({ set: ['tls.existingSecret=arbiter-tls', 'tls.reloadSeconds=0'] }));
    assert.equal(never.literal.get('ARBITER_TLS_RELOAD_MS'), '0');
    const volume = podSpec(tlsOnly).volumes.find((v: { name: string }) => v.name === 'tls');
    assert.equal(volume.projected.sources[0].secret.name, 'arbiter-tls');
    assert.equal(container(tlsOnly).readinessProbe.httpGet.scheme, 'HTTPS');
    assert.equal(get(tlsOnly, 'ServiceMonitor').spec.endpoints[0].scheme, 'https');

    const mtls = render({ set: ['tls.existingSecret=arbiter-tls', 'tls.clientCaSecret=pep-ca'] });
    assert.equal(containerEnv(mtls).literal.get('ARBITER_TLS_CLIENT_CA'), `${mount.mountPath}/client-ca.crt`);
    const sources = podSpec(mtls).volumes.find((v: { name: string }) => v.name === 'tls').projected.sources;
    assert.equal(sources[1].secret.name, 'pep-ca');
    // The kubelet cannot present a client certificate.
    assert.deepEqual(container(mtls).readinessProbe.tcpSocket, { port: 'http' });
    assert.equal(container(mtls).readinessProbe.httpGet, undefined);
    assert.match(
      renderFails({ set: ['tls.clientCaSecret=pep-ca'] }),
      /tls.clientCaSecret \(mTLS\) needs tls.existingSecret/,
    );
  });

  test('Cluster: redis+cluster://host:port,host:port', () => {
    const objects = render({
      set: [
        'redis.mode=cluster',
        'redis.cluster.nodes[0].host=host1',
        'redis.cluster.nodes[0].port=6379',
        'redis.cluster.nodes[1].host=host2',
        'redis.cluster.nodes[1].port=6379',
      ],
    });
    assert.equal(containerEnv(objects).literal.get('ARBITER_REDIS_URL'), 'redis+cluster://host1:6379,host2:6379');
    const tls = render({
      set: [
        'redis.mode=cluster',
        'redis.cluster.nodes[0].host=host1',
        'redis.cluster.nodes[0].port=6379',
        'redis.tls.enabled=true',
      ],
    });
    assert.equal(containerEnv(tls).literal.get('ARBITER_REDIS_URL'), 'rediss+cluster://host1:6379');
    const example = render({ values: [CI_VALUES[2]!], bare: true });
    assert.match(
      containerEnv(example).literal.get('ARBITER_REDIS_URL') ?? '',
      /^redis\+cluster:\/\/redis-cluster-0\.[^,]+:6379,redis-cluster-1\.[^,]+:6379,redis-cluster-2\.[^,]+:6379$/,
    );
  });

  test('standalone: the URL as given; none: no URL at all (the embedded store)', () => {
    const objects = render({ set: ['redis.mode=standalone', 'redis.url=redis://redis.example:6379/2'] });
    assert.equal(containerEnv(objects).literal.get('ARBITER_REDIS_URL'), 'redis://redis.example:6379/2');
    assert.equal(containerEnv(render()).literal.has('ARBITER_REDIS_URL'), false);
  });

  test('the password comes from a secretKeyRef, never a literal', () => {
    const objects = render({ values: [CI_VALUES[1]!], bare: true });
    const { env, literal } = containerEnv(objects);
    const password = env.find((e) => e.name === 'ARBITER_REDIS_PASSWORD');
    assert.deepEqual(password, {
      name: 'ARBITER_REDIS_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'arbiter-redis', key: 'redis-password' } },
    });
    assert.equal(literal.has('ARBITER_REDIS_PASSWORD'), false);
    assert.doesNotMatch(literal.get('ARBITER_REDIS_URL') ?? '', /@/, 'no credentials in the URL');
  });

  test('the schema refuses credentials in redis.url', () => {
    assert.match(
      renderFails({ set: ['redis.mode=standalone', 'redis.url=redis://:hunter2@redis:6379'] }),
      /redis\/url|\/redis\/url/,
    );
  });

  test('several pods need shared Redis and a shared signing key', () => {
    assert.match(renderFails({ set: ['replicaCount=3'] }), /in-memory store/);
    assert.match(
      renderFails({ set: ['replicaCount=3', 'redis.mode=standalone', 'redis.url=redis://r:6379'] }),
      /signing key/,
    );
    assert.match(renderFails({ set: ['autoscaling.enabled=true'] }), /in-memory store/);
  });
});

describe('secrets are referenced, never inlined', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const old = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const SECRETS = {
    redisPassword: 'redis-password-Zq8v1',
    webhook: 'webhook-hmac-key-0123456789abcdef',
    otlp: 'x-api-key=otlp-key-Xy7',
    jwks: '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}',
  };
  let objects: Manifest[];
  before(() => {
    objects = render({
      values: [
        valuesFile('inline-secrets.yaml', {
          replicaCount: 2,
          redis: { mode: 'standalone', url: 'redis://redis:6379', auth: { password: SECRETS.redisPassword } },
          signing: { privateKeyPem: pem, verifyKeyPems: { 'old-key.pem': old } },
          auth: { mode: 'jwt', jwks: { json: SECRETS.jwks }, issuer: 'https://idp.example.com/', audience: 'arbiter' },
          webhooks: { urls: ['https://hooks.example.com/arbiter'], secret: { value: SECRETS.webhook } },
          otel: { endpoint: 'http://collector:4318', headers: { value: SECRETS.otlp } },
        }),
      ],
      bare: true,
    });
  });

  test('no literal env value, ConfigMap or pod template holds a key or a password', () => {
    const visible = JSON.stringify(objects.filter((o) => o.kind !== 'Secret'));
    for (const secret of [
      pem.split('\n')[1]!,
      old.split('\n')[1]!,
      SECRETS.redisPassword,
      SECRETS.webhook,
      SECRETS.otlp,
      SECRETS.jwks.slice(40, 80),
    ]) {
      assert.ok(!visible.includes(secret), `${secret.slice(0, 12)}… appears outside the Secret`);
    }
    for (const e of containerEnv(objects).env) {
      if (e.value !== undefined)
        assert.doesNotMatch(e.value, /BEGIN|PRIVATE KEY|password/i, `${e.name} holds a literal secret`);
    }
  });

  test("the chart's Secret holds them, and the pod refers to it", () => {
    const secret = get(objects, 'Secret');
    const data = Object.fromEntries(
      Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    assert.equal(data['signing-key.pem'], pem);
    assert.equal(data['old-key.pem'], old);
    assert.equal(data['redis-password'], SECRETS.redisPassword);
    assert.equal(data['webhook-secret'], SECRETS.webhook);
    assert.equal(data['otlp-headers'], SECRETS.otlp);
    assert.equal(data['jwks.json'], SECRETS.jwks);
    const { env, literal } = containerEnv(objects);
    for (const [name, key] of [
      ['ARBITER_REDIS_PASSWORD', 'redis-password'],
      ['ARBITER_WEBHOOK_SECRET', 'webhook-secret'],
      ['OTEL_EXPORTER_OTLP_HEADERS', 'otlp-headers'],
    ] as const) {
      assert.deepEqual(
        env.find((e) => e.name === name)?.valueFrom,
        { secretKeyRef: { name: secret.metadata.name, key } },
        name,
      );
    }
    // Files: the signing key, the rotated key and the JWKS are mounted where the variables point.
    const mounted = (path: string) => {
      const mount = container(objects).volumeMounts.find((m: { mountPath: string }) =>
        path.startsWith(`${m.mountPath}/`),
      );
      assert.ok(mount, `${path} is on a mounted volume`);
      const volume = podSpec(objects).volumes.find((v: { name: string }) => v.name === mount.name);
      assert.equal(volume.secret.secretName, secret.metadata.name);
      const item = volume.secret.items.find((i: { path: string }) => `${mount.mountPath}/${i.path}` === path);
      assert.ok(item, `${path} is an item of the Secret volume`);
      return item.key as string;
    };
    assert.equal(mounted(literal.get('ARBITER_SIGNING_KEY')!), 'signing-key.pem');
    assert.deepEqual((literal.get('ARBITER_VERIFY_KEYS') ?? '').split(':').map(mounted), ['old-key.pem']);
    assert.equal(mounted(literal.get('ARBITER_JWKS_FILE')!), 'jwks.json');
    assert.match(
      deploymentOf(objects).spec.template.metadata.annotations['checksum/secret'] ?? '',
      /^[0-9a-f]{64}$/,
      'a change of the inline secrets rolls the pods',
    );
  });

  test('existing Secrets: the production example mounts and references them by name', () => {
    const prod = render({ values: [CI_VALUES[1]!], bare: true });
    assert.equal(find(prod, 'Secret'), undefined, 'the chart renders no Secret of its own');
    const volumes = podSpec(prod).volumes as {
      name: string;
      secret?: { secretName: string; items: { key: string; path: string }[] };
    }[];
    const signing = volumes.find((v) => v.secret?.secretName === 'arbiter-signing');
    assert.deepEqual(
      signing?.secret?.items.map((i) => i.key),
      ['signing-key.pem', 'signing-key-2025-01.pem'],
    );
    const { env, literal } = containerEnv(prod);
    assert.equal(literal.get('ARBITER_SIGNING_KEY'), '/etc/arbiter/keys/signing-key.pem');
    assert.equal(literal.get('ARBITER_VERIFY_KEYS'), '/etc/arbiter/keys/verify-0.pem');
    assert.deepEqual(env.find((e) => e.name === 'OTEL_EXPORTER_OTLP_HEADERS')?.valueFrom, {
      secretKeyRef: { name: 'arbiter-otlp', key: 'otlp-headers' },
    });
    assert.deepEqual(env.find((e) => e.name === 'ARBITER_WEBHOOK_SECRET')?.valueFrom, {
      secretKeyRef: { name: 'arbiter-webhooks', key: 'webhook-secret' },
    });
    assert.equal(literal.get('ARBITER_JWKS_URL'), 'https://idp.example.com/.well-known/jwks.json');
    assert.equal(literal.get('ARBITER_AUTH'), 'jwt');
    assert.equal(
      literal.get('OTEL_EXPORTER_OTLP_ENDPOINT'),
      'http://otel-collector.observability.svc.cluster.local:4318',
    );
  });

  test('masking.existingSecret mounts the masking key and ARBITER_MASKING_KEY names it, as config.ts reads it', () => {
    const objects = render({ set: ['masking.existingSecret=arbiter-masking', 'masking.secretKey=hmac.key'] });
    const { literal } = containerEnv(objects);
    const file = literal.get('ARBITER_MASKING_KEY');
    assert.equal(file, '/etc/arbiter/masking/masking-key');
    assert.deepEqual(mountedFrom(objects, file!), { secretName: 'arbiter-masking', key: 'hmac.key' });
    const config = loadConfig({
      ...Object.fromEntries(literal),
      ARBITER_INSTANCE_ID: POD_NAME,
      ARBITER_OPA: '/usr/local/bin/opa',
    });
    assert.equal(config.maskingKeyPath, file);
    const prod = render({ values: [CI_VALUES[1]!], bare: true });
    assert.equal(
      mountedFrom(prod, containerEnv(prod).literal.get('ARBITER_MASKING_KEY')!).secretName,
      'arbiter-masking',
    );
    // Unset, the key derives from the signing key: no variable, no volume.
    const plain = render();
    assert.equal(containerEnv(plain).literal.has('ARBITER_MASKING_KEY'), false);
    assert.ok(!JSON.stringify(podSpec(plain)).includes('masking'), 'no masking volume');
    assert.match(renderFails({ set: ['masking.existingSecret=Not_A_Name'] }), /masking\/existingSecret/);
  });

  test('the schema refuses a literal secret in extraEnv', () => {
    assert.match(
      renderFails({ set: ['extraEnv[0].name=ARBITER_WEBHOOK_SECRET', 'extraEnv[0].value=0123456789abcdef'] }),
      /valueFrom/,
    );
  });
});

/** The Secret volume item mounted at path: its Secret's name and key. */
const mountedFrom = (objects: Manifest[], path: string) => {
  const mount = container(objects).volumeMounts.find((m: { mountPath: string }) => path.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `${path} is on a mounted volume`);
  assert.equal(mount.readOnly, true);
  const volume = podSpec(objects).volumes.find((v: { name: string }) => v.name === mount.name);
  assert.ok(volume.secret, `${path} comes from a Secret`);
  const item = volume.secret.items.find((i: { path: string }) => `${mount.mountPath}/${i.path}` === path);
  assert.ok(item, `${path} is an item of the Secret volume`);
  return { secretName: volume.secret.secretName as string, key: item.key as string };
};

describe('intent drift', () => {
  const REMOTE = [
    'drift.mode=remote',
    'drift.url=https://embeddings.example.com/v1',
    'drift.model=text-embedding-3-small',
  ];
  const API_KEY = 'sk-drift-test-Q3v9XfK2mLp8';
  const driftVars = (objects: Manifest[]) =>
    [...containerEnv(objects).literal.keys()].filter((k) => k.startsWith('ARBITER_DRIFT')).sort();
  const settingsOf = (objects: Manifest[]) => {
    const { literal } = containerEnv(objects);
    return loadConfig({
      ...Object.fromEntries(literal),
      ARBITER_INSTANCE_ID: POD_NAME,
      ARBITER_OPA: '/usr/local/bin/opa',
    }).drift;
  };
  test('off by default: ARBITER_DRIFT=off and nothing else, no volume, no egress', () => {
    const objects = render();
    assert.deepEqual(driftVars(objects), ['ARBITER_DRIFT']);
    assert.equal(containerEnv(objects).literal.get('ARBITER_DRIFT'), 'off');
    assert.deepEqual(settingsOf(objects), { mode: 'off' });
    assert.ok(!JSON.stringify(podSpec(objects)).includes('drift'), 'no drift volume');
  });

  test('hashed: the built-in provider with its alpha and dimensions, as config.ts reads them', () => {
    const objects = render({
      values: [valuesFile('drift-hashed.yaml', { drift: { mode: 'hashed', alpha: 0.25, dimensions: 2048 } })],
    });
    assert.deepEqual(driftVars(objects), ['ARBITER_DRIFT', 'ARBITER_DRIFT_ALPHA', 'ARBITER_DRIFT_DIMENSIONS']);
    assert.deepEqual(settingsOf(objects), { mode: 'hashed', alpha: 0.25, dimensions: 2048 });
    const policy = get(render({ set: ['drift.mode=hashed', 'networkPolicy.enabled=true'] }), 'NetworkPolicy');
    assert.equal(policy.spec.egress.length, 1, 'the built-in provider needs no egress');
  });

  describe('remote with an inline API key', () => {
    let objects: Manifest[];
    before(() => {
      objects = render({
        set: [...REMOTE, 'drift.onFailure=fallback', 'drift.cooldownMs=5000', 'networkPolicy.enabled=true'],
        setString: [`drift.apiKey.value=${API_KEY}`],
      });
    });

    test('every setting reaches config.ts', () => {
      assert.deepEqual(driftVars(objects), Object.keys(DRIFT_ENV_SHAPE).sort(), 'every drift variable is set');
      assert.deepEqual(settingsOf(objects), {
        mode: 'remote',
        alpha: 0.3,
        dimensions: 1024,
        url: 'https://embeddings.example.com/v1',
        model: 'text-embedding-3-small',
        apiKeyFile: '/etc/arbiter/drift/api-key',
        timeoutMs: 2000,
        maxRetries: 1,
        cacheSize: 10000,
        onFailure: 'fallback',
        cooldownMs: 5000,
      });
    });

    test("the key is a file mounted from the chart's Secret, and inlined nowhere else", () => {
      const secret = get(objects, 'Secret');
      assert.equal(Buffer.from(secret.data['drift-api-key'], 'base64').toString(), API_KEY);
      const file = containerEnv(objects).literal.get('ARBITER_DRIFT_API_KEY_FILE')!;
      assert.deepEqual(mountedFrom(objects, file), { secretName: secret.metadata.name, key: 'drift-api-key' });
      const visible = JSON.stringify(objects.filter((o) => o.kind !== 'Secret'));
      assert.ok(!visible.includes(API_KEY), 'the API key appears outside the Secret');
      assert.ok(
        !visible.includes(Buffer.from(API_KEY).toString('base64')),
        'the encoded key appears outside the Secret',
      );
      for (const e of containerEnv(objects).env) {
        assert.ok(!/DRIFT/.test(e.name), `${e.name}: the key is not an environment variable`);
      }
      assert.match(
        deploymentOf(objects).spec.template.metadata.annotations['checksum/secret'] ?? '',
        /^[0-9a-f]{64}$/,
        'a new key rolls the pods',
      );
    });

    test('the NetworkPolicy lets the pods reach the embeddings endpoint', () => {
      const egress = get(objects, 'NetworkPolicy').spec.egress;
      assert.equal(egress.length, 2, 'DNS and the embeddings endpoint');
      assert.deepEqual(egress[1], { ports: [{ port: 443, protocol: 'TCP' }] });
      const peers = get(
        render({
          values: [
            valuesFile('drift-egress.yaml', {
              networkPolicy: {
                enabled: true,
                embeddings: { to: [{ ipBlock: { cidr: '192.0.2.0/24' } }], ports: [{ port: 11434, protocol: 'TCP' }] },
              },
            }),
          ],
          set: REMOTE,
        }),
        'NetworkPolicy',
      ).spec.egress[1];
      assert.deepEqual(peers, {
        ports: [{ port: 11434, protocol: 'TCP' }],
        to: [{ ipBlock: { cidr: '192.0.2.0/24' } }],
      });
    });
  });

  test('remote with an existing Secret: mounted by name, no Secret of the chart', () => {
    const objects = render({
      set: [...REMOTE, 'drift.apiKey.existingSecret=embeddings-key', 'drift.apiKey.secretKey=token'],
    });
    assert.equal(find(objects, 'Secret'), undefined);
    const file = containerEnv(objects).literal.get('ARBITER_DRIFT_API_KEY_FILE')!;
    assert.deepEqual(mountedFrom(objects, file), { secretName: 'embeddings-key', key: 'token' });
  });

  test('remote without a key: no key file, no volume', () => {
    const objects = render({ set: REMOTE });
    assert.equal(containerEnv(objects).literal.has('ARBITER_DRIFT_API_KEY_FILE'), false);
    assert.equal(settingsOf(objects).mode, 'remote');
    assert.ok(!podSpec(objects).volumes.some((v: { name: string }) => v.name.includes('drift')));
  });

  test('a key given while drift is not remote is not mounted', () => {
    const objects = render({ set: ['drift.mode=hashed', 'drift.apiKey.existingSecret=embeddings-key'] });
    assert.equal(containerEnv(objects).literal.has('ARBITER_DRIFT_API_KEY_FILE'), false);
    assert.ok(!JSON.stringify(podSpec(objects)).includes('embeddings-key'));
  });

  test('remote without url or model fails to render', () => {
    assert.match(renderFails({ set: ['drift.mode=remote', 'drift.model=m'] }), /drift.mode remote needs drift.url/);
    assert.match(
      renderFails({ set: ['drift.mode=remote', 'drift.url=https://embeddings.example.com/v1'] }),
      /drift.mode remote needs drift.url .* and drift.model/,
    );
    assert.match(renderFails({ set: ['drift.mode=remote'] }), /drift.mode remote needs/);
  });

  test('the schema holds the bounds of DRIFT_ENV_SHAPE', () => {
    assert.match(renderFails({ set: ['drift.mode=on'] }), /drift\/mode/);
    assert.match(renderFails({ set: ['drift.mode=false'] }), /drift\/mode/, 'an unquoted off is a YAML boolean');
    assert.match(renderFails({ values: [valuesFile('alpha-0.yaml', { drift: { alpha: 0 } })] }), /drift\/alpha/);
    assert.match(renderFails({ values: [valuesFile('alpha-2.yaml', { drift: { alpha: 1.5 } })] }), /drift\/alpha/);
    assert.ok(render({ values: [valuesFile('alpha-1.yaml', { drift: { mode: 'hashed', alpha: 1 } })] }));
    assert.match(renderFails({ set: ['drift.dimensions=8'] }), /drift\/dimensions/);
    assert.match(renderFails({ set: ['drift.timeoutMs=10'] }), /drift\/timeoutMs/);
    assert.match(renderFails({ set: ['drift.maxRetries=11'] }), /drift\/maxRetries/);
    assert.match(renderFails({ set: ['drift.cacheSize=1000001'] }), /drift\/cacheSize/);
    assert.match(renderFails({ set: ['drift.cooldownMs=3600001'] }), /drift\/cooldownMs/);
    assert.match(renderFails({ set: ['drift.onFailure=retry'] }), /drift\/onFailure/);
    assert.match(renderFails({ set: ['drift.url=ftp://embeddings.example.com'] }), /drift\/url/);
    assert.match(renderFails({ set: ['drift.apiKeyValue=x'] }), /apiKeyValue/);
  });
});

describe('policy ConfigMap: a hot reload, not a restart', () => {
  test('the chart policy files are the ConfigMap, mounted at ARBITER_POLICY_DIR', () => {
    const objects = render();
    const policy = get(objects, 'ConfigMap', '-policy');
    assert.deepEqual(Object.keys(policy.data).sort(), ['data.json', 'no_prod_drop.rego']);
    const dir = containerEnv(objects).literal.get('ARBITER_POLICY_DIR');
    const mount = container(objects).volumeMounts.find((m: { mountPath: string }) => m.mountPath === dir);
    assert.equal(
      podSpec(objects).volumes.find((v: { name: string }) => v.name === mount.name).configMap.name,
      policy.metadata.name,
    );
  });

  test('changing the policy leaves the pod template unchanged; changing the config changes its checksum', () => {
    const base = render();
    const newPolicy = render({ setString: ['policy.rego.extra\\.rego=package aarm.rules.extra'] });
    assert.notDeepEqual(get(base, 'ConfigMap', '-policy').data, get(newPolicy, 'ConfigMap', '-policy').data);
    assert.deepEqual(
      deploymentOf(newPolicy).spec.template,
      deploymentOf(base).spec.template,
      'no restart for a policy change',
    );
    const newConfig = render({ set: ['config.logLevel=debug'] });
    assert.notEqual(
      deploymentOf(newConfig).spec.template.metadata.annotations['checksum/config'],
      deploymentOf(base).spec.template.metadata.annotations['checksum/config'],
    );
  });

  test('an existing ConfigMap is mounted beside (or instead of) the chart one', () => {
    const both = render({ set: ['policy.existingConfigMap=team-rules'] });
    assert.equal(
      containerEnv(both).literal.get('ARBITER_POLICY_DIR'),
      '/etc/arbiter/policy:/etc/arbiter/policy-external',
    );
    const only = render({ set: ['policy.existingConfigMap=team-rules', 'policy.create=false'] });
    assert.equal(containerEnv(only).literal.get('ARBITER_POLICY_DIR'), '/etc/arbiter/policy-external');
    assert.equal(find(only, 'ConfigMap', '-policy'), undefined);
    assert.equal(
      podSpec(only).volumes.find((v: { configMap?: { name: string } }) => v.configMap)?.configMap.name,
      'team-rules',
    );
    assert.match(renderFails({ set: ['policy.create=false'] }), /no policy/);
  });

  test('the schema refuses a policy file name that is neither .rego nor data.json/yaml', () => {
    assert.match(renderFails({ setString: ['policy.rego.notes\\.txt=hello'] }), /'notes\.txt' does not match pattern/);
  });
});

describe('optional objects', () => {
  test('defaults: a NetworkPolicy and a PDB; no HPA or ServiceMonitor', () => {
    const kinds = render().map((o) => o.kind);
    for (const kind of ['HorizontalPodAutoscaler', 'ServiceMonitor', 'Secret']) {
      assert.ok(!kinds.includes(kind), `${kind} is off by default`);
    }
    assert.deepEqual(kinds.sort(), [
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
    ]);
  });

  test('production: HPA (and no fixed replicas), PDB, NetworkPolicy, ServiceMonitor', () => {
    const objects = render({ values: [CI_VALUES[1]!], bare: true });
    const hpa = get(objects, 'HorizontalPodAutoscaler');
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.deepEqual(hpa.spec.scaleTargetRef, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deploymentOf(objects).metadata.name,
    });
    assert.equal(hpa.spec.minReplicas, 3);
    assert.equal(deploymentOf(objects).spec.replicas, undefined, 'the HPA owns the replica count');
    const pdb = get(objects, 'PodDisruptionBudget');
    assert.equal(pdb.spec.minAvailable, 2);
    assert.deepEqual(pdb.spec.selector.matchLabels, deploymentOf(objects).spec.selector.matchLabels);
    const monitor = get(objects, 'ServiceMonitor');
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    assert.deepEqual(monitor.spec.endpoints[0].path, '/metrics');
    assert.equal(monitor.metadata.labels?.release, 'prometheus');
  });

  test('session routing: a headless Service of ready pods, an Istio DestinationRule hashing on the session header', () => {
    const objects = render({ set: ['sessionRouting.headlessService=true', 'sessionRouting.istio.enabled=true'] });
    const headless = get(objects, 'Service', '-pods');
    const service = objects.find((o) => o.kind === 'Service' && o !== headless)!;
    assert.equal(headless.spec.clusterIP, 'None');
    assert.equal(headless.spec.publishNotReadyAddresses, false, 'only pods that pass /readyz');
    assert.deepEqual(headless.spec.selector, service.spec.selector);
    assert.deepEqual(headless.spec.ports, service.spec.ports);
    const rule = get(objects, 'DestinationRule');
    assert.equal(rule.apiVersion, 'networking.istio.io/v1');
    assert.equal(rule.spec.host, `${service.metadata.name}.decisions.svc.cluster.local`);
    assert.deepEqual(rule.spec.trafficPolicy.loadBalancer, { consistentHash: { httpHeaderName: 'x-arbiter-session' } });
    const custom = render({ set: ['sessionRouting.istio.enabled=true', 'sessionRouting.header=X-Session-Id'] });
    assert.equal(
      get(custom, 'DestinationRule').spec.trafficPolicy.loadBalancer.consistentHash.httpHeaderName,
      'x-session-id',
    );
    assert.match(renderFails({ set: ['sessionRouting.header=bad header'] }), /does not match pattern/);
    const kinds = render().map((o) => o.kind);
    assert.ok(!kinds.includes('DestinationRule'), 'off by default');
    assert.equal(kinds.filter((k) => k === 'Service').length, 1, 'one Service by default');
  });

  test('each optional object appears when enabled alone, and the default ones can be turned off', () => {
    const multi = ['redis.mode=standalone', 'redis.url=redis://r:6379', 'signing.existingSecret=keys'];
    assert.ok(find(render({ set: [...multi, 'autoscaling.enabled=true'] }), 'HorizontalPodAutoscaler'));
    assert.ok(find(render({ set: ['serviceMonitor.enabled=true', 'metrics.public=true'] }), 'ServiceMonitor'));
    assert.equal(get(render(), 'PodDisruptionBudget').spec.maxUnavailable, 1);
    const off = render({ set: ['podDisruptionBudget.enabled=false', 'networkPolicy.enabled=false'] });
    assert.equal(find(off, 'PodDisruptionBudget'), undefined);
    assert.equal(find(off, 'NetworkPolicy'), undefined);
  });

  test('NetworkPolicy: ingress from the configured peers, egress to DNS, Redis, the collector, the JWKS URL, webhooks and the embeddings endpoint', () => {
    const policy = get(render({ values: [CI_VALUES[1]!], bare: true }), 'NetworkPolicy');
    assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
    const ingress = policy.spec.ingress[0];
    assert.deepEqual(ingress.ports, [{ port: 'http', protocol: 'TCP' }]);
    assert.equal(ingress.from.length, 3, 'gateways, approvals UI, monitoring');
    const egressPorts = policy.spec.egress.map((r: { ports: { port: number; protocol: string }[] }) =>
      r.ports.map((p) => `${p.port}/${p.protocol}`).join(','),
    );
    assert.deepEqual(egressPorts, ['53/UDP,53/TCP', '6379/TCP,26379/TCP', '4318/TCP', '443/TCP', '443/TCP', '443/TCP']);
    assert.deepEqual(policy.spec.egress[3].to, [{ ipBlock: { cidr: '203.0.113.0/24' } }]);
    assert.deepEqual(policy.spec.egress[5].to, [{ ipBlock: { cidr: '192.0.2.0/24' } }], 'the embeddings endpoint');
    // Without Redis, a collector, a JWKS URL, webhooks or remote drift only DNS is let out.
    const minimal = get(render(), 'NetworkPolicy');
    assert.equal(minimal.spec.egress.length, 1);
    assert.equal(minimal.spec.ingress[0].from, undefined, 'no peers listed: the port is open to any source');
  });
});

/** Authentication off, allowed explicitly (ci/trial-values.yaml). */
const INSECURE = ['auth.mode=off', 'auth.insecureAllowNoAuth=true'];

describe('authentication is safe by default (issue 12)', () => {
  test('the chart defaults alone fail to render: auth is jwt, and the identity provider is unknown', () => {
    const message = renderFails({ bare: true });
    assert.match(message, /auth\.mode jwt \(the chart's default\) needs exactly one of auth\.jwksUrl and auth\.jwks/);
    assert.match(message, /auth\.issuer and auth\.audience/);
    assert.match(message, /auth\.insecureAllowNoAuth: true/, 'it names the way to a trial');
  });

  test("jwt needs an issuer and an audience; an agent audience may not be the callers'", () => {
    for (const missing of ['auth.issuer=', 'auth.audience=']) {
      assert.match(renderFails({ set: [missing] }), /auth\.mode jwt needs auth\.issuer and auth\.audience/, missing);
    }
    assert.match(
      renderFails({ set: ['auth.agentAudience=arbiter'] }),
      /auth\.agentAudience must differ from auth\.audience/,
    );
  });

  test('the minimal values: jwt with issuer and audience, the agent audience derived by config.ts', () => {
    const objects = render();
    const { literal } = containerEnv(objects);
    assert.equal(literal.get('ARBITER_AUTH'), 'jwt');
    assert.equal(literal.get('ARBITER_JWT_ISSUER'), 'https://idp.example.com/');
    assert.equal(literal.get('ARBITER_JWT_AUDIENCE'), 'arbiter');
    assert.equal(literal.has('ARBITER_AGENT_AUDIENCE'), false);
    assert.equal(literal.has('ARBITER_INSECURE_ALLOW_NO_AUTH'), false);
    const config = loadConfig({ ...Object.fromEntries(literal), ARBITER_OPA: '/usr/local/bin/opa' });
    assert.equal(config.auth.mode === 'jwt' && config.auth.agentAudience, 'arbiter:agent');
    const named = containerEnv(render({ set: ['auth.agentAudience=arbiter-agents'] })).literal;
    assert.equal(named.get('ARBITER_AGENT_AUDIENCE'), 'arbiter-agents');
  });

  test('auth off fails to render unless insecureAllowNoAuth says so, and then the pods are told too', () => {
    const message = renderFails({ set: ['auth.mode=off'] });
    assert.match(message, /auth\.mode "off" would open the service to whoever reaches its port/);
    assert.match(message, /auth\.insecureAllowNoAuth: true/);
    const objects = render({ set: INSECURE });
    const { literal } = containerEnv(objects);
    assert.equal(literal.get('ARBITER_AUTH'), 'off');
    assert.equal(literal.get('ARBITER_HOST'), '0.0.0.0');
    assert.equal(literal.get('ARBITER_INSECURE_ALLOW_NO_AUTH'), 'true');
    // What the pod would do with that ConfigMap: start, marked exposed (the INSECURE log line).
    const config = loadConfig({ ...Object.fromEntries(literal), ARBITER_OPA: '/usr/local/bin/opa' });
    assert.deepEqual(config.auth, { mode: 'off', exposed: true });
  });

  test('the service refuses what the chart would refuse: auth off on 0.0.0.0 without the flag', () => {
    const { literal } = containerEnv(render({ set: INSECURE }));
    literal.delete('ARBITER_INSECURE_ALLOW_NO_AUTH');
    assert.throws(
      () => loadConfig({ ...Object.fromEntries(literal), ARBITER_OPA: '/usr/local/bin/opa' }),
      /ARBITER_AUTH=off on 0\.0\.0\.0, which is not a loopback address/,
    );
  });

  test('insecureAllowNoAuth is refused with jwt, and must be a boolean', () => {
    assert.match(renderFails({ set: ['auth.insecureAllowNoAuth=true'] }), /for auth\.mode "off" only/);
    assert.match(
      renderFails({ setString: [...INSECURE.slice(0, 1), 'auth.insecureAllowNoAuth=yes'] }),
      /insecureAllowNoAuth/,
    );
  });
});

describe('the session chain settings', () => {
  test('each value reaches config.chain', () => {
    const objects = render({
      set: [
        'config.sessionQueueMax=32',
        'config.sessionQueueWaitMs=2500',
        'config.commitDeadlineMs=1000',
        'config.commitRetries=3',
      ],
    });
    const { literal } = containerEnv(objects);
    const config = loadConfig({ ...Object.fromEntries(literal), ARBITER_OPA: '/usr/local/bin/opa' });
    assert.deepEqual(config.chain, { queueMax: 32, queueWaitMs: 2500, deadlineMs: 1000, minAttempts: 3 });
    assert.deepEqual(
      loadConfig({ ...Object.fromEntries(containerEnv(render()).literal), ARBITER_OPA: '/usr/local/bin/opa' }).chain,
      loadConfig({}).chain,
      "the chart's defaults are the service's",
    );
  });

  test('the schema holds the bounds of CHAIN_ENV_SHAPE', () => {
    assert.match(renderFails({ set: ['config.sessionQueueMax=0'] }), /sessionQueueMax/);
    assert.match(renderFails({ set: ['config.sessionQueueWaitMs=0'] }), /sessionQueueWaitMs/);
    assert.match(renderFails({ set: ['config.commitDeadlineMs=600001'] }), /commitDeadlineMs/);
    assert.match(renderFails({ set: ['config.commitRetries=0'] }), /commitRetries/);
  });
});

describe('/metrics with authentication on', () => {
  const JWT = ['auth.mode=jwt'];
  const endpointOf = (objects: Manifest[]) => get(objects, 'ServiceMonitor').spec.endpoints[0];
  const metricsPublicOf = (objects: Manifest[]) =>
    loadConfig({
      ...Object.fromEntries(containerEnv(objects).literal),
      ARBITER_INSTANCE_ID: POD_NAME,
      ARBITER_OPA: '/usr/local/bin/opa',
    }).metricsPublic;

  test('metrics.public is ARBITER_METRICS_PUBLIC, rendered with auth.mode jwt, as config.ts reads it', () => {
    const closed = render({ set: JWT });
    assert.equal(containerEnv(closed).literal.get('ARBITER_METRICS_PUBLIC'), 'false');
    assert.equal(metricsPublicOf(closed), false);
    const open = render({ set: [...JWT, 'metrics.public=true'] });
    assert.equal(containerEnv(open).literal.get('ARBITER_METRICS_PUBLIC'), 'true');
    assert.equal(metricsPublicOf(open), true);
    assert.notEqual(
      deploymentOf(open).spec.template.metadata.annotations['checksum/config'],
      deploymentOf(closed).spec.template.metadata.annotations['checksum/config'],
      'a change rolls the pods',
    );
    // With auth off every endpoint is open: the variable would say nothing.
    assert.equal(containerEnv(render({ set: INSECURE })).literal.has('ARBITER_METRICS_PUBLIC'), false);
  });

  test('the ServiceMonitor sends the token of serviceMonitor.bearerTokenSecret', () => {
    const objects = render({
      set: [
        ...JWT,
        'serviceMonitor.enabled=true',
        'serviceMonitor.bearerTokenSecret.name=prometheus-arbiter',
        'serviceMonitor.bearerTokenSecret.key=jwt',
      ],
    });
    // authorization.credentials (bearerTokenSecret is deprecated): the operator re-reads the Secret on change.
    assert.deepEqual(endpointOf(objects).authorization, {
      type: 'Bearer',
      credentials: { name: 'prometheus-arbiter', key: 'jwt' },
    });
    assert.equal(endpointOf(objects).bearerTokenSecret, undefined);
    assert.equal(containerEnv(objects).literal.get('ARBITER_METRICS_PUBLIC'), 'false');
    const prod = render({ values: [CI_VALUES[1]!], bare: true });
    assert.equal(containerEnv(prod).literal.get('ARBITER_AUTH'), 'jwt');
    assert.equal(containerEnv(prod).literal.get('ARBITER_METRICS_PUBLIC'), 'false');
    assert.deepEqual(endpointOf(prod).authorization?.credentials, { name: 'arbiter-metrics-token', key: 'token' });
    assert.equal(endpointOf(render({ set: [...INSECURE, 'serviceMonitor.enabled=true'] })).authorization, undefined);
  });

  test('a ServiceMonitor that could not scrape (jwt, metrics not public, no token) fails to render', () => {
    const message = renderFails({ set: [...JWT, 'serviceMonitor.enabled=true'] });
    assert.match(message, /serviceMonitor.enabled with auth.mode jwt/);
    assert.match(message, /serviceMonitor.bearerTokenSecret/);
    assert.match(message, /metrics.public: true/);
    assert.match(message, /serviceMonitor.enabled: false/);
  });

  test('metrics.public=true: the ServiceMonitor renders without a token', () => {
    const objects = render({ set: [...JWT, 'serviceMonitor.enabled=true', 'metrics.public=true'] });
    assert.equal(endpointOf(objects).path, '/metrics');
    assert.equal(endpointOf(objects).authorization, undefined);
    assert.equal(containerEnv(objects).literal.get('ARBITER_METRICS_PUBLIC'), 'true');
  });

  test('the schema checks metrics.public and serviceMonitor.bearerTokenSecret', () => {
    assert.match(renderFails({ setString: ['metrics.public=true'] }), /metrics\/public/);
    assert.match(renderFails({ set: ['serviceMonitor.bearerTokenSecret.name=Not_A_Name'] }), /bearerTokenSecret\/name/);
    assert.match(renderFails({ set: ['serviceMonitor.bearerTokenSecret.optional=true'] }), /optional/);
  });
});

describe('values schema', () => {
  test('helm template --set replicaCount=abc fails', () => {
    assert.match(renderFails({ set: ['replicaCount=abc'] }), /replicaCount.*(integer|string)/s);
  });

  test('enums, ranges, unknown keys and URL forms are checked', () => {
    assert.match(renderFails({ set: ['auth.mode=maybe'] }), /auth\/mode/);
    assert.match(renderFails({ set: ['auth.mode=false'] }), /auth\/mode/, 'an unquoted off is a YAML boolean');
    assert.match(renderFails({ set: ['redis.mode=replicated'] }), /redis\/mode/);
    assert.match(renderFails({ set: ['redis.shards=0'] }), /redis\/shards/);
    assert.match(renderFails({ set: ['config.historySize=5000'] }), /config\/historySize/);
    assert.match(renderFails({ set: ['otel.protocol=grpc'] }), /otel\/protocol/);
    assert.match(renderFails({ set: ['securityContext.runAsUser=0'] }), /runAsUser/);
    assert.match(renderFails({ set: ['replicaCuont=2'] }), /replicaCuont/);
    assert.match(renderFails({ set: ['redis.sentinel.extra=1'] }), /extra/);
    assert.match(renderFails({ set: ['webhooks.urls[0]=ftp://x'] }), /webhooks\/urls/);
  });

  test('combinations the schema cannot express stop the render with a message', () => {
    assert.match(
      renderFails({ set: ['auth.jwksUrl=https://idp.example.com/jwks'] }),
      /exactly one of auth.jwksUrl and auth.jwks/,
    );
    assert.match(renderFails({ set: ['webhooks.urls[0]=https://h.example'] }), /webhooks.secret/);
    assert.match(renderFails({ set: ['redis.mode=sentinel'] }), /redis.sentinel.sentinels/);
    assert.match(renderFails({ set: ['redis.mode=standalone', 'redis.url=rediss://r:6379'] }), /tls/);
    assert.match(renderFails({ set: ['probes.startup.failureThreshold=5'] }), /compileTimeoutMs/);
  });
});

describe('README and values stay in step', () => {
  test('every leaf of values.yaml is a row of the README table, generated from values.yaml', () => {
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    const table = readmeTable(readme);
    assert.ok(table, 'the README has the generated table');
    const inReadme = new Set([...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
    for (const row of valueRows())
      assert.ok(inReadme.has(row.key), `${row.key} is missing from charts/arbiter/README.md`);
    assert.equal(
      table,
      valuesTable(),
      'the README table is out of date: run node --import tsx test/chart/values-table.ts --write',
    );
  });

  test('values.yaml and values.schema.json describe the same keys', () => {
    assert.deepEqual(
      valueRows()
        .map((r) => r.key)
        .sort(),
      schemaLeaves().sort(),
    );
  });

  test('every variable config.ts reads is set by the chart, or knowingly left to extraEnv', () => {
    const NOT_EXPOSED: Record<string, string> = {
      ARBITER_OPA: 'set by the image (/usr/local/bin/opa)',
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'otel.protocol covers both signals; extraEnv for a different one',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'otel.protocol covers both signals; extraEnv for a different one',
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'otel.headers covers both signals; extraEnv (valueFrom) for separate ones',
    };
    const source = readFileSync(join(ROOT, 'services', 'decision', 'src', 'config.ts'), 'utf8');
    const schemaBlock = source.slice(source.indexOf('const EnvSchema'), source.indexOf('export interface Config'));
    const variables = [
      ...new Set([
        ...[...schemaBlock.matchAll(/^\s+((?:ARBITER|OTEL)_[A-Z0-9_]+):/gm)].map((m) => m[1]!),
        // Spread into EnvSchema (...DRIFT_ENV_SHAPE, ...CHAIN_ENV_SHAPE), so not in config.ts's own text.
        ...Object.keys(DRIFT_ENV_SHAPE),
        ...Object.keys(CHAIN_ENV_SHAPE),
      ]),
    ];
    assert.ok(variables.length > 30, 'config.ts was read');
    assert.match(schemaBlock, /^\s+\.\.\.DRIFT_ENV_SHAPE,$/m, 'config.ts still spreads DRIFT_ENV_SHAPE');
    assert.match(schemaBlock, /^\s+\.\.\.CHAIN_ENV_SHAPE,$/m, 'config.ts still spreads CHAIN_ENV_SHAPE');
    assert.ok(Object.keys(DRIFT_ENV_SHAPE).length >= 11 && variables.includes('ARBITER_DRIFT_API_KEY_FILE'));
    const templates = ['configmap.yaml', 'deployment.yaml']
      .map((f) => readFileSync(join(CHART_DIR, 'templates', f), 'utf8'))
      .join('\n');
    for (const name of variables) {
      assert.ok(
        templates.includes(`${name}:`) || templates.includes(`name: ${name}`) || name in NOT_EXPOSED,
        `config.ts reads ${name}: expose it in charts/arbiter (values.yaml, configmap.yaml) or list it in NOT_EXPOSED with why`,
      );
    }
  });
});

test('the image and the chart agree: UID, port, entrypoint', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const objects = render();
  const uid = /^ARG ARBITER_UID=(\d+)$/m.exec(dockerfile)?.[1];
  assert.equal(Number(uid), podSpec(objects).securityContext.runAsUser, 'the image user is the chart runAsUser');
  assert.match(dockerfile, /^USER \$\{ARBITER_UID\}:\$\{ARBITER_UID\}$/m);
  assert.equal(Number(/^EXPOSE (\d+)$/m.exec(dockerfile)?.[1]), container(objects).ports[0].containerPort);
  assert.match(dockerfile, /^ENTRYPOINT \["node", "dist\/services\/decision\/src\/cli\/main\.js"\]$/m);
  assert.deepEqual(container(objects).args, ['serve']);
  assert.equal(container(objects).command, undefined, 'the image entrypoint runs');
  assert.match(dockerfile, /ARBITER_OPA=\/usr\/local\/bin\/opa/);
  assert.match(dockerfile, /^COPY --from=opa \/opa \/usr\/local\/bin\/opa$/m);
});

test('the pinned helm is the one in use', () => {
  assert.match(helm(['version', '--short']).stdout, /^v3\.22\.0/);
  assert.ok(HELM.startsWith(ROOT));
});
