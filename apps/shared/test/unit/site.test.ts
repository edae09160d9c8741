import assert from 'node:assert/strict';
import {
  SITE_API_VERSION,
  SITE_KIND,
  deviceId,
  parseSite,
  simulatorEnv,
  zoneIds,
  type SiteSpec,
} from '../../src/contract/site.ts';

function manifest(name: unknown, spec?: unknown): unknown {
  return { apiVersion: SITE_API_VERSION, kind: SITE_KIND, metadata: { name }, spec };
}

function assertRejected(resource: unknown, message: RegExp): void {
  assert.throws(() => parseSite(resource), message);
}

const spec = (overrides: Partial<SiteSpec> = {}): SiteSpec =>
  parseSite(manifest('hq', overrides)).spec;

describe('site', () => {
  describe('parseSite', () => {
    it('when the spec is empty or missing, then the defaults of the original apply', () => {
      for (const resource of [manifest('site-01', {}), manifest('site-01')]) {
        assert.deepEqual(parseSite(resource), {
          siteId: 'site-01',
          spec: {
            zones: 5,
            devicesPerZone: 3,
            eventsPerSecond: 5,
            sensors: ['co2', 'temperature', 'humidity', 'occupancy'],
            paused: false,
          },
        });
      }
    });

    it('when fields are set, then they are kept and the manifest is not modified', () => {
      const resource = manifest('hq', { zones: 2, eventsPerSecond: 0.5, sensors: ['co2'] });
      const before = structuredClone(resource);
      const site = parseSite(resource);
      assert.equal(site.spec.zones, 2);
      assert.equal(site.spec.eventsPerSecond, 0.5);
      assert.deepEqual(site.spec.sensors, ['co2']);
      assert.equal(site.spec.devicesPerZone, 3);
      assert.deepEqual(resource, before);
    });

    it('when the resource is not a Site, then it is rejected', () => {
      for (const resource of [
        { ...(manifest('hq') as object), kind: 'Building' },
        { ...(manifest('hq') as object), apiVersion: 'telemetrypulse.io/v2' },
        {},
      ]) {
        assertRejected(resource, /^Error: not a telemetrypulse\.io\/v1alpha1 Site$/);
      }
    });

    it('when the name is not a DNS label, then the message shows the name', () => {
      for (const name of [
        'Site-01',
        '-site',
        'site-',
        'site_01',
        '',
        'a'.repeat(64),
        7,
        undefined,
      ]) {
        assertRejected(manifest(name), /^Error: Site metadata\.name must be a DNS label, got /);
      }
      assertRejected(manifest('site_01'), /got "site_01"/);
      assert.equal(parseSite(manifest('a'.repeat(63))).siteId, 'a'.repeat(63));
    });

    it('when the spec has several problems, then the message lists each once', () => {
      assert.throws(
        () =>
          parseSite(
            manifest('hq', {
              zones: 0,
              eventsPerSecond: 0,
              sensors: ['co2', 'pressure'],
              paused: 'no',
            }),
          ),
        (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.equal(
            error.message,
            'Site hq: spec.zones must be >= 1; spec.eventsPerSecond must be > 0; ' +
              'spec.sensors.1 must be equal to one of the allowed values: co2, temperature, humidity, occupancy; ' +
              'spec.paused must be boolean',
          );
          return true;
        },
      );
    });

    it('when lists repeat or are empty, then the spec is rejected', () => {
      assertRejected(
        manifest('hq', { sensors: [] }),
        /spec\.sensors must NOT have fewer than 1 items/,
      );
      assertRejected(
        manifest('hq', { sensors: ['co2', 'co2'] }),
        /spec\.sensors must NOT have duplicate items/,
      );
      assertRejected(
        manifest('hq', { zoneNames: ['a', 'a'] }),
        /spec\.zoneNames must NOT have duplicate items/,
      );
      assertRejected(
        manifest('hq', { zoneNames: ['Lobby'] }),
        /spec\.zoneNames\.0 must match pattern/,
      );
    });
  });

  describe('simulator overrides', () => {
    it('when image and resources are set, then they are kept; quantities may be numbers or strings', () => {
      const simulator = {
        image: 'telemetrypulse/simulator:dev',
        resources: { requests: { cpu: '100m', memory: 134_217_728 }, limits: { cpu: 1 } },
      };
      assert.deepEqual(spec({ simulator }).simulator, simulator);
    });

    it('when a quantity or the image is malformed, then the spec is rejected naming the field', () => {
      assertRejected(
        manifest('hq', { simulator: { resources: { limits: { memory: '1 GB' } } } }),
        /spec\.simulator\.resources\.limits\.memory must match pattern/,
      );
      assertRejected(
        manifest('hq', { simulator: { image: '' } }),
        /spec\.simulator\.image must NOT have fewer than 1 characters/,
      );
    });
  });

  it('when a long site name and long zone names make device ids too long for events, then the Site is rejected', () => {
    const zone = 'z'.repeat(63);
    assertRejected(
      manifest('a'.repeat(63), { zoneNames: [zone], devicesPerZone: 10 }),
      /spec\.zoneNames make device ids longer than 128 characters/,
    );
    assert.equal(
      parseSite(manifest('a'.repeat(40), { zoneNames: [zone] })).spec.zoneNames?.[0],
      zone,
    );
  });

  describe('zoneIds', () => {
    it('when only a count is given, then zones are numbered zone-01, zone-02, …', () => {
      assert.deepEqual(zoneIds(spec({ zones: 3 })), ['zone-01', 'zone-02', 'zone-03']);
      assert.equal(zoneIds(spec({ zones: 120 }))[119], 'zone-120');
    });

    it('when zone names are given, then they are used as they are and the count is ignored', () => {
      const site = spec({ zones: 9, zoneNames: ['lobby', 'floor-2'] });
      assert.deepEqual(zoneIds(site), ['lobby', 'floor-2']);
    });
  });

  describe('deviceId', () => {
    it('when a device index is given, then the id has the original format with a 1-based number', () => {
      assert.equal(deviceId('site-01', 'zone-03', 1), 'site-01-zone-03-dev-02');
      assert.equal(deviceId('site-01', 'zone-03', 0), 'site-01-zone-03-dev-01');
      assert.equal(deviceId('hq', 'lobby', 99), 'hq-lobby-dev-100');
    });
  });

  describe('simulatorEnv', () => {
    it('when a site is given, then it becomes the simulator variables', () => {
      const site = parseSite(
        manifest('hq', {
          zoneNames: ['lobby', 'floor-2'],
          devicesPerZone: 4,
          eventsPerSecond: 2.5,
          sensors: ['co2', 'occupancy'],
        }),
      );
      assert.deepEqual(simulatorEnv(site), {
        SITE_ID: 'hq',
        SITE_ZONES: 'lobby,floor-2',
        DEVICES_PER_ZONE: '4',
        EVENTS_PER_SECOND: '2.5',
        SENSORS: 'co2,occupancy',
      });
    });

    it('when the site has defaults only, then the simulator gets the original 5 zones x 3 devices at 5/s', () => {
      assert.deepEqual(simulatorEnv(parseSite(manifest('site-01'))), {
        SITE_ID: 'site-01',
        SITE_ZONES: 'zone-01,zone-02,zone-03,zone-04,zone-05',
        DEVICES_PER_ZONE: '3',
        EVENTS_PER_SECOND: '5',
        SENSORS: 'co2,temperature,humidity,occupancy',
      });
    });
  });
});
