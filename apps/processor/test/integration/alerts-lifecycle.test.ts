// Alert lifecycle on the real Kafka + PostgreSQL: hysteresis, "for" durations, per-site rules that
// change while the processor runs, the alerts topic (through the outbox), restarts, redelivery.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  parseSite,
  SITE_API_VERSION,
  SITE_KIND,
  upsertSites,
  type TelemetryAlertRow,
  type TelemetryEvent,
} from '@telemetrypulse/shared';
import {
  groupCaughtUp,
  produceEvents,
  type TestDatabase,
  usePipelineFixture,
  waitUntil,
} from '@telemetrypulse/devstack/test';
import { outboxSize, publishedAlerts, startTestProcessor, type TestProcessor } from '../support.ts';

const SITE = 'site-lc';
const START_MS = Date.now() - 30 * 60_000;

const at = (second: number) => new Date(START_MS + second * 1000).toISOString();

/** co2 readings of one zone's device, as [second after the start, value]. */
function co2(zoneId: string, points: readonly (readonly [number, number])[], siteId = SITE) {
  return points.map(([second, value]): TelemetryEvent => ({
    event_id: randomUUID(),
    device_id: `${siteId}-${zoneId}-dev-01`,
    site_id: siteId,
    zone_id: zoneId,
    sensor_type: 'co2',
    value,
    ts_event: at(second),
  }));
}

function site(thresholds: unknown) {
  return parseSite({
    apiVersion: SITE_API_VERSION,
    kind: SITE_KIND,
    metadata: { name: SITE },
    spec: { thresholds },
  });
}

async function alerts(db: TestDatabase): Promise<TelemetryAlertRow[]> {
  return [...(await db.sql<TelemetryAlertRow[]>`select * from telemetry_alerts order by alert_id`)];
}

/** One alert row as the assertions compare it: times as seconds after the start. */
function summary(a: TelemetryAlertRow) {
  const sec = (d: Date | null) => (d ? (d.getTime() - START_MS) / 1000 : null);
  return {
    zone: a.zone_id,
    status: a.status,
    threshold: a.threshold,
    clear: a.clear_threshold,
    value: a.value,
    peak: a.peak_value,
    count: a.event_count,
    since: sec(a.condition_since),
    triggered: sec(a.triggered_at),
    lastSeen: sec(a.last_seen_at),
    resolved: sec(a.resolved_at),
  };
}

describe('processor alert lifecycle (real Kafka + PostgreSQL)', () => {
  const fx = usePipelineFixture();

  async function start(groupId: string): Promise<TestProcessor> {
    const processor = await startTestProcessor(fx.db, fx.topics, groupId);
    fx.processors.push(processor);
    return processor;
  }

  async function stop(processor: TestProcessor): Promise<void> {
    fx.processors.splice(fx.processors.indexOf(processor), 1);
    await processor.stop();
  }

  async function publishAndWait(events: readonly TelemetryEvent[], groupId: string) {
    await produceEvents(fx.topics.events, events);
    await waitUntil('the batch is stored and committed', () =>
      groupCaughtUp(groupId, fx.topics.events),
    );
  }

  /** Once the outbox is empty: the transitions on the alerts topic, each once. */
  async function published() {
    await waitUntil('the outbox is empty', async () => (await outboxSize(fx.db)) === 0);
    return publishedAlerts(fx.topics.alerts);
  }

  it('when co2 dips below the threshold but not to the clear level, then the incident stays open, and it resolves at 900 ppm', async () => {
    const group = `g-${randomUUID()}`;
    await start(group);
    await publishAndWait(
      co2('zone-01', [
        [0, 1100],
        [10, 950],
        [20, 1000],
        [30, 1050],
        [40, 920],
        [50, 900],
        [60, 980],
      ]),
      group,
    );

    assert.deepEqual((await alerts(fx.db)).map(summary), [
      {
        zone: 'zone-01',
        status: 'resolved',
        threshold: 1000,
        clear: 900,
        value: 920,
        peak: 1100,
        count: 5,
        since: 0,
        triggered: 0,
        lastSeen: 40,
        resolved: 50,
      },
    ]);
  });

  it('when a site says co2 must stay high for 30 s, then a shorter excursion opens nothing, a longer one opens once, its open and resolve reach the alerts topic, and a redelivery adds nothing', async () => {
    await upsertSites(fx.db.sql, [site({ co2: { forSeconds: 30, severity: 'critical' } })]);
    const group = `g-${randomUUID()}`;
    await start(group);
    const events = co2('zone-01', [
      [0, 1100],
      [10, 1200],
      [20, 700], // 20 s above: the wait is cancelled
      [30, 1100],
      [40, 1150],
      [50, 1200],
      [60, 1300], // 30 s above: opens
      [70, 1250],
      [80, 800], // resolves
    ]);
    await publishAndWait(events, group);

    const rows = await alerts(fx.db);
    assert.deepEqual(rows.map(summary), [
      {
        zone: 'zone-01',
        status: 'resolved',
        threshold: 1000,
        clear: 900,
        value: 1250,
        peak: 1300,
        count: 2,
        since: 30,
        triggered: 60,
        lastSeen: 70,
        resolved: 80,
      },
    ]);
    const [row] = rows;
    assert.ok(row);
    assert.equal(row.severity, 'critical');

    // Keyed by the incident, so its records share a partition.
    const transitions = await published();
    assert.deepEqual(
      transitions.map((t) => [t.key, t.alert.transition]),
      [
        [String(row.alert_id), 'opened'],
        [String(row.alert_id), 'resolved'],
      ],
    );
    const [opened, resolved] = transitions.map((t) => t.alert);
    assert.deepEqual(opened, {
      alert_id: row.alert_id,
      transition: 'opened',
      version: 1,
      transition_at: at(60),
      status: 'open',
      site_id: SITE,
      zone_id: 'zone-01',
      sensor_type: 'co2',
      alert_type: 'CO2_HIGH',
      severity: 'critical',
      threshold: 1000,
      clear_threshold: 900,
      value: 1300,
      peak_value: 1300,
      event_count: 1,
      condition_since: at(30),
      triggered_at: at(60),
      last_seen_at: at(60),
      resolved_at: null,
    });
    assert.deepEqual(
      [resolved?.alert_id, resolved?.transition, resolved?.status, resolved?.peak_value],
      [row.alert_id, 'resolved', 'resolved', 1300],
    );
    assert.equal(resolved?.resolved_at, at(80));
    assert.deepEqual(
      [
        (resolved as { version?: number }).version,
        (resolved as { transition_at?: string }).transition_at,
      ],
      [2, at(80)],
    );

    // Every event again, through a second group: nothing opens twice, no new transition.
    const again = `g-${randomUUID()}`;
    await start(again);
    await waitUntil('the redelivery is committed', () => groupCaughtUp(again, fx.topics.events));
    assert.deepEqual(await alerts(fx.db), rows);
    assert.deepEqual(await published(), transitions);
  });

  it('when a site threshold is changed while the processor runs, then the next readings are judged by it, and other sites keep the default', async () => {
    const group = `g-${randomUUID()}`;
    const processor = await start(group);
    await publishAndWait(co2('zone-01', [[0, 1100]]), group);

    const changed = await upsertSites(fx.db.sql, [site({ co2: 1200 })]);
    assert.deepEqual(changed, [SITE]);
    await waitUntil('the processor has the site threshold', () =>
      Promise.resolve(processor.siteRules.forSite(SITE).get('co2')?.threshold === 1200),
    );
    await publishAndWait(
      [
        ...co2('zone-02', [
          [10, 1150],
          [20, 1250],
        ]),
        ...co2('zone-02', [[20, 1150]], 'site-other'),
      ],
      group,
    );

    const rows = (await alerts(fx.db)).map((a) => [
      a.site_id,
      a.zone_id,
      a.threshold,
      a.clear_threshold,
      (a.triggered_at.getTime() - START_MS) / 1000,
    ]);
    assert.deepEqual(
      rows.sort((a, b) => String(a).localeCompare(String(b))),
      [
        ['site-lc', 'zone-01', 1000, 900, 0],
        ['site-lc', 'zone-02', 1200, 1100, 20],
        ['site-other', 'zone-02', 1000, 900, 20],
      ],
    );

    // The same spec again changes nothing and notifies no one.
    assert.deepEqual(await upsertSites(fx.db.sql, [site({ co2: 1200 })]), []);
  });

  it('when the processor restarts while a rule waits and again while the incident is open, then the wait and the incident carry on as one', async () => {
    await upsertSites(fx.db.sql, [site({ co2: { forSeconds: 30 } })]);
    const group = `g-${randomUUID()}`;

    const first = await start(group);
    await publishAndWait(
      co2('zone-01', [
        [0, 1100],
        [10, 1200],
      ]),
      group,
    );
    assert.deepEqual(await alerts(fx.db), []);
    const [waiting] = await fx.db.sql<{ pending_since: Date | null }[]>`
      select pending_since from alert_watermarks where site_id = ${SITE}`;
    assert.equal(waiting?.pending_since?.toISOString(), at(0));
    await stop(first);

    const second = await start(group);
    await publishAndWait(
      co2('zone-01', [
        [20, 1250],
        [30, 1300],
      ]),
      group,
    );
    assert.deepEqual(
      (await alerts(fx.db)).map((a) => [a.status, summary(a).since, summary(a).triggered]),
      [['open', 0, 30]],
    );
    await stop(second);

    await start(group);
    await publishAndWait(
      co2('zone-01', [
        [40, 1500],
        [50, 850],
      ]),
      group,
    );
    const rows = await alerts(fx.db);
    assert.deepEqual(rows.map(summary), [
      {
        zone: 'zone-01',
        status: 'resolved',
        threshold: 1000,
        clear: 900,
        value: 1500,
        peak: 1500,
        count: 2,
        since: 0,
        triggered: 30,
        lastSeen: 40,
        resolved: 50,
      },
    ]);
    assert.deepEqual(
      (await published()).map((t) => [t.alert.alert_id, t.alert.transition]),
      [
        [rows[0]?.alert_id, 'opened'],
        [rows[0]?.alert_id, 'resolved'],
      ],
    );
  });
});
