import assert from 'node:assert/strict';
import { startTestApi, type TestApi } from '../support.ts';

const WRITER = 'writer-key-0123456789';
const READER = 'reader-key-0123456789';

interface Operation {
  security?: Record<string, string[]>[];
}

/** Every operation of the document, with sample path parameters filled in. */
function operations(api: TestApi): { method: string; path: string; op: Operation }[] {
  return Object.entries(api.openApi.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path: path.replace(/\{[^}]+\}/g, '1'),
      op: op as Operation,
    })),
  );
}

const isWrite = (op: Operation) =>
  op.security !== undefined && !op.security.some((s) => Object.keys(s).length === 0);

describe('auth on every route (READ_AUTH=key)', () => {
  let api: TestApi;

  before(async () => {
    api = await startTestApi({
      auth: { writeKeys: [WRITER], readKeys: [READER], readAuth: 'key' },
    });
  });

  after(async () => {
    await api.close();
  });

  const call = (method: string, path: string, key?: string) =>
    fetch(`${api.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(key === undefined ? {} : { 'x-api-key': key }),
      },
      ...(method === 'POST' ? { body: '{}' } : {}),
    });

  it('when no key or an unknown key is sent, then every route but probes and docs answers 401', async () => {
    const guarded = operations(api).filter(({ op }) => op.security !== undefined);
    assert.ok(guarded.length > 15, `only ${guarded.length} guarded operations`);
    for (const { method, path } of guarded) {
      for (const key of [undefined, 'not-a-key']) {
        const response = await call(method, path, key);
        assert.equal(response.status, 401, `${method} ${path} with ${key ?? 'no key'}`);
        assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
        await response.body?.cancel();
      }
    }
  });

  it('when a read-only key is sent, then every write answers 403 and no read answers 401 or 403', async () => {
    for (const { method, path, op } of operations(api).filter((o) => o.op.security)) {
      const response = await call(method, path, READER);
      await response.body?.cancel();
      if (isWrite(op)) assert.equal(response.status, 403, `${method} ${path}`);
      else
        assert.ok(![401, 403].includes(response.status), `${method} ${path}: ${response.status}`);
    }
  });

  it('when probes and the API document are asked for without a key, then they answer', async () => {
    const open = operations(api).filter(({ op }) => op.security === undefined);
    assert.ok(open.some((o) => o.path === '/health/ready'));
    for (const { method, path } of open) {
      const response = await call(method, path);
      await response.body?.cancel();
      assert.ok(![401, 403].includes(response.status), `${method} ${path}: ${response.status}`);
    }
    assert.equal((await call('GET', '/openapi.json')).status, 200);
  });
});
