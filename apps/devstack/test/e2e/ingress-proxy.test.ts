// The API behind a proxy, as the chart's Ingress puts it. No ingress controller can be had here,
// so Debian's nginx plays ingress-nginx: it runs on the real node with the configuration
// ingress-nginx makes of the release's Ingress (apps/devstack/src/ingress-proxy), TLS from the
// Secret the Ingress names (a certificate this test issues), and the API's pods as upstreams.
// Through it, over HTTPS: the views, /docs, a write with the API key, bodies over each side's
// limit, and the live stream past the proxy's 60 s read timeout, with response buffering off
// (ingress-nginx's default) and on (a user's annotation, which X-Accel-Buffering: no overrides).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres, { type Sql } from 'postgres';
import { startIngressProxy, type IngressProxy } from '../../src/ingress-proxy/proxy.ts';
import {
  certificatePem,
  issueCertificate,
  newKeyPair,
  privateKeyPem,
} from '../../src/kube/x509.ts';
import { readNodeStatus } from '../../src/node/status.ts';
import { waitFor } from '../../src/ports.ts';
import { syntheticEvents } from '../../src/test/index.ts';
import {
  failureReport,
  installChart,
  nodeTools,
  storedCounts,
  uninstallChart,
  type NodeTools,
} from './support.ts';

const NAMESPACE = 'telemetrypulse-ingress';
const RELEASE = 'ingress';
/** The Ingress, and the API's Service and Deployment, of the release. */
/** The release's Ingress, and the API's Service and Deployment: all named alike. */
const INGRESS = `${RELEASE}-telemetrypulse-api`;
const HOST = 'telemetry.e2e.test';
const TLS_SECRET = 'telemetry-e2e-tls';
const API_KEY = 'e2e-ingress-key';
/** Longer than the proxy's 60 s read timeout (ingress-nginx's default). */
const STREAM_MS = 75_000;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface StreamRecord {
  opened: number;
  /** When each `aggregates` event and each heartbeat comment arrived. */
  aggregates: number[];
  heartbeats: number[];
  endedEarly: boolean;
  contentType: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('the API behind nginx configured as ingress-nginx configures the chart’s Ingress', function () {
  let tools: NodeTools;
  let sql: Sql;
  let certDir: string;
  let ca: string;
  /** ingress-nginx's defaults (response buffering off), and the same with buffering on. */
  let proxy: IngressProxy | undefined;
  let buffered: IngressProxy | undefined;

  /** An HTTPS request to the proxy for HOST, the certificate checked against the test's CA. */
  const https = (
    to: IngressProxy,
    pathname: string,
    options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
  ) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request(
        {
          host: to.address,
          port: to.httpsPort,
          servername: HOST,
          ca,
          method: options.method ?? 'GET',
          path: pathname,
          headers: { host: HOST, ...options.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });

  /** Reads /api/v1/live through `to` for STREAM_MS, noting when each message arrives. */
  const recordStream = (to: IngressProxy) =>
    new Promise<StreamRecord>((resolve, reject) => {
      const record: StreamRecord = {
        opened: Date.now(),
        aggregates: [],
        heartbeats: [],
        endedEarly: false,
        contentType: '',
      };
      let stopped = false;
      const req = request(
        {
          host: to.address,
          port: to.httpsPort,
          servername: HOST,
          ca,
          path: '/api/v1/live',
          headers: { host: HOST, accept: 'text/event-stream' },
        },
        (res) => {
          record.contentType = String(res.headers['content-type']);
          if (res.statusCode !== 200) {
            reject(new Error(`live stream answered ${res.statusCode}`));
            return;
          }
          let pending = '';
          res.on('data', (chunk: Buffer) => {
            const now = Date.now();
            pending += chunk.toString();
            // Messages end with a blank line; a heartbeat is a comment line of its own.
            let end = pending.indexOf('\n\n');
            while (end >= 0) {
              const message = pending.slice(0, end);
              pending = pending.slice(end + 2);
              if (/^event: aggregates$/m.test(message)) record.aggregates.push(now);
              if (/^: heartbeat$/m.test(message)) record.heartbeats.push(now);
              end = pending.indexOf('\n\n');
            }
          });
          // Ended by anyone but this test's own destroy() below: the proxy or the API cut it.
          const ended = () => {
            if (!stopped) record.endedEarly = true;
          };
          res.on('end', ended);
          res.on('error', ended);
        },
      );
      req.on('error', reject);
      req.end();
      setTimeout(() => {
        stopped = true;
        req.destroy();
        resolve(record);
      }, STREAM_MS);
    });

  before(async function () {
    tools = await nodeTools();
    const status = readNodeStatus();
    assert.ok(status?.databaseUrl, 'make cluster runs PostgreSQL');
    sql = postgres(status.databaseUrl, { max: 2, onnotice: () => undefined });

    // The certificate a user would put in the Secret (cert-manager's, a company CA's).
    certDir = mkdtempSync(path.join(tmpdir(), 'tp-ingress-tls-'));
    const caKeys = newKeyPair();
    const caSubject = { commonName: 'telemetrypulse e2e CA' };
    ca = certificatePem(
      issueCertificate(
        { subject: caSubject, publicKey: caKeys.publicKey, isCa: true },
        { subject: caSubject, privateKey: caKeys.privateKey },
      ),
    );
    const serverKeys = newKeyPair();
    writeFileSync(
      path.join(certDir, 'tls.crt'),
      certificatePem(
        issueCertificate(
          {
            subject: { commonName: HOST },
            publicKey: serverKeys.publicKey,
            usages: ['serverAuth'],
            altNames: [HOST],
          },
          { subject: caSubject, privateKey: caKeys.privateKey },
        ),
      ),
    );
    writeFileSync(path.join(certDir, 'tls.key'), privateKeyPem(serverKeys.privateKey));
    await tools.kubectl(['create', 'namespace', NAMESPACE]);
    await tools.kubectl([
      '-n',
      NAMESPACE,
      'create',
      'secret',
      'tls',
      TLS_SECRET,
      `--cert=${path.join(certDir, 'tls.crt')}`,
      `--key=${path.join(certDir, 'tls.key')}`,
    ]);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      console.log(await failureReport(tools, NAMESPACE));
      for (const p of [proxy, buffered]) if (p) console.log(`${p.conf}\n${p.logs()}`);
    }
  });

  after(async function () {
    await Promise.all([proxy?.stop(), buffered?.stop()]);
    await sql.end();
    rmSync(certDir, { recursive: true, force: true });
    await uninstallChart(tools, RELEASE, NAMESPACE, { deleteNamespace: true });
  });

  it('when the chart is installed with its Ingress for a TLS host, then nginx serves it as ingress-nginx would', async function () {
    await installChart(tools, RELEASE, NAMESPACE, [
      // Its own topic and group, one Site: nothing shared with the other releases.
      '--set',
      'kafka.topics.events=e2e.ingress.events',
      '--set',
      'kafka.consumerGroup=e2e-ingress',
      '--set-json',
      'sites={"site-02":null,"site-03":null}',
      '--set',
      'api.replicaCount=1',
      '--set-json',
      `api.auth.apiKeys=["${API_KEY}"]`,
      '--set',
      'api.ingress.enabled=true',
      '--set-json',
      `api.ingress.hosts=[{"host":"${HOST}","paths":[{"path":"/","pathType":"Prefix"}]}]`,
      '--set-json',
      `api.ingress.tls=[{"secretName":"${TLS_SECRET}","hosts":["${HOST}"]}]`,
    ]);
    const kubectl = (args: string[]) => tools.kubectl(args);
    proxy = await startIngressProxy(kubectl, NAMESPACE, INGRESS, {
      httpPort: 18080,
      httpsPort: 18443,
    });
    buffered = await startIngressProxy(kubectl, NAMESPACE, INGRESS, {
      httpPort: 18081,
      httpsPort: 18444,
      extraAnnotations: { 'nginx.ingress.kubernetes.io/proxy-buffering': 'on' },
    });
    assert.match(proxy.conf, /proxy_buffering off;/);
    assert.match(buffered.conf, /proxy_buffering on;/);
    // The API's Deployment was told about the proxy: one hop of X-Forwarded-For is believed.
    const env = await tools.kubectl([
      '-n',
      NAMESPACE,
      'get',
      'deployment',
      INGRESS,
      '-o',
      'jsonpath={.spec.template.spec.containers[0].env[?(@.name=="TRUST_PROXY_HOPS")].value}',
    ]);
    assert.equal(env.trim(), '1');
  });

  it('when a client asks over HTTPS, then /kpis/live lists the Site, /docs/ answers, and plain HTTP is redirected', async function () {
    const active = proxy;
    assert.ok(active);
    await waitFor(
      'site-01 in /kpis/live through the proxy',
      async () => {
        const answer = await https(active, '/kpis/live');
        const rows = JSON.parse(answer.body) as { site_id: string }[];
        return answer.status === 200 && rows.some((r) => r.site_id === 'site-01');
      },
      3 * 60_000,
      2000,
    );
    const docs = await https(active, '/docs/');
    assert.equal(docs.status, 200);
    assert.match(String(docs.headers['content-type']), /text\/html/);
    assert.match(docs.body, /swagger/i);
    // fetch() would not send our Host header: node:http does.
    const plain = await new Promise<{ status: number; location?: string }>((resolve, reject) => {
      httpRequest(
        {
          host: active.address,
          port: active.httpPort,
          path: '/kpis/live',
          headers: { host: HOST },
        },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, location: res.headers.location });
        },
      )
        .on('error', reject)
        .end();
    });
    assert.equal(plain.status, 308);
    assert.equal(plain.location, `https://${HOST}:${active.httpsPort}/kpis/live`);
  });

  it('when a client writes through the proxy, then the API key is required and the event is stored once', async function () {
    const active = proxy;
    assert.ok(active);
    const [event] = syntheticEvents(1, 'site-ingress', 60_000);
    assert.ok(event);
    const body = JSON.stringify([event]);
    const headers = { 'content-type': 'application/json' };
    const refused = await https(active, '/api/v1/events', { method: 'POST', headers, body });
    assert.equal(refused.status, 401);
    assert.match(String(refused.headers['content-type']), /application\/problem\+json/);
    const accepted = await https(active, '/api/v1/events', {
      method: 'POST',
      headers: { ...headers, 'x-api-key': API_KEY },
      body,
    });
    assert.equal(accepted.status, 202, accepted.body);
    assert.deepEqual(JSON.parse(accepted.body), { accepted: 1, rejected: 0, errors: [] });
    await waitFor(
      'the event written through the proxy to be stored',
      async () => (await storedCounts(sql, [event.event_id])).get(event.event_id) === 1,
      2 * 60_000,
      1000,
    );
    assert.equal((await storedCounts(sql, [event.event_id])).get(event.event_id), 1);
  });

  it("when a body is over the API's limit, then the API's 413 problem+json comes back; over the Ingress's 2m, nginx's own 413", async function () {
    const active = proxy;
    assert.ok(active);
    const headers = { 'content-type': 'application/json', 'x-api-key': API_KEY };
    // Request buffering is on: nginx takes the whole body before the API sees it.
    const overApi = await https(active, '/api/v1/events', {
      method: 'POST',
      headers,
      body: JSON.stringify({ padding: 'x'.repeat(1536 * 1024), event_id: randomUUID() }),
    });
    assert.equal(overApi.status, 413);
    assert.match(String(overApi.headers['content-type']), /application\/problem\+json/);
    const overProxy = await https(active, '/api/v1/events', {
      method: 'POST',
      headers,
      body: Buffer.alloc(3 * 1024 * 1024, 0x20),
    });
    assert.equal(overProxy.status, 413);
    assert.match(String(overProxy.headers['content-type']), /text\/html/);
  });

  it('when the live stream is read through the proxy past its 60 s read timeout, with buffering off and on, then aggregates and heartbeats keep arriving and the proxy never cuts it', async function () {
    assert.ok(proxy && buffered);
    const [unbuffered, withBuffering] = await Promise.all([
      recordStream(proxy),
      recordStream(buffered),
    ]);
    for (const [label, record] of [
      ['buffering off', unbuffered],
      ['buffering on', withBuffering],
    ] as const) {
      const offsets = record.aggregates.map((at) => at - record.opened);
      const gaps = offsets.slice(1).map((at, i) => at - (offsets[i] ?? 0));
      console.log(
        `    ${label}: ${record.aggregates.length} aggregates events and ` +
          `${record.heartbeats.length} heartbeats in ${seconds(STREAM_MS)}; first after ` +
          `${seconds(offsets[0] ?? Number.NaN)}, last after ${seconds(offsets.at(-1) ?? Number.NaN)}, ` +
          `longest gap ${seconds(Math.max(0, ...gaps))}`,
      );
      assert.match(record.contentType, /text\/event-stream/, label);
      assert.equal(record.endedEarly, false, `${label}: the proxy ended the stream`);
      assert.ok(record.heartbeats.length >= 1, `${label}: no heartbeat arrived`);
      // Arriving as they happen: some in the first quarter of the run, some after the proxy's
      // read timeout. A buffered stream would hold them back in one burst, or end.
      assert.ok(
        offsets.some((at) => at < STREAM_MS / 4),
        `${label}: no aggregates event in the first ${seconds(STREAM_MS / 4)}`,
      );
      assert.ok(
        offsets.some((at) => at > 60_000),
        `${label}: no aggregates event after the proxy's 60 s read timeout`,
      );
    }
  });
});
