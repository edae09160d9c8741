import assert from 'node:assert/strict';
import {
  clearSiteSpecs,
  parseSite,
  SITE_API_VERSION,
  SITE_KIND,
  SITES_CHANNEL,
  upsertSites,
} from '@telemetrypulse/shared';
import { createTestDatabase, type TestDatabase } from '@telemetrypulse/devstack/test';

function site(name: string, spec: Record<string, unknown>) {
  return parseSite({ apiVersion: SITE_API_VERSION, kind: SITE_KIND, metadata: { name }, spec });
}

describe('site registry (real PostgreSQL)', () => {
  let db: TestDatabase;
  let notified: number;
  beforeEach(async () => {
    db = await createTestDatabase();
    notified = 0;
    await db.sql.listen(SITES_CHANNEL, () => {
      notified += 1;
    });
  });
  afterEach(async () => {
    await db.drop();
  });

  async function notifications(expected: number): Promise<void> {
    // A notification arrives shortly after the commit; give a missing one the chance to show.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(notified, expected);
  }

  async function specs() {
    return db.sql<{ site_id: string; display_name: string | null; spec: unknown }[]>`
      select site_id, display_name, spec from sites order by site_id`;
  }

  it('when Site specs are upserted, then the registry holds them and processors are notified once', async () => {
    const hq = site('hq', { displayName: 'Headquarters', thresholds: { co2: 1200 } });
    const lab = site('lab', { zones: 2 });
    assert.deepEqual(await upsertSites(db.sql, [lab, hq]), ['hq', 'lab']);
    assert.deepEqual(
      (await specs()).map((r) => [r.site_id, r.display_name, r.spec]),
      [
        ['hq', 'Headquarters', hq.spec],
        ['lab', null, lab.spec],
      ],
    );
    await notifications(1);
  });

  it('when the same specs are upserted again, then nothing changes and no one is notified', async () => {
    const hq = site('hq', { thresholds: { co2: 1200 } });
    await upsertSites(db.sql, [hq]);
    await notifications(1);
    assert.deepEqual(await upsertSites(db.sql, [hq]), []);
    await notifications(1);
    assert.deepEqual(await upsertSites(db.sql, [site('hq', { thresholds: { co2: 1300 } })]), [
      'hq',
    ]);
    await notifications(2);
  });

  it('when a site already reported events, then upserting its spec keeps what the processor recorded', async () => {
    await db.sql`insert into sites (site_id, last_event_at) values ('hq', '2026-01-01T00:00:00Z')`;
    await upsertSites(db.sql, [site('hq', { thresholds: { co2: 1200 } })]);
    const [row] = await db.sql<{ last_event_at: Date }[]>`
      select last_event_at from sites where site_id = 'hq'`;
    assert.equal(row?.last_event_at.toISOString(), '2026-01-01T00:00:00.000Z');
  });

  it('when a Site is gone, then clearing its spec empties it once and notifies', async () => {
    await upsertSites(db.sql, [site('hq', { thresholds: { co2: 1200 } }), site('lab', {})]);
    assert.deepEqual(await clearSiteSpecs(db.sql, ['hq', 'unknown']), ['hq']);
    assert.deepEqual(await clearSiteSpecs(db.sql, ['hq']), []);
    assert.deepEqual((await specs()).find((r) => r.site_id === 'hq')?.spec, {});
    await notifications(2);
  });
});
