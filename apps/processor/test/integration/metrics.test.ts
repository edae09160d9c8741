// The processor's /metrics, read from the real program on the suite's Kafka and PostgreSQL: the
// building gauges, the consumer lag, dead letters by reason and the transaction histogram.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TelemetryEvent } from '@telemetrypulse/shared';
import {
  createTestDatabase,
  createTestTopics,
  freePort,
  groupCaughtUp,
  produceEvents,
  telemetryEvent,
  testBrokers,
  type TestDatabase,
  testKafka,
  type TestTopics,
  waitUntil,
} from '@telemetrypulse/devstack/test';
import { spawnProcessor, type ProcessorProcess } from '../processor-process.ts';

const SITE = 'site-metrics';

/**
 * `name{labels} value` lines of a Prometheus text exposition, by series, without the registry's
 * default `service` label.
 */
function parseMetrics(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const name = line
      .slice(0, space)
      .replace(/,?service="[^"]*"/, '')
      .replace('{,', '{')
      .replace('{}', '');
    series.set(name, Number(line.slice(space + 1)));
  }
  return series;
}

function event(zone: string, sensor: string, value: number, tsMs: number): TelemetryEvent {
  return telemetryEvent({
    site_id: SITE,
    zone_id: zone,
    sensor_type: sensor as TelemetryEvent['sensor_type'],
    value,
    ts_event: new Date(tsMs).toISOString(),
  });
}

describe('processor /metrics (real processor, Kafka and PostgreSQL)', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let processor: ProcessorProcess | undefined;
  let metricsUrl: string;
  const groupId = `metrics-${randomUUID()}`;

  before(async function () {
    this.timeout(120_000);
    db = await createTestDatabase();
    topics = await createTestTopics(3);
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    processor = spawnProcessor({
      brokers: testBrokers(),
      databaseUrl: db.url,
      topics,
      groupId,
      env: { HTTP_PORT: String(port), BUILDING_METRICS_REFRESH_SECONDS: '1' },
    });
  });

  after(async function () {
    this.timeout(60_000);
    if (processor) {
      processor.child.kill('SIGTERM');
      await processor.exited;
    }
    await db.drop();
  });

  const scrape = async (): Promise<Map<string, number>> => {
    try {
      const response = await fetch(metricsUrl);
      return parseMetrics(await response.text());
    } catch {
      return new Map(); // not listening yet
    }
  };

  it('when events are processed, then the zone, alert and last-event gauges, the lag, dead letters by reason and transaction times show them', async function () {
    this.timeout(120_000);
    // Readings inside the current 5-minute window, so each zone's newest window holds them all.
    const windowStart = Math.floor(Date.now() / 300_000) * 300_000;
    const newest = windowStart + 3;
    await produceEvents(topics.events, [
      event('zone-01', 'co2', 500, windowStart + 1),
      event('zone-01', 'co2', 700, windowStart + 2),
      event('zone-01', 'temperature', 21.5, windowStart + 2),
      event('zone-01', 'humidity', 40, windowStart + 2),
      event('zone-01', 'occupancy', 4, windowStart + 2),
      event('zone-02', 'co2', 1500, newest), // opens CO2_HIGH
    ]);
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({ topic: topics.events, acks: -1, messages: [{ value: 'not json' }] });
    await producer.disconnect();
    await waitUntil('the group caught up', () => groupCaughtUp(groupId, topics.events), 90_000);

    const expected: Record<string, number> = {
      [`telemetry_zone_co2_ppm{site_id="${SITE}",zone_id="zone-01"}`]: 600,
      [`telemetry_zone_co2_ppm{site_id="${SITE}",zone_id="zone-02"}`]: 1500,
      [`telemetry_zone_temperature_celsius{site_id="${SITE}",zone_id="zone-01"}`]: 21.5,
      [`telemetry_zone_humidity_percent{site_id="${SITE}",zone_id="zone-01"}`]: 40,
      [`telemetry_zone_occupancy{site_id="${SITE}",zone_id="zone-01"}`]: 4,
      [`telemetry_site_alerts_open{site_id="${SITE}",alert_type="CO2_HIGH"}`]: 1,
      [`telemetry_site_alerts_open{site_id="${SITE}",alert_type="TEMPERATURE_HIGH"}`]: 0,
      [`telemetry_site_alerts_open{site_id="${SITE}",alert_type="HUMIDITY_HIGH"}`]: 0,
      [`telemetry_site_last_event_timestamp_seconds{site_id="${SITE}"}`]: newest / 1000,
      [`telemetry_processor_dlq_messages_total{reason="malformed_json"}`]: 1,
      ...Object.fromEntries(
        [0, 1, 2].map((p) => [
          `telemetry_processor_consumer_lag_messages{topic="${topics.events}",partition="${p}"}`,
          0,
        ]),
      ),
    };
    let series = new Map<string, number>();
    const differences = () =>
      Object.entries(expected)
        .filter(([name, value]) => {
          const seen = series.get(name);
          return seen === undefined || Math.abs(seen - value) > 1e-6;
        })
        .map(([name, value]) => `${name}: expected ${value}, got ${series.get(name)}`);
    await waitUntil(
      'the gauges show the processed events',
      async () => {
        series = await scrape();
        return differences().length === 0;
      },
      60_000,
    ).catch(() => undefined);
    assert.deepEqual(
      differences(),
      [],
      [...series.keys()].filter((k) => k.startsWith('telemetry_')).join('\n'),
    );

    const transactions = [...series].find(([name]) =>
      name.startsWith('telemetry_processor_db_transaction_duration_seconds_count'),
    );
    assert.ok(transactions && transactions[1] >= 1, 'a committed transaction was timed');
  });
});
