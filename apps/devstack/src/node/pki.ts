// The certificates a node adds to the testbed's: the kubelet's serving and client certificates,
// the API server's client certificate for kubelets, kube-scheduler's and kube-proxy's, and the
// aggregation layer's front proxy (its own CA), which metrics-server and KEDA's adapter need.
import path from 'node:path';
import { createCertificateAuthority, type CertifiedKey, type TestbedPki } from '../kube/pki.ts';
import { NODE_NAME, NODE_NETWORK } from './layout.ts';

export interface NodeCertificates {
  kubeletServing: CertifiedKey;
  kubeletClient: CertifiedKey;
  apiserverKubeletClient: CertifiedKey;
  scheduler: CertifiedKey;
  kubeProxy: CertifiedKey;
  frontProxyCa: CertifiedKey;
  frontProxyClient: CertifiedKey;
}

const FRONT_PROXY_CLIENT = 'front-proxy-client';

/** Issued into the testbed's pki folder, next to its CA. */
export function issueNodeCertificates(pki: TestbedPki): NodeCertificates {
  const issue = pki.authority.issue;
  const frontProxy = createCertificateAuthority(
    path.dirname(pki.ca.certFile),
    'front-proxy-ca',
    'telemetrypulse-front-proxy-ca',
  );
  return {
    kubeletServing: issue(
      'kubelet',
      { commonName: NODE_NAME },
      ['serverAuth'],
      [NODE_NETWORK.nodeIp, NODE_NAME],
    ),
    kubeletClient: issue(
      'kubelet-client',
      { commonName: `system:node:${NODE_NAME}`, organizations: ['system:nodes'] },
      ['clientAuth'],
    ),
    // The kubelet authorizes the API server (logs, exec, port-forward) by this user's groups.
    apiserverKubeletClient: issue(
      'apiserver-kubelet-client',
      { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] },
      ['clientAuth'],
    ),
    scheduler: issue('scheduler', { commonName: 'system:kube-scheduler' }, ['clientAuth']),
    kubeProxy: issue('kube-proxy', { commonName: 'system:kube-proxy' }, ['clientAuth']),
    frontProxyCa: frontProxy.ca,
    frontProxyClient: frontProxy.issue(FRONT_PROXY_CLIENT, { commonName: FRONT_PROXY_CLIENT }, [
      'clientAuth',
    ]),
  };
}

/** kube-apiserver flags for a cluster with a kubelet and the aggregation layer. */
export function nodeApiserverArgs(pki: TestbedPki, node: NodeCertificates): string[] {
  return [
    // The Node authorizer lets the kubelet read what its pods need.
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    `--kubelet-client-certificate=${node.apiserverKubeletClient.certFile}`,
    `--kubelet-client-key=${node.apiserverKubeletClient.keyFile}`,
    `--kubelet-certificate-authority=${pki.ca.certFile}`,
    // The node's address inside its namespace, never a name that resolves to the machine.
    '--kubelet-preferred-address-types=InternalIP',
    `--requestheader-client-ca-file=${node.frontProxyCa.certFile}`,
    `--requestheader-allowed-names=${FRONT_PROXY_CLIENT}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${node.frontProxyClient.certFile}`,
    `--proxy-client-key-file=${node.frontProxyClient.keyFile}`,
    // No kube-proxy runs where the API server does not share the node's network: route
    // aggregated APIs to their endpoints directly, as kind's control plane can too.
    '--enable-aggregator-routing=true',
    `--service-node-port-range=30000-32767`,
  ];
}
