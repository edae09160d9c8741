// Everything `make tools` prepares ahead of the tests, so no test has to build it first.
import path from 'node:path';
import { ensureKubeBinaries } from '../kube/binaries.ts';
import { ensureNodeBinaries } from '../node/binaries.ts';
import { installPrometheus } from '../prometheus/install.ts';
import { ensureActionlint } from './actionlint.ts';
import { fetchCrds } from './crds.ts';
import { ensureHelm } from './helm.ts';
import { ensureSchemathesis } from './schemathesis.ts';

export async function ensureAllTools(
  log: (line: string) => void = (line) => {
    console.error(line);
  },
): Promise<Record<string, string>> {
  const steps = 7;
  let step = 0;
  // One after another (each build already uses every core), each saying which step it is.
  const next = <T>(what: string, run: () => Promise<T>): Promise<T> => {
    step += 1;
    log(`tools [${step}/${steps}] ${what}`);
    return run();
  };
  const crds = await next('KEDA and prometheus-operator CRDs', fetchCrds);
  const helm = await next('helm', ensureHelm);
  const actionlint = await next('actionlint', ensureActionlint);
  const kube = await next('kube-apiserver, kube-controller-manager, etcd', ensureKubeBinaries);
  const node = await next(
    'kubelet, kube-scheduler, kube-proxy, kubectl, CoreDNS',
    ensureNodeBinaries,
  );
  const prometheus = await next('prometheus, promtool', installPrometheus);
  const [schemathesisPython = ''] = await next('schemathesis', ensureSchemathesis);
  return {
    helm,
    actionlint,
    'KEDA CRDs': crds.keda.dir,
    'prometheus-operator CRDs': crds.prometheusOperator.dir,
    'kube-apiserver, kube-controller-manager, etcd': kube.dir,
    'kubelet, kube-scheduler, kube-proxy, kubectl': path.dirname(node.kubelet),
    CoreDNS: node.coredns,
    'prometheus, promtool': path.dirname(prometheus.prometheus),
    schemathesis: path.dirname(path.dirname(schemathesisPython)),
  };
}
