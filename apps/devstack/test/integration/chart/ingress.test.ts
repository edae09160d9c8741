// The rendered Ingress is what ingress-nginx (and minikube's ingress addon, which is one) expects
// for the API: its class, paths of a valid pathType to the API Service's named port, TLS from a
// Secret for the rule's host, and annotations that keep the API's own answers (a body over its
// limit gets its 413 problem+json) and its live stream (no buffering, a read timeout longer
// than the heartbeat). The GitHub workflow's kind job sends requests through the real
// ingress-nginx with the same values; here, the configuration ingress-nginx would make of it
// is accepted by a real nginx (the e2e test serves the API through it on the node).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { schemaDefault } from '@telemetrypulse/shared';
import { ApiConfigSchema } from '../../../../api/src/config.ts';
import { findObject, renderChart, type KubeObject } from '../../../src/chart/render.ts';
import { CHART_DIR } from '../../../src/chart/values-schema.ts';
import { type Ingress, ingressNginxConf } from '../../../src/ingress-proxy/nginx-conf.ts';
import { ensureNginx } from '../../../src/ingress-proxy/proxy.ts';
import {
  certificatePem,
  issueCertificate,
  newKeyPair,
  privateKeyPem,
} from '../../../src/kube/x509.ts';
import { REPO_ROOT } from '../../../src/paths.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

const KIND_VALUES = path.join(REPO_ROOT, 'k8s', 'kind', 'values.yaml');
const TLS_VALUES = path.join(CHART_DIR, 'ci', 'ingress-tls-values.yaml');
const DEV_VALUES = path.join(CHART_DIR, 'values-dev.yaml');
/** ingress-nginx's own defaults where no annotation says otherwise. */
const NGINX_DEFAULTS = { bodySize: '1m', readTimeoutSeconds: 60, buffering: 'off' };
const ANNOTATION = 'nginx.ingress.kubernetes.io/';
const run = promisify(execFile);

interface IngressSpec {
  ingressClassName?: string;
  tls?: { secretName?: string; hosts?: string[] }[];
  rules: {
    host?: string;
    http: {
      paths: {
        path: string;
        pathType: string;
        backend: { service: { name: string; port: { name?: string; number?: number } } };
      }[];
    };
  }[];
}

/** nginx sizes: "2m" → bytes. */
function nginxBytes(size: string): number {
  const match = /^(\d+)([kKmMgG]?)$/.exec(size);
  assert.ok(match, `not an nginx size: ${size}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()];
  return Number(match[1]) * (unit ?? Number.NaN);
}

function ingressOf(objects: KubeObject[]) {
  const ingress = findObject(objects, 'Ingress', 'telemetrypulse-api');
  return {
    apiVersion: ingress.apiVersion,
    annotations: ingress.metadata.annotations ?? {},
    spec: ingress.spec as IngressSpec,
  };
}

/** The API container's value of `name`, or its default from the API's config schema. */
function apiSetting(objects: KubeObject[], name: 'BODY_LIMIT_BYTES' | 'LIVE_HEARTBEAT_MS'): number {
  const deployment = findObject(objects, 'Deployment', 'telemetrypulse-api');
  const pod = (
    deployment.spec as {
      template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } };
    }
  ).template.spec;
  const value = pod.containers[0]?.env?.find((e) => e.name === name)?.value;
  return value === undefined ? schemaDefault(ApiConfigSchema, name) : Number(value);
}

describe('Helm chart: the Ingress as ingress-nginx expects it', function () {
  this.timeout(120_000);
  let helm: string;

  before(async () => {
    helm = await ensureHelm();
  });

  for (const [label, files] of [
    ['kind and minikube (k8s/kind/values.yaml)', [KIND_VALUES]],
    ['skaffold (values-dev.yaml)', [DEV_VALUES]],
    ['a host with TLS (ci/ingress-tls-values.yaml)', [TLS_VALUES]],
  ] as const) {
    describe(`with the values of ${label}`, () => {
      let objects: KubeObject[];
      let ingress: ReturnType<typeof ingressOf>;

      before(async () => {
        objects = await renderChart(helm, { valuesFiles: [...files] });
        ingress = ingressOf(objects);
      });

      it('then it is a networking.k8s.io/v1 Ingress of class nginx whose paths reach the API Service by its named port', () => {
        assert.equal(ingress.apiVersion, 'networking.k8s.io/v1');
        assert.equal(ingress.spec.ingressClassName, 'nginx');
        const service = findObject(objects, 'Service', 'telemetrypulse-api');
        const servicePorts = (service.spec as { ports: { name?: string }[] }).ports.map(
          (p) => p.name,
        );
        const paths = ingress.spec.rules.flatMap((r) => r.http.paths);
        assert.ok(paths.length > 0);
        for (const p of paths) {
          assert.ok(['Prefix', 'Exact', 'ImplementationSpecific'].includes(p.pathType), p.pathType);
          assert.match(p.path, /^\//);
          assert.equal(p.backend.service.name, 'telemetrypulse-api');
          assert.ok(
            servicePorts.includes(p.backend.service.port.name),
            `port ${p.backend.service.port.name}`,
          );
        }
      });

      it("then a body over the API's limit reaches the API, and the live stream is neither buffered nor cut between heartbeats", () => {
        const bodySize =
          ingress.annotations[`${ANNOTATION}proxy-body-size`] ?? NGINX_DEFAULTS.bodySize;
        assert.ok(
          nginxBytes(bodySize) > apiSetting(objects, 'BODY_LIMIT_BYTES'),
          `proxy-body-size ${bodySize} is not above BODY_LIMIT_BYTES`,
        );
        const buffering =
          ingress.annotations[`${ANNOTATION}proxy-buffering`] ?? NGINX_DEFAULTS.buffering;
        assert.equal(buffering, 'off');
        const readTimeout = Number(
          ingress.annotations[`${ANNOTATION}proxy-read-timeout`] ??
            NGINX_DEFAULTS.readTimeoutSeconds,
        );
        assert.ok(
          readTimeout * 1000 > apiSetting(objects, 'LIVE_HEARTBEAT_MS'),
          `proxy-read-timeout ${readTimeout} s is not above the heartbeat`,
        );
      });

      it('then nginx accepts the configuration ingress-nginx would make of it, with no annotation it does not reproduce', async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'tp-ingress-conf-'));
        try {
          const certificates: Record<string, { cert: string; key: string }> = {};
          for (const tls of ingress.spec.tls ?? []) {
            const keys = newKeyPair();
            const subject = { commonName: tls.hosts?.[0] ?? 'localhost' };
            const files = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
            writeFileSync(
              files.cert,
              certificatePem(
                issueCertificate(
                  { subject, publicKey: keys.publicKey, altNames: tls.hosts ?? [] },
                  { subject, privateKey: keys.privateKey },
                ),
              ),
            );
            writeFileSync(files.key, privateKeyPem(keys.privateKey));
            certificates[tls.secretName ?? ''] = files;
          }
          const conf = ingressNginxConf(
            {
              metadata: { name: 'telemetrypulse-api', annotations: ingress.annotations },
              spec: ingress.spec as Ingress['spec'],
            },
            {
              listenAddress: '127.0.0.1',
              httpPort: 8080,
              httpsPort: 8443,
              prefix: dir,
              certificates,
              endpoints: { 'telemetrypulse-api:http': [{ address: '127.0.0.1', port: 8000 }] },
            },
          );
          const confPath = path.join(dir, 'nginx.conf');
          writeFileSync(confPath, conf);
          // -t parses and loads the certificates without listening.
          const { stderr } = await run(await ensureNginx(), [
            '-t',
            '-q',
            '-p',
            dir,
            '-e',
            path.join(dir, 'error.log'),
            '-c',
            confPath,
          ]);
          assert.equal(stderr.trim(), '');
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('then every TLS entry names a Secret and only hosts the rules serve', () => {
        const hosts = ingress.spec.rules.map((r) => r.host);
        for (const tls of ingress.spec.tls ?? []) {
          assert.ok(tls.secretName, 'a TLS entry without secretName');
          for (const host of tls.hosts ?? []) assert.ok(hosts.includes(host), host);
        }
      });
    });
  }

  it('when a user adds annotations, then the chart keeps its own unless the user overrides them', async () => {
    const objects = await renderChart(helm, {
      valuesFiles: [TLS_VALUES],
      values: { api: { ingress: { annotations: { 'example.com/team': 'telemetry' } } } },
    });
    const { annotations } = ingressOf(objects);
    assert.equal(annotations['example.com/team'], 'telemetry');
    assert.equal(annotations[`${ANNOTATION}proxy-body-size`], '2m');
    assert.equal(annotations[`${ANNOTATION}proxy-read-timeout`], '3600');
  });

  it('when the TLS values are used, then the rule for the host is served from its Secret', async () => {
    const { spec } = ingressOf(await renderChart(helm, { valuesFiles: [TLS_VALUES] }));
    assert.deepEqual(spec.tls, [
      { secretName: 'telemetry-example-tls', hosts: ['telemetry.example.com'] },
    ]);
    assert.deepEqual(
      spec.rules.map((r) => r.host),
      ['telemetry.example.com'],
    );
  });
});
