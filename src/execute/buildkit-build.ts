// A build on BuildKit through the Engine API, as the Docker CLI runs one: a session first (POST
// /session, execute/buildkit-session.ts), then POST /build?version=2&session=…&buildid=… with
// the context as the body; the progress comes back as BuildKit trace messages (execute/buildkit.ts).
// Every image carries inline cache metadata (BUILDKIT_INLINE_CACHE=1), so that once pushed it
// can be a --cache-from source for a later build on another engine. An interrupt cancels the
// build by its id (POST /build/cancel) and waits for the engine to end the build's stream: by
// then BuildKit has stopped the step's processes, and its exporter has tagged nothing.
// The HTTP calls are the transport's (execute/docker.ts, the only module that talks dockerode).

import { randomUUID } from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import { EngineError } from '../errors.js';
import { formatImageRef } from '../model/image-ref.js';
import { buildkitProgress, statusDecoder } from './buildkit.js';
import { createSession } from './buildkit-session.js';
import { follow } from './docker-stream.js';
import type { BuildRequest, CallOptions } from './engine.js';

export interface BuildkitTransport {
  /** POST /session with these headers, upgraded: the connection the engine calls the session on. */
  openSession(headers: Readonly<Record<string, string | readonly string[]>>): Promise<Duplex>;
  /** POST /build with these query parameters and `context` as the body; `signal` stops the upload. */
  startBuild(query: Readonly<Record<string, unknown>>, context: Readable, signal: AbortSignal): Promise<NodeJS.ReadableStream>;
  /** POST /build/cancel?id=… */
  cancelBuild(id: string): Promise<void>;
}

/** The image ID, or null when the engine did not say (the caller inspects the tag). */
export async function buildkitBuild(transport: BuildkitTransport, request: BuildRequest, options: CallOptions): Promise<{ imageId: string | null }> {
  const decode = await statusDecoder();
  const session = createSession({ auth: request.registryAuth ?? (() => null) });
  try {
    await session.serve(await transport.openSession(session.headers));
    const buildId = randomUUID();
    // Before the engine answers, an interrupt can only close the connection (the build has no
    // step running before its context is in); after, it cancels the build by its id.
    const upload = new AbortController();
    const stopUpload = (): void => upload.abort();
    options.signal.addEventListener('abort', stopUpload, { once: true });
    // Aborted already (an interrupt, a context that failed while the session opened): no upload.
    if (options.signal.aborted) stopUpload();
    let stream: NodeJS.ReadableStream;
    try {
      stream = await transport.startBuild(
        {
          dockerfile: request.dockerfile,
          t: formatImageRef(request.tag),
          buildargs: { BUILDKIT_INLINE_CACHE: '1', ...request.buildArgs },
          ...(request.labelsInDockerfile ? {} : { labels: request.labels }),
          ...(request.cacheFrom.length > 0 ? { cachefrom: JSON.stringify(request.cacheFrom.map(formatImageRef)) } : {}),
          nocache: request.noCache,
          version: '2',
          session: session.id,
          buildid: buildId,
        },
        request.context,
        upload.signal,
      );
    } finally {
      options.signal.removeEventListener('abort', stopUpload);
    }
    const progress = buildkitProgress(options.onLine);
    let imageId: string | null = null;
    let partial = '';
    try {
      await follow(
        stream,
        options,
        (message) => {
          if (message.id === 'moby.buildkit.trace' && typeof message.aux === 'string') progress.apply(decode(message.aux));
          else if (typeof message.aux === 'object' && message.aux.ID) imageId = message.aux.ID;
          else if (message.stream !== undefined) {
            const lines = (partial + message.stream).split('\n');
            partial = lines.pop() ?? '';
            for (const line of lines) options.onLine(line.replace(/\r$/, ''));
          }
        },
        { cancel: () => transport.cancelBuild(buildId) },
      );
    } catch (error) {
      progress.finish(!options.signal.aborted);
      if (error instanceof EngineError && !options.signal.aborted) throw new EngineError(withoutSolverPrefix(error.message), { hint: error.hint });
      throw error;
    }
    progress.finish(false);
    if (partial !== '') options.onLine(partial);
    return { imageId };
  } finally {
    session.close();
  }
}

/** "failed to solve with frontend dockerfile.v0: failed to create LLB definition: X" says X. */
function withoutSolverPrefix(message: string): string {
  return message.replace(/^(?:failed to solve(?: with frontend [\w.]+)?: |failed to (?:create|build) LLB(?: definition)?: |rpc error: code = \w+ desc = )+/, '');
}
