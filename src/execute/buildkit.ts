// BuildKit's progress, as the Engine API streams it: `{"id":"moby.buildkit.trace","aux":"<base64>"}`
// lines whose payload is a protobuf `moby.buildkit.v1.StatusResponse` (BuildKit's
// api/services/control/control.proto: vertexes, statuses, logs, warnings). Decoded with
// protobufjs and printed the way `docker build --progress=plain` prints it, without timestamps:
//
//   #5 [2/4] RUN echo hi          a step starts (vertex 5)
//   #5 hi                         a line of its output
//   #5 DONE 0.3s | #5 CACHED | #5 ERROR: … | #5 CANCELED
//
// and, when the build failed, a summary naming the failed step at the end, as docker does
// (`------`, ` > [2/4] RUN echo hi:`, `------`), so that the failure report finds the step
// (model/build-steps.ts) even when it wrote more than the lines the report keeps; when other
// steps wrote since, the failed step's last lines come again inside it.

import type { Type } from 'protobufjs';

export interface Timestamp {
  readonly seconds: number;
  readonly nanos: number;
}

export interface Vertex {
  readonly digest: string;
  readonly name: string;
  readonly cached: boolean;
  readonly started: Timestamp | null;
  readonly completed: Timestamp | null;
  readonly error: string;
}

export interface VertexStatus {
  readonly ID: string;
  readonly vertex: string;
  readonly name: string;
  readonly completed: Timestamp | null;
}

export interface VertexLog {
  readonly vertex: string;
  readonly stream: number;
  readonly msg: Uint8Array;
}

export interface VertexWarning {
  readonly vertex: string;
  readonly short: Uint8Array;
}

export interface StatusResponse {
  readonly vertexes: readonly Vertex[];
  readonly statuses: readonly VertexStatus[];
  readonly logs: readonly VertexLog[];
  readonly warnings: readonly VertexWarning[];
}

/** The fields dockmk reads, with BuildKit's field numbers; protobuf skips the others. */
const SCHEMA = {
  nested: {
    Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
    Vertex: {
      fields: {
        digest: { type: 'string', id: 1 },
        name: { type: 'string', id: 3 },
        cached: { type: 'bool', id: 4 },
        started: { type: 'Timestamp', id: 5 },
        completed: { type: 'Timestamp', id: 6 },
        error: { type: 'string', id: 7 },
      },
    },
    VertexStatus: {
      fields: {
        ID: { type: 'string', id: 1 },
        vertex: { type: 'string', id: 2 },
        name: { type: 'string', id: 3 },
        completed: { type: 'Timestamp', id: 8 },
      },
    },
    VertexLog: { fields: { vertex: { type: 'string', id: 1 }, stream: { type: 'int64', id: 3 }, msg: { type: 'bytes', id: 4 } } },
    VertexWarning: { fields: { vertex: { type: 'string', id: 1 }, short: { type: 'bytes', id: 3 } } },
    StatusResponse: {
      fields: {
        vertexes: { rule: 'repeated', type: 'Vertex', id: 1 },
        statuses: { rule: 'repeated', type: 'VertexStatus', id: 2 },
        logs: { rule: 'repeated', type: 'VertexLog', id: 3 },
        warnings: { rule: 'repeated', type: 'VertexWarning', id: 4 },
      },
    },
  },
};

let statusType: Promise<Type> | null = null;

/** Decodes one trace payload (base64 of a StatusResponse). protobufjs is loaded on the first. */
export async function statusDecoder(): Promise<(aux: string) => StatusResponse> {
  statusType ??= import('protobufjs/light.js').then(({ default: protobuf }) => protobuf.Root.fromJSON(SCHEMA).lookupType('StatusResponse'));
  const type = await statusType;
  return (aux) => {
    const object = type.toObject(type.decode(Buffer.from(aux, 'base64')), { longs: Number, arrays: true, defaults: true }) as Record<string, unknown[]>;
    const vertexes = (object.vertexes as Record<string, unknown>[]).map((v) => ({ ...v, started: v.started ?? null, completed: v.completed ?? null }));
    const statuses = (object.statuses as Record<string, unknown>[]).map((s) => ({ ...s, completed: s.completed ?? null }));
    return { ...object, vertexes, statuses } as unknown as StatusResponse;
  };
}

/** Lines of a failed step shown again at the end of a failed build. */
const SUMMARY_LINES = 10;

export interface BuildkitProgress {
  /** One decoded StatusResponse. */
  apply(status: StatusResponse): void;
  /** The build ended: the rest of every partial line; for a failed build, the summary of the step that failed. */
  finish(failed: boolean): void;
}

/** Prints BuildKit's progress as lines (see the head of this file). */
export function buildkitProgress(onLine: (line: string) => void): BuildkitProgress {
  const numbers = new Map<string, number>();
  const names = new Map<string, string>();
  const announced = new Set<string>();
  const ended = new Set<string>();
  const statusesDone = new Set<string>();
  const partial = new Map<string, string>();
  const recent = new Map<string, string[]>();
  let lastWriter: string | null = null;
  let failure: { digest: string; error: string } | null = null;

  const number = (digest: string): number => {
    let n = numbers.get(digest);
    if (n === undefined) {
      n = numbers.size + 1;
      numbers.set(digest, n);
    }
    return n;
  };
  const announce = (digest: string): void => {
    if (announced.has(digest)) return;
    announced.add(digest);
    onLine(`#${number(digest)} ${names.get(digest) ?? digest}`);
  };
  const logLine = (digest: string, text: string): void => {
    const line = text.replace(/\r$/, '');
    onLine(`#${number(digest)} ${line}`);
    lastWriter = digest;
    const lines = recent.get(digest) ?? [];
    lines.push(line);
    if (lines.length > SUMMARY_LINES) lines.shift();
    recent.set(digest, lines);
  };
  const flush = (key: string): void => {
    const rest = partial.get(key);
    partial.delete(key);
    if (rest !== undefined && rest !== '') logLine(key.slice(0, key.lastIndexOf('\0')), rest);
  };

  return {
    apply(status) {
      for (const vertex of status.vertexes) {
        if (vertex.name) names.set(vertex.digest, vertex.name);
        if (vertex.started === null && vertex.completed === null && !vertex.cached) continue;
        announce(vertex.digest);
        if (vertex.completed === null || ended.has(vertex.digest)) continue;
        ended.add(vertex.digest);
        for (const key of [...partial.keys()]) if (key.startsWith(`${vertex.digest}\0`)) flush(key);
        const n = number(vertex.digest);
        if (vertex.error !== '') {
          if (/context canceled|^canceled/i.test(vertex.error)) {
            onLine(`#${n} CANCELED`);
          } else {
            onLine(`#${n} ERROR: ${vertex.error}`);
            failure ??= { digest: vertex.digest, error: vertex.error };
          }
        } else if (vertex.cached) {
          onLine(`#${n} CACHED`);
        } else if (vertex.started !== null) {
          onLine(`#${n} DONE ${seconds(vertex.started, vertex.completed)}s`);
        }
      }
      for (const entry of status.statuses) {
        const key = `${entry.vertex}\0${entry.ID}`;
        if (entry.completed === null || statusesDone.has(key)) continue;
        statusesDone.add(key);
        announce(entry.vertex);
        onLine(`#${number(entry.vertex)} ${entry.name || entry.ID} done`);
      }
      for (const log of status.logs) {
        announce(log.vertex);
        const key = `${log.vertex}\0${log.stream}`;
        const lines = ((partial.get(key) ?? '') + Buffer.from(log.msg).toString('utf8')).split('\n');
        partial.set(key, lines.pop() ?? '');
        for (const line of lines) logLine(log.vertex, line);
      }
      for (const warning of status.warnings) {
        onLine(`#${number(warning.vertex)} WARNING: ${Buffer.from(warning.short).toString('utf8')}`);
      }
    },
    finish(failed) {
      for (const key of [...partial.keys()]) flush(key);
      if (!failed || failure === null) return;
      onLine('------');
      onLine(` > ${names.get(failure.digest) ?? failure.digest}:`);
      // Its lines are the last ones above unless another step wrote since (steps run in parallel).
      if (lastWriter !== failure.digest) for (const line of recent.get(failure.digest) ?? []) onLine(`#${number(failure.digest)} ${line}`);
      onLine('------');
    },
  };
}

function seconds(started: Timestamp, completed: Timestamp): string {
  const ms = (completed.seconds - started.seconds) * 1000 + (completed.nanos - started.nanos) / 1e6;
  return (Math.max(0, ms) / 1000).toFixed(1);
}
