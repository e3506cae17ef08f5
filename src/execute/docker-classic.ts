// A build on the classic builder (POST /build, one container per step; on Podman, Buildah behind
// the same endpoint). Part of execute/docker.ts, the dockerode engine.

import type Docker from 'dockerode';
import { formatImageRef } from '../model/image-ref.js';
import { follow, statusOf } from './docker-stream.js';
import type { BuildRequest, CallOptions } from './engine.js';

/** `tag`: the name the engine is told (execute/podman.ts: in full on Podman). */
export async function classicBuild(docker: Docker, request: BuildRequest, options: CallOptions, { podman, tag }: { podman: boolean; tag: string }): Promise<{ imageId: string | null }> {
  const cacheFrom = request.cacheFrom.length > 0 && !podman;
  if (request.cacheFrom.length > 0 && podman) {
    options.onLine("--cache-from left out: Podman's builder (Buildah) takes cache only from a cache repository of its own, not from images");
  }
  const stream = await docker.buildImage(request.context as unknown as NodeJS.ReadableStream, {
    dockerfile: request.dockerfile,
    t: tag,
    buildargs: request.buildArgs,
    ...(request.labelsInDockerfile ? {} : { labels: request.labels }),
    ...(cacheFrom ? { cachefrom: JSON.stringify(request.cacheFrom.map(formatImageRef)) } : {}),
    nocache: request.noCache,
    rm: true,
    forcerm: true,
    abortSignal: options.signal,
  });
  let imageId: string | null = null;
  let partial = '';
  let container: string | null = null;
  try {
    await follow(stream, options, (message) => {
      if (typeof message.aux === 'object' && message.aux.ID) imageId = message.aux.ID;
      if (message.stream !== undefined) {
        const lines = (partial + message.stream).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          container = /^ ---> Running in ([0-9a-f]{12,})/.exec(line)?.[1] ?? container;
          options.onLine(line.replace(/\r$/, ''));
        }
      }
    });
  } catch (error) {
    // Cancelled: the engine kills and removes the step's container once it sees the
    // connection close; wait for that, so nothing of the build outlives the command.
    if (options.signal.aborted && container !== null) await containerGone(docker, container);
    // Podman 4 cannot stop a running step: Buildah sees the cancel once the step ends by itself,
    // and then commits and tags nothing.
    if (options.signal.aborted && podman) options.onLine('Podman cannot stop the running step: it runs to its end in the Podman service, which then tags nothing');
    throw error;
  }
  if (partial !== '') options.onLine(partial);
  return { imageId };
}

/**
 * Waits until a cancelled build's container is gone. The engine kills and removes it itself
 * when the build connection closes; its removal can lose a race with the kill and leave the
 * container behind (then dockmk removes it, since the command owns it), and while it is
 * "removing" the wait endpoint answers at once, so the container is looked up until the
 * engine no longer knows it.
 */
async function containerGone(docker: Docker, id: string): Promise<void> {
  const container = docker.getContainer(id);
  const gone = (): Promise<boolean> => container.inspect().then(() => false, (error: unknown) => statusOf(error) === 404);
  const started = Date.now();
  let forced = false;
  while (!(await gone())) {
    const waited = Date.now() - started;
    if (waited > 30_000) return;
    if (!forced && waited > 10_000) {
      forced = true;
      await container.remove({ force: true }).catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
