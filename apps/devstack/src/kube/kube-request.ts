// One HTTPS request to the API server with a client certificate, for readiness probes (fetch
// cannot present a client certificate without an extra dependency).
import { request } from 'node:https';

export interface KubeResponse {
  status: number;
  body: string;
}

export interface ClientCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export function kubeGet(
  server: string,
  path: string,
  credentials: ClientCredentials,
): Promise<KubeResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server),
      {
        method: 'GET',
        ca: credentials.caPem,
        cert: credentials.certPem,
        key: credentials.keyPem,
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}
