// The test kit every app's tests and benchmarks share, imported as `@telemetrypulse/devstack/test`:
// real servers on free loopback ports, per-test databases and topics, event builders and the
// invariants of stored data. The Kubernetes testbed is `@telemetrypulse/devstack/test/kube`, so
// suites that do not need it do not load the Kubernetes client.
export * from './database.ts';
export * from './events.ts';
export * from './fixture.ts';
export * from './invariants.ts';
export * from './kafka.ts';
export * from './platform.ts';
export * from './tracing.ts';
export * from './wait.ts';
export { startChild, type Child } from '../child.ts';
export { NODE_COMPILE_CACHE_DIR } from '../paths.ts';
export { startKafkaBroker, type KafkaBroker } from '../kafka-broker.ts';
export { freePort, freePorts, StopWaiting, waitFor } from '../ports.ts';
export { startPostgresServer, type PostgresServer } from '../postgres-server.ts';
export * from './startup.ts';
