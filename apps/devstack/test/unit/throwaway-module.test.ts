import assert from 'node:assert/strict';
import {
  goDirective,
  locallyReplacedModules,
  throwawayGoMod,
} from '../../src/kube/throwaway-module.ts';

// Shaped like the go.mod files of k8s.io/kubernetes and go.etcd.io/etcd/server/v3.
const KUBERNETES_GO_MOD = `// This is a generated file. Do not edit directly.
module k8s.io/kubernetes

go 1.24.0

godebug default=go1.24

require (
	github.com/spf13/cobra v1.9.1
	k8s.io/api v0.0.0
	k8s.io/apiserver v0.0.0 // indirect
	k8s.io/client-go v0.0.0
)

require k8s.io/kms v0.0.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/apiserver => ./staging/src/k8s.io/apiserver
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/sample-controller => ./staging/src/k8s.io/sample-controller
	github.com/example/fork => github.com/example/fork v1.2.3
)

replace k8s.io/kms => ./staging/src/k8s.io/kms
`;

const ETCD_GO_MOD = `module go.etcd.io/etcd/server/v3

go 1.26.0

toolchain go1.26.10

require (
	go.etcd.io/etcd/api/v3 v3.6.16
	go.etcd.io/etcd/client/v3 v3.6.16
)

replace (
	go.etcd.io/etcd/api/v3 => ../api
	go.etcd.io/etcd/client/v3 => ../client/v3
)

// Bad imports are sometimes causing attempts to pull that code.
replace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY
`;

describe('throwaway Go module', () => {
  it('when a go.mod replaces required siblings with local folders, then those are listed', () => {
    assert.deepEqual(locallyReplacedModules(KUBERNETES_GO_MOD), [
      'k8s.io/api',
      'k8s.io/apiserver',
      'k8s.io/client-go',
      'k8s.io/kms',
    ]);
  });

  it('when a local replace guards a module that is not required, then it is left out', () => {
    assert.deepEqual(locallyReplacedModules(ETCD_GO_MOD), [
      'go.etcd.io/etcd/api/v3',
      'go.etcd.io/etcd/client/v3',
    ]);
  });

  it('when the module is rendered, then it requires the module and pins each sibling', () => {
    const text = throwawayGoMod({
      module: 'k8s.io/kubernetes',
      version: 'v1.34.4',
      replacements: { 'k8s.io/client-go': 'v0.34.4', 'k8s.io/api': 'v0.34.4' },
      goVersion: goDirective(KUBERNETES_GO_MOD),
    });
    assert.equal(
      text,
      [
        'module telemetrypulse.local/throwaway',
        '',
        'go 1.24.0',
        '',
        'require k8s.io/kubernetes v1.34.4',
        '',
        'replace (',
        '\tk8s.io/api => k8s.io/api v0.34.4',
        '\tk8s.io/client-go => k8s.io/client-go v0.34.4',
        ')',
        '',
      ].join('\n'),
    );
  });

  it('when a go.mod has no go directive, then goDirective says so', () => {
    assert.throws(() => goDirective('module x\n'), /no go directive/);
  });
});
