// The simulator's part of the test kit, imported by other apps' tests and benchmarks as
// `@telemetrypulse/simulator/testing`: the publisher to drive a real load, and the config a
// Deployment's environment must satisfy.
export { startSimulator } from '../src/publisher.ts';
export { loadConfig } from '../src/config.ts';
