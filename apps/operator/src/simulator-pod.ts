// The pod settings every simulator gets (SIMULATOR_POD, from the chart's simulator.pod* values):
// the keys users set on each of the chart's own Deployments, for the Deployments the operator makes.
import { Type } from '@sinclair/typebox';
import type { V1Affinity, V1Toleration, V1TopologySpreadConstraint } from '@kubernetes/client-node';
import { ConfigError } from '@telemetrypulse/shared';
import { createJsonSchemaValidator } from '@telemetrypulse/shared/json-schema';

export interface SimulatorPodSettings {
  /** Next to the operator's own, which win a clash (its selector must keep matching). */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  priorityClassName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  affinity?: V1Affinity;
  /** An entry without labelSelector counts all simulators. */
  topologySpreadConstraints?: V1TopologySpreadConstraint[];
}

const Strings = Type.Record(Type.String(), Type.String());
const AnyObject = Type.Object({}, { additionalProperties: true });
const SimulatorPodSchema = Type.Object(
  {
    labels: Type.Optional(Strings),
    annotations: Type.Optional(Strings),
    priorityClassName: Type.Optional(Type.String()),
    nodeSelector: Type.Optional(Strings),
    tolerations: Type.Optional(Type.Array(AnyObject)),
    affinity: Type.Optional(AnyObject),
    topologySpreadConstraints: Type.Optional(
      Type.Array(
        Type.Object(
          { maxSkew: Type.Integer(), topologyKey: Type.String(), whenUnsatisfiable: Type.String() },
          { additionalProperties: true },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

const validate = createJsonSchemaValidator().compile(SimulatorPodSchema);

/** SIMULATOR_POD's JSON, checked; a ConfigError names what is wrong and where. */
export function parseSimulatorPod(text: string): SimulatorPodSettings {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `invalid configuration:\n  SIMULATOR_POD is not JSON: ${(error as Error).message}`,
    );
  }
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map(
      (e) => `SIMULATOR_POD${e.instancePath} ${e.message ?? 'is invalid'}`,
    );
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return value;
}
