// The operator's part of the test kit, imported by other apps' tests as
// `@telemetrypulse/operator/testing`: Site objects on a real API server, and what the operator
// renders for them, to check the chart against.
export * from './integration/kube.ts';
export { loadConfig } from '../src/config.ts';
export { desiredDeployment } from '../src/reconcile/desired.ts';
export { simulatorDefaults } from '../src/operator.ts';
export { sitePolicy } from '../src/operator.ts';
export { simulatorResources } from '../src/reconcile/desired.ts';
export { policyProblem } from '../src/reconcile/policy.ts';
