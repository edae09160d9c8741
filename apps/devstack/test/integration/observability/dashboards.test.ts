// The chart's Grafana dashboards are dashboards Grafana can provision: a schema version, unique
// ids, every query on the data source the user picks.
import assert from 'node:assert/strict';
import {
  loadDashboards,
  panelQueries,
  ruleMeasurements,
  substitute,
} from '../../../src/prometheus/queries.ts';

const DATASOURCE_UID = '${datasource}';

describe('Grafana dashboards in the chart', () => {
  const dashboards = loadDashboards();

  it('then there are the Pipeline, Buildings, API and Operator dashboards, with unique uids', () => {
    assert.deepEqual(
      dashboards.map((d) => d.file),
      ['api.json', 'buildings.json', 'operator.json', 'pipeline.json'],
    );
    const uids = dashboards.map((d) => d.dashboard.uid);
    assert.ok(uids.every((u) => typeof u === 'string' && u.length > 0 && u.length <= 40));
    assert.equal(new Set(uids).size, uids.length);
  });

  for (const { file, dashboard } of dashboards) {
    describe(file, () => {
      const panels = dashboard.panels ?? [];
      const variables = dashboard.templating?.list ?? [];

      it('then it has a title and a current schema version', () => {
        assert.ok(dashboard.title);
        assert.equal(typeof dashboard.schemaVersion, 'number');
        assert.ok(
          (dashboard.schemaVersion as number) >= 36,
          `schemaVersion ${String(dashboard.schemaVersion)}`,
        );
      });

      it('then panel ids are unique positive integers and panels lie on the 24-column grid', () => {
        assert.ok(panels.length > 0);
        const ids = panels.map((p) => p.id);
        assert.ok(
          ids.every((id) => Number.isInteger(id) && (id as number) > 0),
          String(ids),
        );
        assert.equal(new Set(ids).size, ids.length);
        for (const p of panels) {
          const g = p.gridPos;
          assert.ok(
            g && g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24,
            `${p.title ?? '?'}: ${JSON.stringify(g)}`,
          );
        }
      });

      it('then it has a Prometheus data source variable that every panel and query uses', () => {
        const ds = variables.find((v) => v.type === 'datasource');
        assert.equal(ds?.name, 'datasource');
        assert.equal(ds.query, 'prometheus');
        for (const p of panels) {
          assert.deepEqual(p.datasource, { type: 'prometheus', uid: DATASOURCE_UID }, p.title);
          for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, DATASOURCE_UID, p.title);
        }
        for (const v of variables.filter((x) => x.type === 'query')) {
          assert.equal(v.datasource?.uid, DATASOURCE_UID, v.name);
        }
      });

      it('then every panel has queries with distinct refIds and only known variables', () => {
        const names = Object.fromEntries(variables.map((v) => [v.name ?? '', 'x']));
        for (const p of panels) {
          const targets = p.targets ?? [];
          assert.ok(targets.length > 0, `${p.title ?? '?'} has no query`);
          const refIds = targets.map((t) => t.refId);
          assert.equal(new Set(refIds).size, refIds.length, p.title);
          for (const t of targets) {
            assert.ok(t.expr && t.expr.trim() !== '', `${p.title ?? '?'} ${t.refId ?? '?'}`);
            assert.doesNotThrow(() => substitute(t.expr ?? '', names));
          }
        }
      });
    });
  }

  it('then panel queries exist at all (the Prometheus check runs each of them)', () => {
    assert.ok(panelQueries(dashboards).length >= 40);
  });
});

describe('alert rule measurements', () => {
  it('when rules compare, combine or test absence, then the measured expressions are what remains', () => {
    assert.deepEqual(
      ruleMeasurements('sum by (topic) (lag) > 1000\nand\nsum by (topic) (delta(lag[10m])) > 0'),
      ['sum by (topic) (lag)', 'sum by (topic) (delta(lag[10m]))'],
    );
    assert.deepEqual(ruleMeasurements('absent(up{job="a"})'), ['up{job="a"}']);
    assert.deepEqual(ruleMeasurements('time() - max by (s) (ts) > 600'), [
      'time() - max by (s) (ts)',
    ]);
    // Operators inside brackets and label matchers are not top-level.
    assert.deepEqual(
      ruleMeasurements(
        'histogram_quantile(0.95, sum by (le) (rate(x{a!="b"}[5m]) and on (job) y)) >= 0.5',
      ),
      ['histogram_quantile(0.95, sum by (le) (rate(x{a!="b"}[5m]) and on (job) y))'],
    );
  });
});
