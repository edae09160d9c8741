// An nginx.conf that serves an Ingress the way ingress-nginx (and minikube's ingress addon, which
// is ingress-nginx) configures it by default: the location settings of its nginx.tmpl with the
// defaults of its ConfigMap, changed only by the `nginx.ingress.kubernetes.io/*` annotations
// listed below. No ingress controller can be had here, so the e2e test puts Debian's nginx with
// this configuration in front of the API on the real node. An annotation it does not know is an
// error: the chart must not rely on one whose effect the test does not reproduce.

/** The part of a networking.k8s.io/v1 Ingress that a controller reads. */
export interface Ingress {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec: {
    ingressClassName?: string;
    tls?: { hosts?: string[]; secretName?: string }[];
    rules?: {
      host?: string;
      http?: {
        paths: {
          path?: string;
          pathType: 'Prefix' | 'Exact' | 'ImplementationSpecific';
          backend: { service?: { name: string; port: { name?: string; number?: number } } };
        }[];
      };
    }[];
  };
}

export interface Endpoint {
  address: string;
  port: number;
}

export interface IngressNginxOptions {
  /** Where nginx listens (an address of the node's network namespace). */
  listenAddress: string;
  httpPort: number;
  httpsPort: number;
  /** nginx's prefix: temp folders, pid file and logs go under it. */
  prefix: string;
  /** The certificate and key file written from each TLS Secret, by Secret name. */
  certificates: Record<string, { cert: string; key: string }>;
  /**
   * The ready endpoints of each backend, by `<service>:<port name or number>`: ingress-nginx
   * sends to the pods of a Service, not to its ClusterIP.
   */
  endpoints: Record<string, Endpoint[]>;
  /** The user nginx's workers run as (they write request bodies to the prefix's temp folder). */
  user?: string;
}

const PREFIX = 'nginx.ingress.kubernetes.io/';

/** ingress-nginx's defaults (its ConfigMap's), and the annotation that overrides each. */
interface LocationSettings {
  proxyBodySize: string;
  proxyConnectTimeout: number;
  proxyReadTimeout: number;
  proxySendTimeout: number;
  proxyBuffering: 'on' | 'off';
  proxyRequestBuffering: 'on' | 'off';
  proxyBufferSize: string;
  sslRedirect: boolean;
}

const DEFAULTS: LocationSettings = {
  proxyBodySize: '1m',
  proxyConnectTimeout: 5,
  proxyReadTimeout: 60,
  proxySendTimeout: 60,
  proxyBuffering: 'off',
  proxyRequestBuffering: 'on',
  proxyBufferSize: '4k',
  sslRedirect: true,
};

const SIZE = /^\d+[kKmMgG]?$/;

function onOff(name: string, value: string): 'on' | 'off' {
  if (value !== 'on' && value !== 'off')
    throw new Error(`${PREFIX}${name}: "${value}" is not on/off`);
  return value;
}

function seconds(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`${PREFIX}${name}: "${value}" is not whole seconds`);
  return Number(value);
}

function size(name: string, value: string): string {
  if (!SIZE.test(value)) throw new Error(`${PREFIX}${name}: "${value}" is not an nginx size`);
  return value;
}

/** The location settings the Ingress's annotations give; an unknown nginx annotation throws. */
export function locationSettings(annotations: Record<string, string> = {}): LocationSettings {
  const settings = { ...DEFAULTS };
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(PREFIX)) continue;
    const name = key.slice(PREFIX.length);
    switch (name) {
      case 'proxy-body-size':
        settings.proxyBodySize = size(name, value);
        break;
      case 'proxy-connect-timeout':
        settings.proxyConnectTimeout = seconds(name, value);
        break;
      case 'proxy-read-timeout':
        settings.proxyReadTimeout = seconds(name, value);
        break;
      case 'proxy-send-timeout':
        settings.proxySendTimeout = seconds(name, value);
        break;
      case 'proxy-buffering':
        settings.proxyBuffering = onOff(name, value);
        break;
      case 'proxy-request-buffering':
        settings.proxyRequestBuffering = onOff(name, value);
        break;
      case 'proxy-buffer-size':
        settings.proxyBufferSize = size(name, value);
        break;
      case 'ssl-redirect':
        settings.sslRedirect = value === 'true';
        break;
      default:
        throw new Error(
          `${key}: this proxy does not reproduce that ingress-nginx annotation; add it to ` +
            'apps/devstack/src/ingress-proxy/nginx-conf.ts before the chart sets it',
        );
    }
  }
  return settings;
}

/** `<service>:<port>` of a path's backend, the key of IngressNginxOptions.endpoints. */
export function backendKey(
  backend: NonNullable<
    NonNullable<Ingress['spec']['rules']>[number]['http']
  >['paths'][number]['backend'],
): string {
  const service = backend.service;
  if (!service) throw new Error('only Service backends are supported');
  const port = service.port.name ?? service.port.number;
  if (port === undefined) throw new Error(`backend ${service.name} names no port`);
  return `${service.name}:${port}`;
}

/** nginx location matchers for an Ingress path, as ingress-nginx maps its pathType. */
export function locationMatchers(path: string, pathType: string): string[] {
  if (pathType === 'Exact') return [`= ${path}`];
  if (pathType === 'Prefix' && path !== '/') {
    // Prefix matches whole path elements: /docs and /docs/…, not /docsx.
    const base = path.replace(/\/+$/, '');
    return [`= ${base}`, `${base}/`];
  }
  return [path];
}

function upstreamName(key: string): string {
  return `upstream_${key.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** ingress-nginx's proxy settings of a location (nginx.tmpl), with the Ingress's settings. */
function locationBlock(matcher: string, upstream: string, s: LocationSettings): string {
  return `
    location ${matcher} {
      client_max_body_size ${s.proxyBodySize};
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Request-ID $request_id;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Scheme $scheme;
      proxy_set_header X-Scheme $scheme;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header Proxy "";
      proxy_connect_timeout ${s.proxyConnectTimeout}s;
      proxy_send_timeout ${s.proxySendTimeout}s;
      proxy_read_timeout ${s.proxyReadTimeout}s;
      proxy_buffering ${s.proxyBuffering};
      proxy_buffer_size ${s.proxyBufferSize};
      proxy_buffers 4 ${s.proxyBufferSize};
      proxy_max_temp_file_size 1024m;
      proxy_request_buffering ${s.proxyRequestBuffering};
      proxy_http_version 1.1;
      proxy_cookie_domain off;
      proxy_cookie_path off;
      proxy_next_upstream error timeout;
      proxy_next_upstream_timeout 0;
      proxy_next_upstream_tries 3;
      proxy_redirect off;
      proxy_pass http://${upstream};
    }`;
}

/** The whole nginx.conf for one Ingress. */
export function ingressNginxConf(ingress: Ingress, options: IngressNginxOptions): string {
  const settings = locationSettings(ingress.metadata.annotations);
  const tlsByHost = new Map<string, string>();
  for (const tls of ingress.spec.tls ?? []) {
    if (!tls.secretName) continue;
    for (const host of tls.hosts ?? []) tlsByHost.set(host, tls.secretName);
  }
  const upstreams = new Map<string, Endpoint[]>();
  const servers: string[] = [];
  for (const rule of ingress.spec.rules ?? []) {
    const host = rule.host ?? '';
    const locations: string[] = [];
    for (const p of rule.http?.paths ?? []) {
      const key = backendKey(p.backend);
      const endpoints = options.endpoints[key];
      if (!endpoints?.length) throw new Error(`backend ${key} has no ready endpoints`);
      upstreams.set(key, endpoints);
      for (const matcher of locationMatchers(p.path ?? '/', p.pathType)) {
        locations.push(locationBlock(matcher, upstreamName(key), settings));
      }
    }
    const name = host === '' ? '_' : host;
    const secret = tlsByHost.get(host);
    const certificate = secret === undefined ? undefined : options.certificates[secret];
    if (secret !== undefined && !certificate)
      throw new Error(`no certificate for Secret ${secret}`);
    const listenHttp = `listen ${options.listenAddress}:${options.httpPort}${host === '' ? ' default_server' : ''};`;
    const listenHttps = `listen ${options.listenAddress}:${options.httpsPort} ssl${host === '' ? ' default_server' : ''};`;
    if (certificate) {
      // ingress-nginx answers plain HTTP for a TLS host with a permanent redirect (308).
      const http = settings.sslRedirect
        ? `return 308 https://$host:${options.httpsPort}$request_uri;`
        : locations.join('\n');
      servers.push(`
  server {
    ${listenHttp}
    server_name ${name};
    ${http}
  }
  server {
    ${listenHttps}
    server_name ${name};
    ssl_certificate ${certificate.cert};
    ssl_certificate_key ${certificate.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:1m;
    ${locations.join('\n')}
  }`);
    } else {
      servers.push(`
  server {
    ${listenHttp}
    server_name ${name};
    ${locations.join('\n')}
  }`);
    }
  }
  if (servers.length === 0) throw new Error(`Ingress ${ingress.metadata.name} has no rules`);
  const upstreamBlocks = [...upstreams].map(
    ([key, endpoints]) => `
  upstream ${upstreamName(key)} {
    ${endpoints.map((e) => `server ${e.address}:${e.port} max_fails=0;`).join('\n    ')}
    keepalive 320;
    keepalive_timeout 60s;
    keepalive_requests 10000;
  }`,
  );
  const p = options.prefix;
  return `# Generated for Ingress ${ingress.metadata.namespace ?? ''}/${ingress.metadata.name} (apps/devstack/src/ingress-proxy).
${options.user ? `user ${options.user};` : ''}
worker_processes 1;
daemon off;
pid ${p}/nginx.pid;
error_log ${p}/error.log notice;
events {
  worker_connections 1024;
}
http {
  access_log ${p}/access.log;
  client_body_temp_path ${p}/client-body;
  proxy_temp_path ${p}/proxy;
  fastcgi_temp_path ${p}/fastcgi;
  uwsgi_temp_path ${p}/uwsgi;
  scgi_temp_path ${p}/scgi;
  default_type application/octet-stream;
  server_tokens off;
  keepalive_timeout 75s;
  client_body_buffer_size 8k;
  # With upstream keepalive, ingress-nginx clears Connection unless the client upgrades.
  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' '';
  }
${upstreamBlocks.join('\n')}
${servers.join('\n')}
}
`;
}
