// The data of the status page (written beside it as status.json): every service's state as
// `docker:status --json` gives it, plus its history — created and last modified (git), last
// built (history.jsonl: when, how long, which command, who) — its last builds with their logs,
// the service graph and the build durations of the recorded runs. Pure: the caller reads git,
// the history file and the engine.

import type { Commit } from '../model/git-log.js';
import type { AttributedRecord } from './actor.js';
import type { Graph } from './graph.js';
import type { StatusEntry } from './status.js';

export const PAGE_VERSION = 1;

export interface PageCommit {
  readonly sha: string;
  readonly short: string;
  readonly author: string;
  readonly date: string;
  readonly subject: string;
}

export interface PageBuild {
  readonly run: string;
  readonly at: string;
  readonly status: string;
  readonly durationMs: number;
  readonly command: string;
  readonly tag: string;
  readonly actor: string | null;
  readonly reason: string | null;
  /** The log page, relative to the page's directory (`logs/<run>/<svc>.html`); null when none was kept. */
  readonly log: string | null;
  /** The log as text, beside it. */
  readonly raw: string | null;
  /** The recorded log under the state directory (relative to it), for the writer to copy. */
  readonly source: string | null;
}

export interface ServiceHistory {
  /** The commit that added the service's build directory. */
  readonly created: PageCommit | null;
  /** The last commit touching one of its inputs. */
  readonly modified: PageCommit | null;
  /** Its input paths that differ from HEAD in the work tree. */
  readonly uncommitted: readonly string[];
  /** Its last successful build of this tag. */
  readonly lastBuilt: { readonly at: string; readonly durationMs: number; readonly command: string; readonly actor: string | null } | null;
}

export interface PageService extends StatusEntry {
  readonly parents: readonly string[];
  readonly history: ServiceHistory;
  /** Newest first. */
  readonly builds: readonly PageBuild[];
}

export interface PageDuration {
  readonly service: string;
  readonly run: string;
  readonly at: string;
  readonly durationMs: number;
}

export interface RunOutline {
  readonly command: string;
  readonly ok: boolean;
  readonly built: readonly string[];
  readonly failed: readonly string[];
  readonly skipped: readonly string[];
}

export interface StatusPageData {
  readonly version: typeof PAGE_VERSION;
  readonly generator: 'dockmk';
  readonly generatedAt: string;
  readonly title: string;
  /** The run that wrote the page (`--report`), or null for `docker:status --html`. */
  readonly run: RunOutline | null;
  readonly git: { readonly available: boolean; readonly note: string | null };
  readonly services: readonly PageService[];
  readonly graph: Graph;
  readonly durations: readonly PageDuration[];
}

/** Which services a changed path is an input of: a list, or every service. */
export type Attribution = (path: string) => readonly string[] | 'all';

export interface GitFacts {
  /** Newest first, as git log prints them; null when git could not be read. */
  readonly commits: readonly Commit[] | null;
  readonly uncommitted: readonly string[];
  readonly note: string | null;
}

export interface PageInput {
  readonly title: string;
  readonly generatedAt: string;
  readonly entries: readonly StatusEntry[];
  readonly history: readonly AttributedRecord[];
  readonly git: GitFacts;
  /** `docker/build`: created is the commit that added `<build>/<svc>/`. */
  readonly buildDir: string;
  readonly attribute: Attribution;
  readonly graph: Graph;
  readonly run: RunOutline | null;
  /** Builds listed per service (default 10). */
  readonly builds?: number;
  /** Runs the duration chart covers (default 30). */
  readonly runs?: number;
}

const BUILD_OUTCOMES = new Set(['built', 'failed', 'cancelled', 'interrupted']);

export function statusPageData(input: PageInput): StatusPageData {
  const names = input.entries.map((entry) => entry.service);
  const changes = gitHistory(input.git.commits ?? [], names, input.buildDir, input.attribute);
  const uncommitted = new Map<string, string[]>();
  for (const path of input.git.uncommitted) {
    const owners = input.attribute(path);
    for (const name of owners === 'all' ? names : owners) uncommitted.set(name, [...(uncommitted.get(name) ?? []), path]);
  }
  const parents = new Map<string, string[]>();
  const labels = new Map(input.graph.nodes.map((node) => [node.id, node]));
  for (const edge of input.graph.edges) {
    const from = labels.get(edge.from);
    const to = labels.get(edge.to);
    if (from?.kind === 'service' && to !== undefined) parents.set(to.label, [...(parents.get(to.label) ?? []), from.label]);
  }
  const limit = input.builds ?? 10;
  const services = input.entries.map((entry): PageService => {
    const records = input.history.filter((record) => record.service === entry.service);
    const builds = records
      .filter((record) => BUILD_OUTCOMES.has(record.status))
      .slice(-limit)
      .reverse()
      .map(pageBuild);
    const built = [...records].reverse().find((record) => record.status === 'built' && record.tag === entry.tag);
    const history = changes.get(entry.service);
    return {
      ...entry,
      parents: [...new Set(parents.get(entry.service) ?? [])].sort(),
      history: {
        created: history?.created ?? null,
        modified: history?.modified ?? null,
        uncommitted: [...new Set(uncommitted.get(entry.service) ?? [])].sort(),
        lastBuilt: built ? { at: built.startedAt, durationMs: built.durationMs, command: built.command, actor: built.actor ?? null } : null,
      },
      builds,
    };
  });
  return {
    version: PAGE_VERSION,
    generator: 'dockmk',
    generatedAt: input.generatedAt,
    title: input.title,
    run: input.run,
    git: { available: input.git.commits !== null, note: input.git.note },
    services,
    graph: input.graph,
    durations: durations(input.history, new Set(names), input.runs ?? 30),
  };
}

function pageBuild(record: AttributedRecord): PageBuild {
  const base = record.log?.replace(/\.log$/, '') ?? null;
  return {
    run: record.run,
    at: record.startedAt,
    status: record.status,
    durationMs: record.durationMs,
    command: record.command,
    tag: record.tag,
    actor: record.actor ?? null,
    reason: record.reason ?? null,
    log: base === null ? null : `${base}.html`,
    raw: base === null ? null : `${base}.log`,
    source: record.log ?? null,
  };
}

/** Per service: the commit that added its build directory, and the newest commit touching an input. */
export function gitHistory(
  commits: readonly Commit[],
  services: readonly string[],
  buildDir: string,
  attribute: Attribution,
): Map<string, { created: PageCommit | null; modified: PageCommit | null }> {
  const wanted = new Set(services);
  const out = new Map<string, { created: PageCommit | null; modified: PageCommit | null }>(services.map((name) => [name, { created: null, modified: null }]));
  const prefix = `${buildDir.replace(/\/+$/, '')}/`;
  for (const commit of commits) {
    const page = pageCommit(commit);
    const touched = new Set<string>();
    for (const file of commit.files) {
      for (const path of file.previous === undefined ? [file.path] : [file.path, file.previous]) {
        const owners = attribute(path);
        for (const name of owners === 'all' ? services : owners) if (wanted.has(name)) touched.add(name);
      }
      // Newest first: the last commit seen adding a file of the directory is the one that created it.
      if ((file.status === 'A' || file.status === 'R' || file.status === 'C') && file.path.startsWith(prefix)) {
        const name = file.path.slice(prefix.length).split('/')[0] as string;
        const entry = out.get(name);
        if (entry !== undefined) entry.created = page;
      }
    }
    for (const name of touched) {
      const entry = out.get(name);
      if (entry !== undefined && entry.modified === null) entry.modified = page;
    }
  }
  return out;
}

function pageCommit(commit: Commit): PageCommit {
  return { sha: commit.sha, short: commit.sha.slice(0, 7), author: commit.author, date: commit.date, subject: commit.subject };
}

/** The durations of real builds of the last `runs` runs that built any of these services, oldest first. */
function durations(history: readonly AttributedRecord[], services: ReadonlySet<string>, runs: number): PageDuration[] {
  const built = history.filter((record) => record.status === 'built' && services.has(record.service) && record.durationMs > 0);
  const order: string[] = [];
  for (const record of built) if (!order.includes(record.run)) order.push(record.run);
  const kept = new Set(order.slice(-runs));
  return built.filter((record) => kept.has(record.run)).map((record) => ({ service: record.service, run: record.run, at: record.startedAt, durationMs: record.durationMs }));
}
