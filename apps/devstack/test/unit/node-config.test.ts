import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  cniConfList,
  containerdConfig,
  corefile,
  kubeletConfig,
  kubeProxyConfig,
} from '../../src/node/config.ts';
import { LOCAL_REGISTRY } from '../../src/images/names.ts';
import { NODE_NETWORK, NODE_PATHS } from '../../src/node/layout.ts';
import { REPO_ROOT } from '../../src/paths.ts';
import { DEV_DB } from '../../src/postgres-server.ts';

describe('real node configuration', () => {
  it('when containerd is configured, then sandboxes can start without CAP_SYS_RESOURCE and pod namespaces stay in the node folder', () => {
    const toml = containerdConfig({
      sandboxImage: 'docker.io/telemetrypulse/pause:1',
      runc: '/usr/sbin/runc',
      cniBinDir: '/usr/lib/cni',
    });
    assert.match(toml, /restrict_oom_score_adj = true/);
    assert.match(toml, /netns_mounts_under_state_dir = true/);
    assert.match(toml, /sandbox_image = "docker\.io\/telemetrypulse\/pause:1"/);
    assert.match(toml, /SystemdCgroup = false/);
    assert.ok(toml.includes(`address = "${NODE_PATHS.containerdSocket}"`));
    assert.ok(toml.includes(`conf_dir = "${NODE_PATHS.cniConfDir}"`));
  });

  it('when pods get addresses, then they come from the pod range on the node bridge', () => {
    const list = JSON.parse(cniConfList()) as {
      plugins: { type: string; bridge?: string; ipam?: { ranges: { subnet: string }[][] } }[];
    };
    const bridge = list.plugins.find((p) => p.type === 'bridge');
    assert.ok(bridge);
    assert.equal(bridge.bridge, NODE_NETWORK.bridge);
    assert.equal(bridge.ipam?.ranges[0]?.[0]?.subnet, NODE_NETWORK.podCidr);
  });

  it('when the kubelet is configured, then it serves on the node address with webhook auth and points pods at the node DNS', () => {
    const config = parse(
      kubeletConfig({ caFile: '/ca.crt', tlsCertFile: '/k.crt', tlsKeyFile: '/k.key' }),
    ) as Record<string, unknown>;
    assert.equal(config.address, NODE_NETWORK.nodeIp);
    assert.equal(config.cgroupDriver, 'cgroupfs');
    assert.deepEqual(config.clusterDNS, [NODE_NETWORK.nodeIp]);
    assert.deepEqual(config.authorization, { mode: 'Webhook' });
    assert.equal(config.containerRuntimeEndpoint, `unix://${NODE_PATHS.containerdSocket}`);
  });

  it('when kube-proxy is configured, then it leaves the machine-wide conntrack table alone', () => {
    const config = parse(kubeProxyConfig('/kp.kubeconfig')) as {
      mode: string;
      conntrack: { maxPerCore: number; min: number };
      clusterCIDR: string;
    };
    assert.equal(config.mode, 'iptables');
    assert.deepEqual([config.conntrack.maxPerCore, config.conntrack.min], [0, 0]);
    assert.equal(config.clusterCIDR, NODE_NETWORK.clusterCidr);
  });

  it('when CoreDNS is configured, then it answers cluster.local on the node address only', () => {
    const text = corefile('/admin.kubeconfig');
    assert.match(text, new RegExp(`bind ${NODE_NETWORK.nodeIp.replaceAll('.', '\\.')}`));
    assert.match(text, /kubernetes cluster\.local/);
    assert.match(text, /kubeconfig \/admin\.kubeconfig/);
  });
});

describe('the chart values for the real node', () => {
  it('when a user installs with k8s/node/values.yaml, then the apps reach the Kafka and PostgreSQL make cluster runs', () => {
    const values = parse(
      readFileSync(path.join(REPO_ROOT, 'k8s', 'node', 'values.yaml'), 'utf8'),
    ) as {
      kafka: { brokers: string };
      database: { url: string };
      global: { imageRegistry: string };
    };
    assert.equal(values.kafka.brokers, `${NODE_NETWORK.nodeIp}:${NODE_NETWORK.kafkaPort}`);
    const url = new URL(values.database.url);
    assert.equal(url.host, `${NODE_NETWORK.nodeIp}:${NODE_NETWORK.postgresPort}`);
    assert.equal(url.username, DEV_DB.user);
    assert.equal(url.password, DEV_DB.password);
    assert.equal(url.pathname, `/${DEV_DB.database}`);
    assert.equal(values.global.imageRegistry, LOCAL_REGISTRY);
  });
});
