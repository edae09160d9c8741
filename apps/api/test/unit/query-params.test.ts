import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { ProblemError, type Problem } from '../../src/http/problem.ts';
import { queryParser } from '../../src/http/query-params.ts';
import { LiveKpisQuery } from '../../src/routes/compat.ts';

function rejection(run: () => unknown): Problem {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ProblemError, 'expected a ProblemError');
    return error.problem;
  }
  assert.fail('expected the query to be rejected');
}

describe('query parameters', () => {
  const parseLive = queryParser(LiveKpisQuery);

  it('when no parameter is given, then the query is empty', () => {
    assert.deepEqual(parseLive({}), {});
  });

  it('when site_id is a contract id, then it is accepted as it is', () => {
    assert.deepEqual(parseLive({ site_id: 'site-01' }), { site_id: 'site-01' });
  });

  for (const [label, siteId] of [
    ['empty', ''],
    ['with a space', 'site 01'],
    ['with a quote', "site'01"],
    ['longer than 64 characters', 'x'.repeat(65)],
  ] as const) {
    it(`when site_id is ${label}, then a 400 problem names site_id`, () => {
      const problem = rejection(() => parseLive({ site_id: siteId }));
      assert.equal(problem.status, 400);
      assert.equal(problem.parameter, 'site_id');
      assert.match(problem.detail ?? '', /^site_id: /);
    });
  }

  it('when an unknown parameter is given, then a 400 problem names it and lists the allowed ones', () => {
    const problem = rejection(() => parseLive({ site: 'site-01' }));
    assert.equal(problem.status, 400);
    assert.equal(problem.parameter, 'site');
    assert.match(problem.detail ?? '', /allowed: site_id/);
  });

  it('when a parameter is repeated, then a 400 problem names it', () => {
    const problem = rejection(() => parseLive({ site_id: ['site-01', 'site-02'] }));
    assert.equal(problem.parameter, 'site_id');
  });

  it('when a parameter is numeric, then its text is converted and its default filled in', () => {
    const parse = queryParser(
      Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) }),
    );
    assert.deepEqual(parse({ limit: '5' }), { limit: 5 });
    assert.deepEqual(parse({}), { limit: 20 });
    assert.equal(rejection(() => parse({ limit: 'many' })).parameter, 'limit');
    assert.equal(rejection(() => parse({ limit: '1000' })).parameter, 'limit');
  });

  it('when any value holds a control character, then 400 naming it, even for a schema without a pattern', () => {
    const parse = queryParser(Type.Object({ note: Type.Optional(Type.String()) }));
    for (const note of ['a\u0000b', '\u0000', 'tab\there', 'esc\u001b', 'c1\u0085']) {
      const problem = rejection(() => parse({ note }));
      assert.equal(problem.status, 400);
      assert.equal(problem.parameter, 'note');
      assert.equal(problem.detail, 'note: must not hold control characters');
    }
    const path = queryParser(Type.Object({ id: Type.String() }), 'path');
    assert.equal(rejection(() => path({ id: 'x\u0000' })).title, 'Invalid path parameter');
    assert.deepEqual(parse({ note: 'Zoë ✓' }), { note: 'Zoë ✓' });
  });
});
