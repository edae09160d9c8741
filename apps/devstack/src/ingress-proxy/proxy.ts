// Debian's nginx in front of an Ingress's Services on the real node, configured as ingress-nginx
// would configure that Ingress (nginx-conf.ts): it runs in the node's network namespace,
// listens on the node's address, takes its certificates from the Ingress's TLS Secrets and sends
// to the ready endpoints of each backend Service, as the controller does.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NODE_NETWORK } from '../node/layout.ts';
import { StopWaiting, waitFor } from '../ports.ts';
import { unpackDebianPackage } from '../tools/debian-unpack.ts';
import { backendKey, type Endpoint, type Ingress, ingressNginxConf } from './nginx-conf.ts';

/** Debian's nobody/nogroup: nginx's workers drop root for them. */
const WORKER = { user: 'nobody nogroup', uid: 65534, gid: 65534 };

export interface IngressProxy {
  address: string;
  httpPort: number;
  httpsPort: number;
  /** The generated nginx.conf, for a failure report. */
  conf: string;
  /** What nginx logged (errors and each request), for a failure report. */
  logs(): string;
  stop(): Promise<void>;
}

export interface IngressProxyOptions {
  httpPort: number;
  httpsPort: number;
  /** Annotations added to the Ingress's own, as a user would set them on it. */
  extraAnnotations?: Record<string, string>;
}

type Kubectl = (args: string[]) => Promise<string>;

/** The nginx binary of Debian's package, unpacked into the cache (nothing is installed). */
export async function ensureNginx(): Promise<string> {
  const { root } = await unpackDebianPackage('nginx');
  return path.join(root, 'usr', 'sbin', 'nginx');
}

async function getJson<T>(kubectl: Kubectl, args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/** The ready endpoints of `<service>:<port>`, from the Service's EndpointSlices. */
async function readyEndpoints(
  kubectl: Kubectl,
  namespace: string,
  key: string,
): Promise<Endpoint[]> {
  const [service, port] = key.split(':') as [string, string];
  const svc = await getJson<{ spec: { ports: { name?: string; port: number }[] } }>(kubectl, [
    '-n',
    namespace,
    'get',
    'service',
    service,
  ]);
  const servicePort = svc.spec.ports.find((p) => p.name === port || String(p.port) === port);
  if (!servicePort) throw new Error(`Service ${service} has no port ${port}`);
  const slices = await getJson<{
    items: {
      endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
      ports?: { name?: string; port?: number }[];
    }[];
  }>(kubectl, [
    '-n',
    namespace,
    'get',
    'endpointslices',
    '-l',
    `kubernetes.io/service-name=${service}`,
  ]);
  const endpoints: Endpoint[] = [];
  for (const slice of slices.items) {
    const target = slice.ports?.find((p) => (p.name ?? '') === (servicePort.name ?? ''))?.port;
    if (target === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses) endpoints.push({ address, port: target });
    }
  }
  return endpoints;
}

async function accepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** Starts nginx for the Ingress `name` of `namespace`; stop() ends it (by its PID). */
export async function startIngressProxy(
  kubectl: Kubectl,
  namespace: string,
  name: string,
  options: IngressProxyOptions,
): Promise<IngressProxy> {
  const nginx = await ensureNginx();
  const ingress = await getJson<Ingress>(kubectl, ['-n', namespace, 'get', 'ingress', name]);
  ingress.metadata.annotations = { ...ingress.metadata.annotations, ...options.extraAnnotations };

  const prefix = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-ingress-'));
  // The workers (nobody) write buffered request bodies under the prefix.
  chmodSync(prefix, 0o755);
  for (const dir of ['client-body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    mkdirSync(path.join(prefix, dir));
    chownSync(path.join(prefix, dir), WORKER.uid, WORKER.gid);
  }

  const certificates: Record<string, { cert: string; key: string }> = {};
  for (const tls of ingress.spec.tls ?? []) {
    if (!tls.secretName) continue;
    const secret = await getJson<{ type: string; data: Record<string, string> }>(kubectl, [
      '-n',
      namespace,
      'get',
      'secret',
      tls.secretName,
    ]);
    const cert = secret.data['tls.crt'];
    const key = secret.data['tls.key'];
    if (!cert || !key) throw new Error(`Secret ${tls.secretName} has no tls.crt and tls.key`);
    const files = {
      cert: path.join(prefix, `${tls.secretName}.crt`),
      key: path.join(prefix, `${tls.secretName}.key`),
    };
    writeFileSync(files.cert, Buffer.from(cert, 'base64'));
    writeFileSync(files.key, Buffer.from(key, 'base64'), { mode: 0o600 });
    certificates[tls.secretName] = files;
  }

  const endpoints: Record<string, Endpoint[]> = {};
  for (const rule of ingress.spec.rules ?? []) {
    for (const p of rule.http?.paths ?? []) {
      const key = backendKey(p.backend);
      endpoints[key] ??= await readyEndpoints(kubectl, namespace, key);
    }
  }

  const address = NODE_NETWORK.nodeIp;
  const conf = ingressNginxConf(ingress, {
    listenAddress: address,
    httpPort: options.httpPort,
    httpsPort: options.httpsPort,
    prefix,
    certificates,
    endpoints,
    user: WORKER.user,
  });
  const confPath = path.join(prefix, 'nginx.conf');
  writeFileSync(confPath, conf);
  const logs = () =>
    ['error.log', 'access.log']
      .map((file) => {
        try {
          return `--- nginx ${file}\n${readFileSync(path.join(prefix, file), 'utf8')}`;
        } catch {
          return `--- nginx ${file}: none`;
        }
      })
      .join('\n');

  // In the node's namespace: it listens on the node's address and reaches the pods.
  const child: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      NODE_NETWORK.netns,
      nginx,
      '-p',
      prefix,
      '-e',
      path.join(prefix, 'error.log'),
      '-c',
      confPath,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await exit;
  };
  try {
    await waitFor(
      `nginx to listen on ${address}:${options.httpsPort}`,
      async () => {
        if (exited) throw new StopWaiting(`nginx exited: ${stderr}\n${logs()}`);
        return accepts(address, options.httpsPort);
      },
      30_000,
      200,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, httpPort: options.httpPort, httpsPort: options.httpsPort, conf, logs, stop };
}
