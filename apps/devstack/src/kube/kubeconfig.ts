// kubeconfig files with the credentials inline, so a file alone is enough for kubectl and helm.
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { CertifiedKey } from './pki.ts';

const base64 = (text: string) => Buffer.from(text).toString('base64');

export function renderKubeconfig(options: {
  server: string;
  caPem: string;
  user: string;
  client: Pick<CertifiedKey, 'certPem' | 'keyPem'>;
  contextName?: string;
}): string {
  const context = options.contextName ?? 'telemetrypulse-testbed';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: context,
        cluster: { server: options.server, 'certificate-authority-data': base64(options.caPem) },
      },
    ],
    users: [
      {
        name: options.user,
        user: {
          'client-certificate-data': base64(options.client.certPem),
          'client-key-data': base64(options.client.keyPem),
        },
      },
    ],
    contexts: [{ name: context, context: { cluster: context, user: options.user } }],
    'current-context': context,
    preferences: {},
  });
}

export function writeKubeconfig(file: string, ...args: Parameters<typeof renderKubeconfig>): void {
  writeFileSync(file, renderKubeconfig(...args), { mode: 0o600 });
}
