import {
  Kind,
  Type,
  TypeRegistry,
  type SchemaOptions,
  type StringOptions,
  type TSchema,
} from '@sinclair/typebox';
import {
  ALERT_SEVERITIES,
  ALERT_STATUSES,
  SENSOR_TYPES,
  TelemetryEventSchema,
} from '@telemetrypulse/shared';

// Ids are what the event contract accepts, so every stored id can be asked for and nothing else.
export const SiteId = TelemetryEventSchema.properties.site_id;
export const ZoneId = TelemetryEventSchema.properties.zone_id;
export const DeviceId = TelemetryEventSchema.properties.device_id;

// A custom kind, so TypeBox's compiler can check it.
if (!TypeRegistry.Has('StringEnum')) {
  TypeRegistry.Set<{ enum: unknown[] }>('StringEnum', (schema, value) =>
    schema.enum.includes(value),
  );
}

/** A plain enum, not a union of literals: one clear error, and a simple OpenAPI schema. */
export function StringEnum<T extends string>(values: readonly T[], options: object = {}) {
  return Type.Unsafe<T>({ [Kind]: 'StringEnum', type: 'string', enum: [...values], ...options });
}

export const SensorType = StringEnum(SENSOR_TYPES);
export const AlertStatus = StringEnum(ALERT_STATUSES);
export const Severity = StringEnum(ALERT_SEVERITIES);

/**
 * Free text from a client, on one line: no control characters. PostgreSQL text cannot hold NUL
 * (it would be a 500 at insert), and none of the others belongs in a name.
 */
export const Text = (options: StringOptions = {}) =>
  Type.String({ pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]*$', ...options });

/** Free text that may run over lines (tab, line feed, carriage return); no other control characters. */
export const MultilineText = (options: StringOptions = {}) =>
  Type.String({
    pattern: '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$',
    ...options,
  });

/** An ISO-8601 instant with an offset, as query parameter or response field. */
export const Timestamp = Type.String({ format: 'date-time', maxLength: 40 });

export const Nullable = <T extends TSchema>(schema: T, options: SchemaOptions = {}) =>
  Type.Union([schema, Type.Null()], options);

/** RFC 9457 problem details, as every error response carries them. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    parameter: Type.Optional(Type.String({ description: 'the query or path parameter at fault' })),
    pointer: Type.Optional(
      Type.String({ description: 'JSON pointer of the body member at fault' }),
    ),
    limit: Type.Optional(
      StringEnum(['ip', 'key'] as const, { description: 'on a 429: the rate limit that was hit' }),
    ),
    request_id: Type.Optional(Type.String({ description: 'the request id of its log lines' })),
  },
  { additionalProperties: true, title: 'Problem' },
);
