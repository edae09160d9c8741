// Everything `make tools` prepares ahead of the tests, so no test has to build it first.
import path from 'node:path';
import { ensureKubeBinaries } from '../kube/binaries.ts';
import { ensureNodeBinaries } from '../node/binaries.ts';
import { installPrometheus } from '../prometheus/install.ts';
import { ensureActionlint } from './actionlint.ts';
import { fetchCrds } from './crds.ts';
import { ensureHelm } from './helm.ts';

export async function ensureAllTools(): Promise<Record<string, string>> {
  // One after another: each build already uses every core.
  const crds = await fetchCrds();
  const helm = await ensureHelm();
  const actionlint = await ensureActionlint();
  const kube = await ensureKubeBinaries();
  const node = await ensureNodeBinaries();
  const prometheus = await installPrometheus();
  return {
    helm,
    actionlint,
    'KEDA CRDs': crds.keda.dir,
    'prometheus-operator CRDs': crds.prometheusOperator.dir,
    'kube-apiserver, kube-controller-manager, etcd': kube.dir,
    'kubelet, kube-scheduler, kube-proxy, kubectl': path.dirname(node.kubelet),
    CoreDNS: node.coredns,
    'prometheus, promtool': path.dirname(prometheus.prometheus),
  };
}
