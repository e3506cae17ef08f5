// The checkout as a picture: the service graph (parent → child through FROM and COPY --from,
// external bases as nodes of their own) or the role graph (play → role → role), rendered as
// Mermaid, Graphviz DOT or JSON. Pure and deterministic: nodes and edges sorted.

import type { Checkout } from '../model/checkout.js';
import type { ReferenceKind, RoleGraph } from '../model/roles.js';

export type GraphFormat = 'mermaid' | 'dot' | 'json';

export type NodeKind = 'service' | 'external' | 'play' | 'role' | 'missing-role';

/** service graph: `from`, `copy` (COPY --from); role graph: how the file names the role. */
export type EdgeKind = 'from' | 'copy' | ReferenceKind;

export interface GraphNode {
  /** Unique, safe in Mermaid and DOT: letters, digits and `_`. */
  readonly id: string;
  readonly kind: NodeKind;
  /** What people read: the service, the image, the play path, the role. */
  readonly label: string;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
}

export interface Graph {
  readonly kind: 'services' | 'roles';
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

const PREFIX: Record<NodeKind, string> = { service: 's', external: 'x', play: 'p', role: 'r', 'missing-role': 'm' };

class Builder {
  private readonly byKey = new Map<string, { kind: NodeKind; label: string }>();
  private readonly edgeKeys = new Map<string, GraphEdge>();

  node(kind: NodeKind, label: string): string {
    const key = `${kind}\0${label}`;
    if (!this.byKey.has(key)) this.byKey.set(key, { kind, label });
    return key;
  }

  edge(from: string, to: string, kind: EdgeKind): void {
    const key = `${from}\0\0${to}\0\0${kind}`;
    if (!this.edgeKeys.has(key)) this.edgeKeys.set(key, { from, to, kind });
  }

  build(kind: Graph['kind']): Graph {
    const sorted = [...this.byKey].sort(([a], [b]) => compare(a, b));
    const ids = new Map<string, string>();
    const used = new Set<string>();
    for (const [key, node] of sorted) {
      const base = `${PREFIX[node.kind]}_${node.label.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '')}`;
      let id = base;
      for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
      used.add(id);
      ids.set(key, id);
    }
    const nodes = sorted.map(([key, node]) => ({ id: ids.get(key) as string, kind: node.kind, label: node.label }));
    const edges = [...this.edgeKeys.values()]
      .map((edge) => ({ from: ids.get(edge.from) as string, to: ids.get(edge.to) as string, kind: edge.kind }))
      .sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to) || compare(a.kind, b.kind));
    return { kind, nodes, edges };
  }
}

/** Services and the images they build on: an edge from each base to the service built on it. */
export function serviceGraph(checkout: Checkout): Graph {
  const graph = new Builder();
  for (const service of checkout.services.values()) {
    const child = graph.node('service', service.name);
    for (const base of service.bases) {
      const parent = base.parent !== null ? graph.node('service', base.parent) : graph.node('external', base.image);
      graph.edge(parent, child, base.instruction === 'FROM' ? 'from' : 'copy');
    }
  }
  return graph.build('services');
}

/** The given play files, the roles they use and every role those pull in (meta, include_role, import_role). */
export function roleGraph(roles: RoleGraph, plays: readonly string[]): Graph {
  const graph = new Builder();
  const queue: string[] = [];
  const roleNode = (name: string): string => graph.node(roles.roles.has(name) ? 'role' : 'missing-role', name);
  for (const path of plays) {
    const play = graph.node('play', path);
    for (const reference of roles.playFiles.get(path)?.roles ?? []) {
      graph.edge(play, roleNode(reference.role), reference.kind);
      queue.push(reference.role);
    }
  }
  const seen = new Set<string>();
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const reference of roles.roles.get(name)?.dependencies ?? []) {
      graph.edge(roleNode(name), roleNode(reference.role), reference.kind);
      queue.push(reference.role);
    }
  }
  return graph.build('roles');
}

export function renderGraph(graph: Graph, format: GraphFormat): string {
  if (format === 'json') return `${JSON.stringify(graph, null, 2)}\n`;
  return format === 'mermaid' ? renderMermaid(graph) : renderDot(graph);
}

const MERMAID_SHAPES: Record<NodeKind, [string, string]> = {
  service: ['["', '"]'],
  external: ['[("', '")]'],
  play: ['[/"', '"/]'],
  role: ['("', '")'],
  'missing-role': ['{{"', '"}}'],
};

/** Solid arrows: FROM, a play's roles, meta dependencies; dotted: COPY --from, include_role, import_role. */
const DOTTED = new Set<EdgeKind>(['copy', 'include_role', 'import_role']);

function renderMermaid(graph: Graph): string {
  const lines = ['flowchart LR'];
  for (const node of graph.nodes) {
    const [open, close] = MERMAID_SHAPES[node.kind];
    lines.push(`  ${node.id}${open}${node.label.replace(/"/g, '#quot;')}${close}`);
  }
  for (const edge of graph.edges) lines.push(`  ${edge.from} ${DOTTED.has(edge.kind) ? '-.->' : '-->'} ${edge.to}`);
  return `${lines.join('\n')}\n`;
}

const DOT_SHAPES: Record<NodeKind, string> = {
  service: 'shape=box',
  external: 'shape=box, style=dashed',
  play: 'shape=parallelogram',
  role: 'shape=ellipse',
  'missing-role': 'shape=octagon, color=red',
};

function renderDot(graph: Graph): string {
  const quote = (text: string): string => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = [`digraph ${graph.kind} {`, '  rankdir=LR;'];
  for (const node of graph.nodes) lines.push(`  ${node.id} [label=${quote(node.label)}, ${DOT_SHAPES[node.kind]}];`);
  for (const edge of graph.edges) lines.push(`  ${edge.from} -> ${edge.to}${DOTTED.has(edge.kind) ? ' [style=dashed]' : ''};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
