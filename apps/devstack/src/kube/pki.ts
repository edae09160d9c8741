// The testbed's certificates and keys, made fresh for every testbed in its own folder.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  certificatePem,
  issueCertificate,
  newKeyPair,
  privateKeyPem,
  publicKeyPem,
  type DistinguishedName,
  type Issuer,
} from './x509.ts';

/** A certificate and its key, as PEM text and as files. */
export interface CertifiedKey {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export interface TestbedPki {
  ca: CertifiedKey;
  /** Issues more certificates from the same CA (a node's kubelet, scheduler, …). */
  authority: CertificateAuthority;
  apiserver: CertifiedKey;
  /** Client certificate of the admin user (group system:masters). */
  admin: CertifiedKey;
  /** Client certificate of kube-controller-manager (user system:kube-controller-manager). */
  controllerManager: CertifiedKey;
  /** Signs service-account tokens (kube-apiserver and the controller-manager's token controller). */
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
}

export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
/** The "kubernetes" Service gets the first address of the range; its certificate names it. */
const KUBERNETES_SERVICE_IP = '10.0.0.1';

export const ADMIN_USER: DistinguishedName = {
  commonName: 'testbed-admin',
  organizations: ['system:masters'],
};

function writeCertifiedKey(dir: string, name: string, certDer: Buffer, keyPem: string) {
  const certPem = certificatePem(certDer);
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  writeFileSync(certFile, certPem);
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  return { certPem, keyPem, certFile, keyFile };
}

/** A certificate authority's certificate and key, and a function that issues leaves from it. */
export interface CertificateAuthority {
  ca: CertifiedKey;
  /** Issues a leaf certificate signed by this CA into `<fileName>.crt` / `.key`. */
  issue: (
    fileName: string,
    subject: DistinguishedName,
    usages: ('serverAuth' | 'clientAuth')[],
    altNames?: string[],
  ) => CertifiedKey;
}

export function createCertificateAuthority(
  dir: string,
  fileName: string,
  commonName: string,
): CertificateAuthority {
  const caKeys = newKeyPair();
  const caSubject = { commonName };
  const issuer: Issuer = { subject: caSubject, privateKey: caKeys.privateKey };
  const ca = writeCertifiedKey(
    dir,
    fileName,
    issueCertificate({ subject: caSubject, publicKey: caKeys.publicKey, isCa: true }, issuer),
    privateKeyPem(caKeys.privateKey),
  );
  return {
    ca,
    issue: (leafName, subject, usages, altNames) => {
      const keys = newKeyPair();
      const cert = issueCertificate(
        { subject, publicKey: keys.publicKey, usages, altNames },
        issuer,
      );
      return writeCertifiedKey(dir, leafName, cert, privateKeyPem(keys.privateKey));
    },
  };
}

export interface TestbedPkiOptions {
  /** More names and addresses the API server's certificate must carry (a node's address). */
  apiserverAltNames?: string[];
}

export function createTestbedPki(dir: string, options: TestbedPkiOptions = {}): TestbedPki {
  const authority = createCertificateAuthority(dir, 'ca', 'telemetrypulse-testbed-ca');
  const { ca } = authority;
  const leaf = authority.issue;
  const apiserver = leaf(
    'apiserver',
    { commonName: 'kube-apiserver' },
    ['serverAuth'],
    [
      '127.0.0.1',
      'localhost',
      KUBERNETES_SERVICE_IP,
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      ...(options.apiserverAltNames ?? []),
    ],
  );
  const admin = leaf('admin', ADMIN_USER, ['clientAuth']);
  const controllerManager = leaf(
    'controller-manager',
    { commonName: 'system:kube-controller-manager' },
    ['clientAuth'],
  );
  const serviceAccount = newKeyPair();
  const serviceAccountKeyFile = path.join(dir, 'service-account.key');
  const serviceAccountPublicKeyFile = path.join(dir, 'service-account.pub');
  writeFileSync(serviceAccountKeyFile, privateKeyPem(serviceAccount.privateKey), { mode: 0o600 });
  writeFileSync(serviceAccountPublicKeyFile, publicKeyPem(serviceAccount.publicKey));
  return {
    ca,
    authority,
    apiserver,
    admin,
    controllerManager,
    serviceAccountKeyFile,
    serviceAccountPublicKeyFile,
  };
}
