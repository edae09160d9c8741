import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { splitList } from '@telemetrypulse/shared';
import type { ReadAuthMode } from '../config.ts';
import { PROBLEM_TYPES, ProblemError, unauthorized } from './problem.ts';

/** public: probes and docs; read: data; write: ingest, acknowledge, resolve. */
export type Access = 'public' | 'read' | 'write';

export interface AuthOptions {
  /** Keys that may write and read. */
  writeKeys: readonly string[];
  /** Keys that may only read. */
  readKeys: readonly string[];
  readAuth: ReadAuthMode;
}

export function authOptionsFrom(config: {
  API_KEYS: string;
  READ_API_KEYS: string;
  READ_AUTH: ReadAuthMode;
}): AuthOptions {
  return {
    writeKeys: splitList(config.API_KEYS),
    readKeys: splitList(config.READ_API_KEYS),
    readAuth: config.READ_AUTH,
  };
}

// Fixed-length digests, so comparing takes the same time whatever the key's length or content.
const digest = (key: string) => createHash('sha256').update(key).digest();

function matches(candidate: Buffer, keys: readonly Buffer[]): boolean {
  let found = false;
  for (const key of keys) found = timingSafeEqual(candidate, key) || found;
  return found;
}

/** `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function credentialFrom(headers: {
  authorization?: string | undefined;
  'x-api-key'?: string | string[] | undefined;
}): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
  if (bearer) return bearer;
  const key = headers['x-api-key'];
  return typeof key === 'string' && key.length > 0 ? key : undefined;
}

/** Builds one guard per access level; each throws a 401 or 403 problem. */
export function createAuth(options: AuthOptions): (access: Access) => RequestHandler {
  const writeKeys = options.writeKeys.map(digest);
  const readKeys = options.readKeys.map(digest);
  return (access) => (req, res, next) => {
    if (access === 'public' || (access === 'read' && options.readAuth === 'open')) {
      next();
      return;
    }
    const credential = credentialFrom(req.headers);
    if (credential === undefined) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="telemetrypulse"');
      throw unauthorized('an API key is required: send Authorization: Bearer <key> or X-API-Key');
    }
    const key = digest(credential);
    if (matches(key, writeKeys)) {
      next();
      return;
    }
    if (matches(key, readKeys)) {
      if (access === 'read') {
        next();
        return;
      }
      throw new ProblemError({
        type: PROBLEM_TYPES.forbidden,
        title: 'Forbidden',
        status: 403,
        detail: 'this API key may only read',
      });
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="telemetrypulse", error="invalid_token"');
    throw unauthorized('the API key is not valid');
  };
}
