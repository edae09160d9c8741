// Site specs that the CRD (API server) and the contract (parseSite) must judge alike; the unit
// test checks the CRD's schema offline, the integration test asks the real API server.

export interface SpecExample {
  what: string;
  spec: Record<string, unknown>;
  /** Accepted by both. */
  valid: boolean;
  /**
   * Only for specs the API server accepts but parseSite rejects: rules a structural schema cannot
   * state. The operator reports these as InvalidSpec on the Site.
   */
  serverOnlyAccepts?: true;
}

export const SPEC_EXAMPLES: readonly SpecExample[] = [
  { what: 'an empty spec', spec: {}, valid: true },
  {
    what: 'every field',
    spec: {
      displayName: 'North Lab',
      zoneNames: ['lobby', 'floor-2'],
      devicesPerZone: 2,
      eventsPerSecond: 0.5,
      sensors: ['co2', 'occupancy'],
      thresholds: { co2: 1200, occupancy: { threshold: 40, severity: 'info' } },
      simulator: {
        image: 'telemetrypulse/simulator:dev',
        resources: { requests: { cpu: '100m', memory: 128 }, limits: { cpu: 1 } },
      },
      paused: true,
    },
    valid: true,
  },
  { what: 'zero zones', spec: { zones: 0 }, valid: false },
  { what: 'too many zones', spec: { zones: 501 }, valid: false },
  { what: 'a fractional zone count', spec: { zones: 1.5 }, valid: false },
  { what: 'zero events per second', spec: { eventsPerSecond: 0 }, valid: false },
  { what: 'more than 50,000 events per second', spec: { eventsPerSecond: 50_001 }, valid: false },
  { what: 'an unknown sensor', spec: { sensors: ['co2', 'pressure'] }, valid: false },
  { what: 'a sensor twice', spec: { sensors: ['co2', 'co2'] }, valid: false },
  { what: 'no sensors', spec: { sensors: [] }, valid: false },
  { what: 'a zone name with capitals', spec: { zoneNames: ['Lobby'] }, valid: false },
  { what: 'a zone name twice', spec: { zoneNames: ['a', 'a'] }, valid: false },
  { what: 'paused as a string', spec: { paused: 'yes' }, valid: false },
  {
    what: 'a display name of 201 characters',
    spec: { displayName: 'x'.repeat(201) },
    valid: false,
  },
  {
    what: 'a malformed cpu quantity',
    spec: { simulator: { resources: { requests: { cpu: 'lots' } } } },
    valid: false,
  },
  { what: 'an empty image', spec: { simulator: { image: '' } }, valid: false },
  {
    what: 'a clear level above its threshold',
    spec: { thresholds: { co2: { threshold: 1000, clear: 1100 } } },
    valid: false,
    serverOnlyAccepts: true,
  },
  {
    what: 'a threshold given as text',
    spec: { thresholds: { co2: 'high' } },
    valid: false,
    serverOnlyAccepts: true,
  },
];
