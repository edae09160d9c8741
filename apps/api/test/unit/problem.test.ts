import assert from 'node:assert/strict';
import { httpProblem, invalidParameter, ProblemError, toProblem } from '../../src/http/problem.ts';

describe('problem details', () => {
  it('when a status has no specific type, then the problem is about:blank with the status text', () => {
    assert.deepEqual(httpProblem(404, 'no route'), {
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'no route',
    });
  });

  it('when a parameter is invalid, then the problem is a 400 that names it', () => {
    const error = invalidParameter('site_id', 'site_id: too long');
    assert.ok(error instanceof ProblemError);
    assert.equal(error.problem.status, 400);
    assert.equal(error.problem.parameter, 'site_id');
    assert.equal(error.problem.detail, 'site_id: too long');
    assert.match(error.problem.type, /invalid-parameter$/);
  });

  it('when a ProblemError is thrown, then its problem is sent unchanged', () => {
    const error = invalidParameter('limit', 'limit: must be a number');
    assert.equal(toProblem(error), error.problem);
  });

  it('when an unexpected error is thrown, then the problem is a 500 without its message', () => {
    const problem = toProblem(new Error('connect ECONNREFUSED postgres://user:secret@db'));
    assert.deepEqual(problem, { type: 'about:blank', title: 'Internal Server Error', status: 500 });
  });

  it('when a 5xx error carries a message, then the message still stays hidden', () => {
    const error = Object.assign(new Error('pool exhausted'), { status: 503 });
    assert.deepEqual(toProblem(error), httpProblem(503));
  });

  it('when a client error is exposable (as body parsers mark them), then its message is the detail', () => {
    const error = Object.assign(new Error('request entity too large'), {
      status: 413,
      expose: true,
    });
    assert.deepEqual(toProblem(error), httpProblem(413, 'request entity too large'));
  });

  it('when a client error is marked not exposable, then it has no detail', () => {
    const error = Object.assign(new Error('internal reason'), { statusCode: 400, expose: false });
    assert.deepEqual(toProblem(error), httpProblem(400));
  });

  it('when something that is not an Error is thrown, then it is a 500', () => {
    assert.equal(toProblem('boom').status, 500);
    assert.equal(toProblem(undefined).status, 500);
    assert.equal(toProblem({ status: 'teapot' }).status, 500);
  });
});

describe('errors of the layers below the routes', () => {
  it('when PostgreSQL refuses a value as data (SQLSTATE class 22), then it is a 400, not a 500', () => {
    for (const code of ['22P05', '22021', '22008', '22003']) {
      const error = Object.assign(new Error('unsupported Unicode escape sequence'), {
        name: 'PostgresError',
        code,
      });
      const problem = toProblem(error);
      assert.equal(problem.status, 400, code);
      assert.match(problem.type, /invalid-body$/);
      assert.equal(problem.detail, `a value in the request is not valid (SQLSTATE ${code})`);
    }
  });

  it('when PostgreSQL fails otherwise, then it stays a 500 without its message', () => {
    const error = Object.assign(new Error('relation "x" does not exist'), {
      name: 'PostgresError',
      code: '42P01',
    });
    assert.deepEqual(toProblem(error), httpProblem(500));
  });

  it('when the JSON parser fails, then the problem says the body is not JSON, with the parser status', () => {
    const parse = Object.assign(new SyntaxError('Unexpected token } in JSON at position 9'), {
      status: 400,
      type: 'entity.parse.failed',
    });
    const problem = toProblem(parse);
    assert.equal(problem.status, 400);
    assert.match(problem.type, /invalid-body$/);
    assert.match(String(problem.detail), /^the body is not valid JSON: /);

    const large = Object.assign(new Error('request entity too large'), {
      status: 413,
      type: 'entity.too.large',
      limit: 1024,
    });
    assert.deepEqual(toProblem(large), {
      type: 'https://telemetrypulse.io/problems/body-too-large',
      title: 'Content Too Large',
      status: 413,
      detail: 'the body is larger than 1024 bytes',
    });

    const charset = Object.assign(new Error('unsupported charset "LATIN-9"'), {
      status: 415,
      type: 'charset.unsupported',
    });
    assert.equal(toProblem(charset).status, 415);
    assert.match(toProblem(charset).type, /unsupported-media-type$/);
  });
});
