// The publishing loop against a stand-in producer: counts, batching, retries and stopping.
// Delivery to a real broker is the integration tests' job.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { Partitioners, type PartitionMetadata, type Producer, type ProducerRecord } from 'kafkajs';
import { Registry } from 'prom-client';
import {
  SENSOR_TYPES,
  createLogger,
  validateEvent,
  type TelemetryEvent,
} from '@telemetrypulse/shared';
import {
  keyPartitioner,
  murmur2,
  startSimulator,
  type SimulatorOptions,
} from '../../src/publisher.ts';

interface FakeProducer {
  records: ProducerRecord[];
  connected: boolean;
  inFlight: number;
  maxInFlight: number;
  /** Sends that fail before any succeeds. */
  failures: number;
  sendDelayMs: number;
}

function fakeKafka(fake: FakeProducer): SimulatorOptions['kafka'] {
  const producer = {
    connect: () => {
      fake.connected = true;
      return Promise.resolve();
    },
    disconnect: () => {
      fake.connected = false;
      return Promise.resolve();
    },
    send: async (record: ProducerRecord) => {
      fake.inFlight++;
      fake.maxInFlight = Math.max(fake.maxInFlight, fake.inFlight);
      try {
        if (fake.sendDelayMs > 0) await delay(fake.sendDelayMs);
        if (fake.failures > 0) {
          fake.failures--;
          throw new Error('broker not available');
        }
        fake.records.push(record);
        return [];
      } finally {
        fake.inFlight--;
      }
    },
  };
  return { producer: () => producer as unknown as Producer };
}

function newFake(overrides: Partial<FakeProducer> = {}): FakeProducer {
  return {
    records: [],
    connected: false,
    inFlight: 0,
    maxInFlight: 0,
    failures: 0,
    sendDelayMs: 0,
    ...overrides,
  };
}

function options(fake: FakeProducer, registry = new Registry()): SimulatorOptions {
  return {
    kafka: fakeKafka(fake),
    topic: 'test.events',
    site: {
      siteId: 'site-07',
      zones: ['zone-01', 'zone-02'],
      devicesPerZone: 2,
      sensors: [...SENSOR_TYPES],
      anomalyRate: 0.05,
      seed: 1,
    },
    eventsPerSecond: 20_000,
    logger: createLogger('simulator-test', 'silent'),
    registry,
    retryDelayMs: 10,
  };
}

function sentEvents(fake: FakeProducer): { key: string; event: TelemetryEvent }[] {
  return fake.records.flatMap((r) =>
    r.messages.map((m) => ({
      key: String(m.key),
      event: JSON.parse(String(m.value)) as TelemetryEvent,
    })),
  );
}

async function counterTotal(registry: Registry, name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

describe('publisher', () => {
  describe('when asked for exactly 2,500 events', () => {
    const fake = newFake();
    const registry = new Registry();
    let stats: { sent: number; dropped: number };
    before(async () => {
      const simulator = await startSimulator({ ...options(fake, registry), maxEvents: 2500 });
      stats = await simulator.done;
    });

    it('then exactly 2,500 valid events reach the topic, keyed by device id', () => {
      const events = sentEvents(fake);
      assert.equal(events.length, 2500);
      assert.deepEqual(stats, { sent: 2500, dropped: 0 });
      for (const { key, event } of events) {
        assert.equal(key, event.device_id);
        assert.ok(validateEvent(event).ok, JSON.stringify(event));
      }
      assert.equal(new Set(events.map((e) => e.event.event_id)).size, 2500);
    });

    it('then every send waits for all replicas and carries a batch', () => {
      assert.ok(fake.records.every((r) => r.topic === 'test.events' && r.acks === -1));
      assert.ok(fake.records.length < 2500 / 5, `${fake.records.length} sends for 2500 events`);
    });

    it('then the producer is disconnected when the run is done', () => {
      assert.equal(fake.connected, false);
    });

    it('then the produced-events counter adds up to what was sent, per sensor', async () => {
      assert.equal(await counterTotal(registry, 'telemetry_simulator_events_produced_total'), 2500);
      const metric = await registry
        .getSingleMetric('telemetry_simulator_events_produced_total')
        ?.get();
      const co2 = metric?.values.find((v) => v.labels.sensor_type === 'co2');
      assert.equal(co2?.labels.site_id, 'site-07');
      assert.equal(co2.value, 625);
      const rate = await registry
        .getSingleMetric('telemetry_simulator_configured_rate_events_per_second')
        ?.get();
      assert.equal(rate?.values[0]?.value, 20_000);
    });
  });

  describe('when sends fail for a while', () => {
    it('then they are retried with the same events and the failures are counted', async () => {
      const fake = newFake({ failures: 3 });
      const registry = new Registry();
      const simulator = await startSimulator({
        ...options(fake, registry),
        eventsPerSecond: 1000,
        maxEvents: 50,
        maxInFlight: 1,
      });
      assert.deepEqual(await simulator.done, { sent: 50, dropped: 0 });
      const events = sentEvents(fake);
      assert.equal(events.length, 50);
      assert.equal(new Set(events.map((e) => e.event.event_id)).size, 50);
      assert.equal(await counterTotal(registry, 'telemetry_simulator_send_errors_total'), 3);
    });
  });

  describe('when sends are slow', () => {
    it('then no more than the allowed number are in flight at once', async () => {
      const fake = newFake({ sendDelayMs: 5 });
      const simulator = await startSimulator({
        ...options(fake),
        maxEvents: 3000,
        maxInFlight: 3,
        maxBatch: 50,
      });
      assert.equal((await simulator.done).sent, 3000);
      assert.ok(fake.maxInFlight <= 3, `${fake.maxInFlight} sends in flight`);
      assert.ok(fake.records.every((r) => r.messages.length <= 50));
    });
  });

  describe('when stopped while running', () => {
    it('then sends in flight finish, nothing more is sent, and the producer disconnects', async () => {
      const fake = newFake({ sendDelayMs: 20 });
      const simulator = await startSimulator({ ...options(fake), eventsPerSecond: 2000 });
      assert.equal(simulator.isReady(), true);
      await delay(100);
      const stats = await simulator.stop();
      assert.equal(stats.sent, sentEvents(fake).length);
      assert.ok(stats.sent > 0);
      assert.equal(fake.inFlight, 0);
      assert.equal(fake.connected, false);
      assert.equal(simulator.isReady(), false);
      await delay(50);
      assert.equal(sentEvents(fake).length, stats.sent, 'something was sent after stop');
      assert.deepEqual(await simulator.stop(), stats, 'a second stop changes nothing');
    });
  });

  describe('when stopped while a send keeps failing', () => {
    it('then its events are reported as dropped and the stop still completes', async () => {
      const fake = newFake({ failures: Number.POSITIVE_INFINITY });
      const simulator = await startSimulator({ ...options(fake), eventsPerSecond: 100 });
      await delay(50);
      assert.equal(simulator.isReady(), false);
      const stats = await simulator.stop();
      assert.equal(stats.sent, 0);
      assert.ok(stats.dropped > 0);
      assert.equal(fake.connected, false);
    });
  });

  describe('when messages are partitioned by key', () => {
    const partitions = (n: number): PartitionMetadata[] =>
      Array.from({ length: n }, (_, i) => ({
        partitionId: i,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      }));

    it("then murmur2 gives Java's values (Kafka's UtilsTest cases)", () => {
      const cases: [string, number][] = [
        ['21', -973932308],
        ['foobar', -790332482],
        ['a-little-bit-long-string', -985981536],
        ['a-little-bit-longer-string', -1486304829],
        ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
        ['abc', 479470107],
      ];
      for (const [key, hash] of cases) assert.equal(murmur2(Buffer.from(key)), hash, key);
    });

    it("then every key lands where kafkajs's DefaultPartitioner puts it, also when asked twice", () => {
      const theirs = Partitioners.DefaultPartitioner();
      const ours = keyPartitioner();
      for (let i = 0; i < 5000; i++) {
        const key =
          i % 2 === 0
            ? `site-${i % 97}-zone-${i % 13}-dev-${i}`
            : Buffer.from([i & 255, i >> 8, 7]);
        const args = {
          topic: 't',
          partitionMetadata: partitions(1 + (i % 24)),
          message: { key, value: 'v' },
        };
        const expected = theirs(args);
        assert.equal(ours(args), expected, String(key));
        assert.equal(ours(args), expected, `${String(key)} from the cache`);
      }
    });

    it('then an explicit partition wins', () => {
      const ours = keyPartitioner();
      const message = { key: 'k', value: 'v', partition: 5 };
      assert.equal(ours({ topic: 't', partitionMetadata: partitions(12), message }), 5);
    });
  });
});
