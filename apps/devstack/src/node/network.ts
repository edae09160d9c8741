// The node's network namespace and the veth pair that joins it to the machine. Deleting the
// namespace takes everything made inside it along: the pod bridge, kube-proxy's and the CNI
// plugins' iptables rules, the node end of the pair (and with it the machine's end).
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { NODE_NETWORK } from './layout.ts';

const NETNS_PATH = `/run/netns/${NODE_NETWORK.netns}`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inNode(command: string, ...args: string[]): void {
  execFileSync('ip', ['netns', 'exec', NODE_NETWORK.netns, command, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

export function nodeNetnsExists(): boolean {
  return existsSync(NETNS_PATH);
}

/** The inode of the node's network namespace: a process whose net namespace has it is ours. */
export function nodeNetnsInode(): number | undefined {
  return nodeNetnsExists() ? statSync(NETNS_PATH).ino : undefined;
}

export function createNodeNetwork(): void {
  const n = NODE_NETWORK;
  ip('netns', 'add', n.netns);
  ip('link', 'add', n.hostVeth, 'type', 'veth', 'peer', 'name', n.nodeVeth, 'netns', n.netns);
  ip('addr', 'add', `${n.hostIp}/${n.prefixLength}`, 'dev', n.hostVeth);
  ip('link', 'set', n.hostVeth, 'up');
  ip('-n', n.netns, 'link', 'set', 'lo', 'up');
  ip('-n', n.netns, 'addr', 'add', `${n.nodeIp}/${n.prefixLength}`, 'dev', n.nodeVeth);
  ip('-n', n.netns, 'link', 'set', n.nodeVeth, 'up');
  // Processes of the node that dial a ClusterIP need a route for it before kube-proxy's DNAT
  // rewrites the address; pointing it at the machine's end keeps everything else unrouted.
  ip('-n', n.netns, 'route', 'add', n.serviceCidr, 'via', n.hostIp);
  // Pods' packets are forwarded by the node; bridged pod-to-pod traffic must pass iptables too,
  // or a reply from a Service's backend on the same bridge skips kube-proxy's reverse NAT.
  inNode('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
  inNode('sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=1');
}

export function deleteNodeNetwork(): void {
  if (nodeNetnsExists()) ip('netns', 'delete', NODE_NETWORK.netns);
  // The pair goes with the namespace; a half-made earlier run may have left the machine's end.
  try {
    ip('link', 'delete', NODE_NETWORK.hostVeth);
  } catch {
    // not there: the usual case
  }
}
