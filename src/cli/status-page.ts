// The status page's inputs gathered (the engine's images, history.jsonl, git log and status)
// and handed to report/ to render: shared by `docker:status --html DIR` and `--report DIR`.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Config } from '../config/config.js';
import type { ContextListing } from '../discover/context.js';
import { listContext } from '../discover/context.js';
import { readHistory } from '../discover/runs.js';
import type { Engine } from '../execute/engine.js';
import type { Checkout } from '../model/checkout.js';
import { GIT_LOG_FORMAT, parseGitLog, parsePorcelain } from '../model/git-log.js';
import { ownedPaths } from '../plan/inputs.js';
import type { BuildStep } from '../plan/types.js';
import type { AttributedRecord } from '../report/actor.js';
import { serviceGraph, type Graph } from '../report/graph.js';
import { writeStatusPage, type PageFiles } from '../report/page.js';
import { statusPageData, type Attribution, type GitFacts, type RunOutline } from '../report/page-data.js';
import { ansibleModel, ownState } from './session.js';
import { indexImages } from '../execute/images.js';
import { checkoutId } from '../plan/labels.js';
import { statusOf } from './status.js';
import { rolesRun } from '../model/service-plays.js';

export interface PageRequest {
  readonly config: Config;
  readonly checkout: Checkout;
  /** The builds whose images the tiles show (one per service). */
  readonly steps: readonly BuildStep[];
  readonly engine: Engine;
  readonly listing?: ContextListing | undefined;
  readonly dir: string;
  readonly run: RunOutline | null;
  readonly now: () => Date;
}

export async function buildStatusPage(request: PageRequest): Promise<PageFiles> {
  const { config, checkout } = request;
  const history = readHistory(config.stateDir) as AttributedRecord[];
  const entries = [];
  const images = indexImages(request.engine);
  for (const step of request.steps) entries.push(await statusOf(step, images, history, checkoutId(config.root)));
  const listing = request.listing ?? (await listContext(config.root, ownState(config)));
  const names = entries.map((entry) => entry.service);
  const data = statusPageData({
    title: basename(config.root),
    generatedAt: request.now().toISOString(),
    entries,
    history,
    git: await readGit(config.root),
    buildDir: config.paths.build,
    attribute: attribution(config, checkout, listing),
    graph: subgraph(serviceGraph(checkout), new Set(names)),
    run: request.run,
  });
  return writeStatusPage(request.dir, data, config.stateDir);
}

/** The services shown and the external bases they build on. */
function subgraph(graph: Graph, shown: ReadonlySet<string>): Graph {
  const keep = new Set(graph.nodes.filter((node) => node.kind === 'service' && shown.has(node.label)).map((node) => node.id));
  const edges = graph.edges.filter((edge) => keep.has(edge.to) && (keep.has(edge.from) || graph.nodes.find((node) => node.id === edge.from)?.kind === 'external'));
  for (const edge of edges) keep.add(edge.from);
  return { kind: graph.kind, nodes: graph.nodes.filter((node) => keep.has(node.id)), edges };
}

/** Which services a path is an input of, by the rules of plan/inputs.ts. */
function attribution(config: Config, checkout: Checkout, listing: ContextListing): Attribution {
  const ownerOf = ownedPaths(checkout, config.paths);
  const { graph, owners } = ansibleModel(config, checkout, listing);
  const rolesOf = rolesRun(graph, owners);
  const listed = new Set(listing.entries.map((entry) => entry.path));
  const services = [...checkout.services.keys()];
  const rolesPrefix = `${config.paths.roles}/`;
  return (path) => {
    // Present but not in the build context (.dockerignore): not an input. Gone: it was one.
    if (!listed.has(path) && existsSync(join(config.root, path))) return [];
    // Its build dir, its play (a play run by two services belongs to both), its playbook.
    const owners = ownerOf(path);
    if (owners.length > 0) return owners;
    if (path.startsWith(rolesPrefix)) {
      const role = path.slice(rolesPrefix.length).split('/')[0] as string;
      return services.filter((name) => rolesOf(name)?.has(role) ?? true);
    }
    return 'all';
  };
}

function git(root: string, args: readonly string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', ['-c', 'core.quotePath=false', ...args], { cwd: root, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ ok: error === null, stdout, stderr }),
    );
  });
}

/** Every commit touching the checkout (paths relative to it), and what the work tree changes. Never throws. */
async function readGit(root: string): Promise<GitFacts> {
  const [log, status, shallow] = await Promise.all([
    git(root, ['log', '--name-status', '--relative', `--format=${GIT_LOG_FORMAT}`, '--', '.']),
    git(root, ['status', '--porcelain', '-z', '--untracked-files=all', '--', '.']),
    git(root, ['rev-parse', '--is-shallow-repository']),
  ]);
  if (!log.ok) {
    const why = log.stderr.trim().split('\n').find((line) => line.startsWith('fatal:')) ?? log.stderr.trim();
    return { commits: null, uncommitted: [], note: `No change history: git log failed here (${why || 'git not found'}).` };
  }
  const prefix = (await git(root, ['rev-parse', '--show-prefix'])).stdout.trim();
  const uncommitted = status.ok ? parsePorcelain(status.stdout).map((path) => (prefix && path.startsWith(prefix) ? path.slice(prefix.length) : path)) : [];
  const note = shallow.stdout.trim() === 'true' ? 'A shallow clone: "created" is the oldest commit fetched, not necessarily the first. Fetch the whole history (fetch-depth: 0) for the real one.' : null;
  return { commits: parseGitLog(log.stdout), uncommitted, note };
}
