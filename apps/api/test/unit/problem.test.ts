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
