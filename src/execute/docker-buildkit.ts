// The three calls a BuildKit build makes through docker-modem (execute/buildkit-build.ts): the
// hijacked /session connection, POST /build with the context as its body, and /build/cancel.

import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { EngineError } from '../errors.js';
import type { BuildkitTransport } from './buildkit-build.js';
import { dial, interrupted } from './docker-stream.js';

/** The calls of one build (`what`, for its errors) on the engine `client` connects to. */
export function dockerTransport(client: () => Promise<Docker>, failure: (what: string, error: unknown) => EngineError, what: string): BuildkitTransport {
  return {
    openSession: async (headers) => {
      const docker = await client();
      return dial<Duplex>(docker, { path: '/session', method: 'POST', hijack: true, headers: { ...headers }, statusCodes: { 101: true, 200: true, 500: 'server error' } }).catch((error: unknown) => {
        throw failure(`${what}: could not open a BuildKit session`, error);
      });
    },
    startBuild: async (query, context, signal) => {
      const docker = await client();
      return dial<NodeJS.ReadableStream>(docker, {
        path: '/build?',
        method: 'POST',
        options: query,
        file: context,
        isStream: true,
        abortSignal: signal,
        statusCodes: { 200: true, 400: 'bad request', 500: 'server error' },
      }).catch((error: unknown) => {
        if (signal.aborted) throw interrupted();
        throw failure(`${what} failed`, error);
      });
    },
    cancelBuild: async (id) => {
      const docker = await client();
      await dial(docker, { path: '/build/cancel?', method: 'POST', options: { id }, statusCodes: { 200: true, 500: 'server error' } });
    },
  };
}
