// The status page's pictures as inline SVG, drawn here (no library, no script): the service
// graph in layers, parents above children, each service in the colour of its state; and the
// durations of the recorded builds, one line per service. Pure and deterministic.

import type { ServiceState } from '../plan/changes.js';
import type { Graph } from './graph.js';
import type { PageDuration } from './page-data.js';

const STATE_CLASS: Record<ServiceState, string> = { built: 'built', 'not-built': 'not-built', modified: 'modified' };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const NODE_HEIGHT = 30;
const ROW_GAP = 46;
const COLUMN_GAP = 18;
const CHAR_WIDTH = 7.4;
const MARGIN = 12;

/** Layers by longest path from a root; inside a layer, by the mean position of the parents (one sweep). */
export function layoutGraph(graph: Graph, maxWidth = 1400): { id: string; label: string; kind: string; layer: number; x: number; y: number; width: number }[] {
  const parents = new Map<string, string[]>();
  for (const edge of graph.edges) parents.set(edge.to, [...(parents.get(edge.to) ?? []), edge.from]);
  const layer = new Map<string, number>();
  const depth = (id: string, seen: Set<string>): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0; // a cycle (lint reports it): draw it, do not loop
    seen.add(id);
    const value = Math.max(-1, ...(parents.get(id) ?? []).map((parent) => depth(parent, seen))) + 1;
    layer.set(id, value);
    return value;
  };
  for (const node of graph.nodes) depth(node.id, new Set());
  const rows: (typeof graph.nodes)[number][][] = [];
  for (const node of graph.nodes) (rows[layer.get(node.id) ?? 0] ??= []).push(node);
  const position = new Map<string, number>();
  const placed: { id: string; label: string; kind: string; layer: number; x: number; y: number; width: number }[] = [];
  // A layer wider than the page wraps onto more lines; every line of a layer comes before the next layer's.
  let line = 0;
  rows.forEach((row = [], index) => {
    const centre = (id: string): number => {
      const xs = (parents.get(id) ?? []).map((parent) => position.get(parent)).filter((x): x is number => x !== undefined);
      return xs.length === 0 ? Number.POSITIVE_INFINITY : xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const ordered = [...row].sort((a, b) => centre(a.id) - centre(b.id) || (a.label < b.label ? -1 : 1));
    let x = MARGIN;
    for (const node of ordered) {
      const width = Math.max(70, Math.round(node.label.length * CHAR_WIDTH + 20));
      if (x > MARGIN && x + width > maxWidth) {
        line += 1;
        x = MARGIN;
      }
      placed.push({ id: node.id, label: node.label, kind: node.kind, layer: index, x, y: MARGIN + line * (NODE_HEIGHT + ROW_GAP), width });
      position.set(node.id, x + width / 2);
      x += width + COLUMN_GAP;
    }
    line += 1;
  });
  return placed;
}

/** The service graph; each service links to its tile (`#svc-<name>`). */
export function graphSvg(graph: Graph, states: ReadonlyMap<string, ServiceState>): string {
  const nodes = layoutGraph(graph);
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const width = Math.max(200, ...nodes.map((node) => node.x + node.width + MARGIN));
  const height = Math.max(60, ...nodes.map((node) => node.y + NODE_HEIGHT + MARGIN));
  const edges = graph.edges.flatMap((edge) => {
    const from = byId.get(edge.from);
    const to = byId.get(edge.to);
    if (from === undefined || to === undefined) return [];
    const x1 = from.x + from.width / 2;
    const y1 = from.y + NODE_HEIGHT;
    const x2 = to.x + to.width / 2;
    const y2 = to.y;
    const bend = (y2 - y1) / 2;
    return [`<path class="edge${edge.kind === 'copy' ? ' copy' : ''}" d="M${x1} ${y1} C${x1} ${y1 + bend} ${x2} ${y2 - bend} ${x2} ${y2 - 4}" marker-end="url(#arrow)"/>`];
  });
  const boxes = nodes.map((node) => {
    const state = node.kind === 'service' ? states.get(node.label) : undefined;
    const cls = node.kind === 'service' ? `node service ${state ? STATE_CLASS[state] : 'other'}` : 'node external';
    const box = `<rect x="${node.x}" y="${node.y}" width="${node.width}" height="${NODE_HEIGHT}" rx="6"/><text x="${node.x + node.width / 2}" y="${node.y + NODE_HEIGHT / 2 + 4}">${escapeXml(node.label)}</text>`;
    const title = `<title>${escapeXml(node.label)}${state ? `: ${state.replace('-', ' ')}` : node.kind === 'external' ? ' (external base)' : ''}</title>`;
    return node.kind === 'service' && state
      ? `<a href="#svc-${escapeXml(node.label)}" class="${cls}" data-service="${escapeXml(node.label)}" data-state="${state}">${title}${box}</a>`
      : `<g class="${cls}">${title}${box}</g>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="service graph, parents above children">`,
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0 L8 4 L0 8 z" class="arrowhead"/></marker></defs>',
    ...edges,
    ...boxes,
    '</svg>',
  ].join('\n');
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#e15759', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];

/** Durations per run, one polyline per service (x: the run, in order; y: seconds). */
export function durationChartSvg(points: readonly PageDuration[]): string {
  if (points.length === 0) return '<p class="empty">No build recorded yet: the chart fills as dockmk builds.</p>';
  const runs: string[] = [];
  const startOf = new Map<string, string>();
  for (const point of points) {
    if (!runs.includes(point.run)) runs.push(point.run);
    if (!startOf.has(point.run)) startOf.set(point.run, point.at);
  }
  // `2026-12-01T10:06:55.014Z` → `12-01 10:06`
  const when = (run: string | undefined): string => (startOf.get(run ?? '') ?? '').slice(5, 16).replace('T', ' ');
  const services = [...new Set(points.map((point) => point.service))].sort();
  const left = 52;
  const top = 12;
  const plotWidth = Math.max(260, runs.length * 36);
  const plotHeight = 180;
  const legendWidth = 20 + Math.max(...services.map((name) => name.length)) * CHAR_WIDTH;
  const width = left + plotWidth + 24 + legendWidth;
  const height = top + plotHeight + 46;
  const maxSeconds = niceCeiling(Math.max(...points.map((point) => point.durationMs)) / 1000);
  const x = (run: string): number => left + (runs.length === 1 ? plotWidth / 2 : (runs.indexOf(run) / (runs.length - 1)) * plotWidth);
  const y = (ms: number): number => top + plotHeight - (ms / 1000 / maxSeconds) * plotHeight;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((fraction) => {
    const seconds = maxSeconds * fraction;
    const ty = top + plotHeight - fraction * plotHeight;
    return `<line class="grid" x1="${left}" x2="${left + plotWidth}" y1="${ty}" y2="${ty}"/><text class="tick" x="${left - 6}" y="${ty + 4}" text-anchor="end">${formatSeconds(seconds)}</text>`;
  });
  const series = services.map((service, index) => {
    const colour = PALETTE[index % PALETTE.length] as string;
    const mine = points.filter((point) => point.service === service);
    const line = mine.map((point) => `${x(point.run).toFixed(1)},${y(point.durationMs).toFixed(1)}`).join(' ');
    const dots = mine
      .map((point) => `<circle cx="${x(point.run).toFixed(1)}" cy="${y(point.durationMs).toFixed(1)}" r="3" fill="${colour}"><title>${escapeXml(service)} ${escapeXml(point.at)}: ${formatSeconds(point.durationMs / 1000)}</title></circle>`)
      .join('');
    const legendY = top + 10 + index * 16;
    return `<g class="series" data-service="${escapeXml(service)}"><polyline fill="none" stroke="${colour}" stroke-width="2" points="${line}"/>${dots}<rect x="${left + plotWidth + 24}" y="${legendY - 8}" width="10" height="10" fill="${colour}"/><text class="legend" x="${left + plotWidth + 38}" y="${legendY + 1}">${escapeXml(service)}</text></g>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${Math.max(height, top + 20 + services.length * 16)}" viewBox="0 0 ${width} ${Math.max(height, top + 20 + services.length * 16)}" role="img" aria-label="build durations over the recorded runs">`,
    ...ticks,
    `<line class="axis" x1="${left}" x2="${left + plotWidth}" y1="${top + plotHeight}" y2="${top + plotHeight}"/>`,
    `<text class="tick" x="${left}" y="${top + plotHeight + 18}">${escapeXml(when(runs[0]))}</text>`,
    `<text class="tick" x="${left + plotWidth}" y="${top + plotHeight + 18}" text-anchor="end">${escapeXml(when(runs.at(-1)))}</text>`,
    `<text class="tick" x="${left + plotWidth / 2}" y="${top + plotHeight + 36}" text-anchor="middle">${runs.length} run${runs.length === 1 ? '' : 's'}, oldest to newest</text>`,
    ...series,
    '</svg>',
  ].join('\n');
}

function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(seconds < 10 ? 2 : 0))}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
}
