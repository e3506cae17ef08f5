import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { discoverAnsible } from '../../src/discover/ansible.js';
import { ansibleSetup } from '../../src/cli/selection.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/session.js';
import { buildRoleGraph } from '../../src/model/roles.js';
import { renderGraph, roleGraph, serviceGraph, type Graph } from '../../src/report/graph.js';
import { fixturePath, loadCheckout, REPO_ROOT, STATE_DIR, test } from '../helpers.js';

const LEGACY = fixturePath('legacy-config');

interface Expected {
  services: Record<string, { external: string[] }>;
  edges: [string, string][];
  roles: Record<string, { dependencies: string[] }>;
  include_role: Record<string, string[]>;
}
const expected = JSON.parse(readFileSync(join(LEGACY, 'expected.json'), 'utf8')) as Expected;

const labels = (graph: Graph): Map<string, { kind: string; label: string }> => new Map(graph.nodes.map((node) => [node.id, node]));

function edgesBetween(graph: Graph, from: string, to: string): [string, string][] {
  const nodes = labels(graph);
  return graph.edges
    .filter((edge) => nodes.get(edge.from)?.kind === from && nodes.get(edge.to)?.kind === to)
    .map((edge) => [nodes.get(edge.from)?.label as string, nodes.get(edge.to)?.label as string]);
}

const sortPairs = (pairs: [string, string][]): [string, string][] =>
  [...pairs].sort((a, b) => (a.join('\0') < b.join('\0') ? -1 : a.join('\0') > b.join('\0') ? 1 : 0));

test('service graph of the legacy fixture: every parent → child edge, external bases as their own nodes', async () => {
  const { checkout } = await loadCheckout(LEGACY);
  const graph = serviceGraph(checkout);
  assert.equal(sortPairs(edgesBetween(graph, 'service', 'service')), sortPairs(expected.edges));
  assert.is(expected.edges.length, 44);
  const externals = graph.nodes.filter((node) => node.kind === 'external').map((node) => node.label);
  assert.equal(externals.sort(), [...new Set(Object.values(expected.services).flatMap((s) => s.external))].sort());
  assert.equal(graph.nodes.filter((node) => node.kind === 'service').length, 64);
  // Every external base points at the services built on it.
  assert.ok(edgesBetween(graph, 'external', 'service').some(([from, to]) => from === 'ubuntu:xenial' && to === 'xenial-common'));
  // COPY --from of an image is an edge of its own kind.
  const copy = graph.edges.filter((edge) => edge.kind === 'copy');
  assert.is(copy.length, 1);
  assert.is(labels(graph).get(copy[0]?.to as string)?.label, 'zz-copy-from-image');
});

test('rendering is deterministic: the order services are read in does not matter', async () => {
  const { checkout } = await loadCheckout(LEGACY);
  const reversed = { ...checkout, services: new Map([...checkout.services].reverse()) };
  for (const format of ['mermaid', 'dot', 'json'] as const) {
    assert.is(renderGraph(serviceGraph(reversed), format), renderGraph(serviceGraph(checkout), format), format);
  }
});

test('Mermaid and DOT: shapes by kind, one line per node and edge, dotted COPY --from', async () => {
  const { checkout } = await loadCheckout(LEGACY);
  const graph = serviceGraph(checkout);
  const mermaid = renderGraph(graph, 'mermaid').split('\n');
  assert.is(mermaid[0], 'flowchart LR');
  assert.ok(mermaid.includes('  x_ubuntu_xenial[("ubuntu:xenial")]'));
  assert.ok(mermaid.includes('  s_xenial_common["xenial-common"]'));
  assert.ok(mermaid.includes('  s_xenial_common --> s_forum'));
  assert.ok(mermaid.includes('  x_ubuntu_xenial --> s_xenial_common'));
  assert.ok(mermaid.some((line) => / -\.-> s_zz_copy_from_image$/.test(line)));
  assert.is(mermaid.length, 1 + graph.nodes.length + graph.edges.length + 1);
  const dot = renderGraph(graph, 'dot');
  assert.ok(dot.startsWith('digraph services {\n  rankdir=LR;\n'));
  assert.ok(dot.includes('  x_ubuntu_xenial [label="ubuntu:xenial", shape=box, style=dashed];\n'));
  assert.ok(dot.includes('  s_xenial_common -> s_forum;\n'));
  // Node ids are unique even where labels differ only in punctuation.
  assert.is(new Set(graph.nodes.map((node) => node.id)).size, graph.nodes.length);
});

test('role graph of the legacy fixture: plays → roles, meta dependencies and include_role', async () => {
  const { config } = await loadCheckout(LEGACY);
  const { dirs } = ansibleSetup(config);
  const roles = buildRoleGraph(discoverAnsible(config.root, dirs));
  const graph = roleGraph(roles, ['docker/plays/forum.yml', 'docker/plays/edxapp.yml', 'docker/plays/jenkins_tools.yml']);
  const playEdges = edgesBetween(graph, 'play', 'role');
  assert.ok(playEdges.some(([play, role]) => play === 'docker/plays/forum.yml' && role === 'forum'));
  assert.ok(playEdges.some(([play, role]) => play === 'docker/plays/jenkins_tools.yml' && role === 'tools_jenkins'));
  // Every role in the picture shows exactly its dependencies (meta) and the roles it includes.
  const shown = graph.nodes.filter((node) => node.kind === 'role').map((node) => node.label);
  assert.ok(shown.includes('rbenv') && shown.includes('jwt_signature'));
  const roleEdges = edgesBetween(graph, 'role', 'role');
  for (const role of shown) {
    const want = [...new Set([...(expected.roles[role]?.dependencies ?? []), ...(expected.include_role[role] ?? [])])].sort();
    assert.equal(roleEdges.filter(([from]) => from === role).map(([, to]) => to).sort(), want, role);
  }
  const include = graph.edges.find((edge) => edge.from === 'r_edxapp' && edge.to === 'r_jwt_signature');
  assert.is(include?.kind, 'import_role', 'include_role/import_role edges keep their kind');
  assert.ok(include);
  assert.ok(renderGraph(graph, 'mermaid').includes(`  ${include.from} -.-> ${include.to}`));
  // Roles no play here reaches are not drawn.
  assert.not.ok(shown.includes('antivirus'));
});

test("README's Graph section is what `dockmk graph --format mermaid` prints for this repository", async () => {
  let stdout = '';
  const io: Io = {
    stdout: { write: (chunk: string) => ((stdout += chunk), true) },
    stderr: { write: () => true },
    env: { HOME: '/nonexistent', DOCKMK_STATE_DIR: STATE_DIR },
    cwd: REPO_ROOT,
    signal: new AbortController().signal,
    now: () => 0,
  };
  assert.is(await main(['graph', '--format', 'mermaid'], io), 0);
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Graph\n'));
  const block = /```mermaid\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'README.md has a ```mermaid block in its "## Graph" section');
  assert.is(block, stdout);
});

test.run();
