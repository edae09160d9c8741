import assert from 'node:assert/strict';
import {
  type Ingress,
  ingressNginxConf,
  locationMatchers,
  locationSettings,
} from '../../src/ingress-proxy/nginx-conf.ts';

const OPTIONS = {
  listenAddress: '10.0.0.2',
  httpPort: 8080,
  httpsPort: 8443,
  prefix: '/tmp/proxy',
  certificates: { 'api-tls': { cert: '/tmp/proxy/api-tls.crt', key: '/tmp/proxy/api-tls.key' } },
  endpoints: {
    'tp-api:http': [
      { address: '10.244.0.7', port: 8000 },
      { address: '10.244.0.8', port: 8000 },
    ],
  },
};

function ingress(spec: Partial<Ingress['spec']>, annotations?: Record<string, string>): Ingress {
  return {
    metadata: { name: 'tp-api', namespace: 'tp', annotations },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'api.example.test',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'tp-api', port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
      ...spec,
    },
  };
}

describe('an Ingress as ingress-nginx configures it (nginx-conf)', () => {
  it('when no annotation is set, then the locations get ingress-nginx defaults: no response buffering, 60 s timeouts, 1m bodies, HTTP/1.1', () => {
    const conf = ingressNginxConf(ingress({}), OPTIONS);
    for (const line of [
      'proxy_buffering off;',
      'proxy_request_buffering on;',
      'proxy_read_timeout 60s;',
      'proxy_send_timeout 60s;',
      'client_max_body_size 1m;',
      'proxy_http_version 1.1;',
      'proxy_set_header X-Forwarded-For $remote_addr;',
    ]) {
      assert.ok(conf.includes(line), line);
    }
  });

  it('when annotations are set, then they change exactly their settings', () => {
    const settings = locationSettings({
      'nginx.ingress.kubernetes.io/proxy-body-size': '2m',
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-buffering': 'on',
      'example.com/team': 'telemetry',
    });
    assert.equal(settings.proxyBodySize, '2m');
    assert.equal(settings.proxyReadTimeout, 3600);
    assert.equal(settings.proxyBuffering, 'on');
    assert.equal(settings.proxySendTimeout, 60);
  });

  it('when an nginx annotation is unknown or malformed, then it is refused, not ignored', () => {
    assert.throws(
      () => locationSettings({ 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' }),
      /does not reproduce/,
    );
    assert.throws(
      () => locationSettings({ 'nginx.ingress.kubernetes.io/proxy-buffering': 'yes' }),
      /not on\/off/,
    );
    assert.throws(
      () => locationSettings({ 'nginx.ingress.kubernetes.io/proxy-body-size': 'big' }),
      /not an nginx size/,
    );
  });

  it('when a path is a Prefix, then it matches whole path elements', () => {
    assert.deepEqual(locationMatchers('/', 'Prefix'), ['/']);
    assert.deepEqual(locationMatchers('/docs/', 'Prefix'), ['= /docs', '/docs/']);
    assert.deepEqual(locationMatchers('/kpis', 'Exact'), ['= /kpis']);
  });

  it('when the host has TLS, then HTTP redirects with 308 and HTTPS serves from the Secret’s files', () => {
    const conf = ingressNginxConf(
      ingress({ tls: [{ hosts: ['api.example.test'], secretName: 'api-tls' }] }),
      OPTIONS,
    );
    assert.match(
      conf,
      /listen 10\.0\.0\.2:8080;\s+server_name api\.example\.test;\s+return 308 https:\/\/\$host:8443\$request_uri;/,
    );
    assert.match(conf, /listen 10\.0\.0\.2:8443 ssl;/);
    assert.ok(conf.includes('ssl_certificate /tmp/proxy/api-tls.crt;'));
    assert.ok(conf.includes('server 10.244.0.7:8000 max_fails=0;'));
    assert.ok(conf.includes('server 10.244.0.8:8000 max_fails=0;'));
  });

  it('when a rule has no host, then it is the default server; when a backend has no ready pod, then nothing is made', () => {
    const hostless = ingress({});
    delete hostless.spec.rules?.[0]?.host;
    assert.match(
      ingressNginxConf(hostless, OPTIONS),
      /listen 10\.0\.0\.2:8080 default_server;\s+server_name _;/,
    );
    assert.throws(
      () => ingressNginxConf(ingress({}), { ...OPTIONS, endpoints: {} }),
      /no ready endpoints/,
    );
  });
});
