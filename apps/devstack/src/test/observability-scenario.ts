// What makes every dashboard series exist: readings that exercise the processor's counters (a
// dead letter, an out-of-range and a late reading, a CO2 alert that opens and stays open, one that
// opens and resolves) and requests that give the API's histograms routes, statuses and an
// ingest. Used against local processes (test/integration/observability) and the real node.
import assert from 'node:assert/strict';
import { deviceId, type TelemetryEvent } from '@telemetrypulse/shared';
import { Kafka, logLevel } from 'kafkajs';
import { telemetryEvent } from './events.ts';

export interface ScenarioMessage {
  key: string;
  value: string;
}

/** Two batches, sent in this order: the second resolves the alert the first opened on zone-91. */
export function scenarioBatches(site: string, now = Date.now()): ScenarioMessage[][] {
  const event = (
    zone: string,
    sensor: TelemetryEvent['sensor_type'],
    value: number,
    agoMs: number,
  ) => ({
    key: deviceId(site, zone, 0),
    value: JSON.stringify(
      telemetryEvent({
        site_id: site,
        zone_id: zone,
        sensor_type: sensor,
        value,
        ts_event: new Date(now - agoMs).toISOString(),
      }),
    ),
  });
  return [
    [
      { key: 'bad', value: 'not json at all' },
      event('zone-01', 'humidity', 150, 1000), // out of range
      event('zone-02', 'temperature', 21, 15 * 60_000), // late
      event('zone-90', 'co2', 1500, 3000), // opens CO2_HIGH and stays open
      event('zone-91', 'co2', 1500, 3000), // opens CO2_HIGH ...
    ],
    [event('zone-91', 'co2', 500, 1000)], // ... resolves it
  ];
}

/** Sends scenarioBatches(site) to `topic`, each batch acknowledged by every replica. */
export async function produceScenario(kafka: Kafka, topic: string, site: string): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (const messages of scenarioBatches(site))
      await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** A client of the brokers at `brokers` ("host:port,…") that logs nothing. */
export function quietKafka(brokers: string): Kafka {
  return new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING });
}

/** Requests that give the API's histograms routes, statuses (a 404 too) and an ingest. */
export async function exerciseApi(url: string, apiKey: string, site: string): Promise<void> {
  for (const route of [
    '/health',
    '/kpis/live',
    '/api/v1/sites',
    '/api/v1/alerts',
    '/no/such/route',
  ]) {
    await (await fetch(url + route)).arrayBuffer();
  }
  const ingest = await fetch(`${url}/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({
      device_id: deviceId(site, 'zone-01', 1),
      site_id: site,
      zone_id: 'zone-01',
      sensor_type: 'temperature',
      value: 22.5,
    }),
  });
  assert.equal(ingest.status, 201, await ingest.text());
}
