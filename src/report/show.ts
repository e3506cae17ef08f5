// `dockmk show <svc>`: one service as a contributor needs to see it — its Dockerfile and
// parents, the play and the roles it runs, the tags each command gives it, and the overrides
// its play gets once this run's layers are applied. A projection of the model; decides nothing.

import type { Checkout, Service } from '../model/checkout.js';
import { formatImageRef } from '../model/image-ref.js';
import { layerOverrides, type OverrideLayer, type Overrides } from '../model/overrides.js';
import type { Flavor } from '../plan/flavor.js';
import { localTag } from '../plan/plan.js';
import { table } from './describe.js';

export interface ServiceDetails {
  name: string;
  dockerfile: string;
  /** A declared service's build context and named contexts (`base → target:nodejs`); null in the legacy layout. */
  context: { dir: string; names: string[] } | null;
  from: string[];
  /** This checkout's services it builds on, transitively, nearest first. */
  ancestors: string[];
  children: string[];
  play: string | null;
  /** The roles its play names, then every role it runs (meta dependencies, include_role). */
  roles: { direct: string[]; all: string[] } | null;
  flavor: Flavor;
  tags: { build: string; test: string; pkg: string };
  overrides: { file: string | null; values: Overrides; from: Record<string, string> };
}

export interface ShowInputs {
  readonly checkout: Checkout;
  readonly flavor: Flavor;
  readonly layers: readonly OverrideLayer[];
  /** The service's own overrides, parsed (null: it has no ansible_overrides.yml). */
  readonly own: Overrides | null;
  readonly roles: { direct: readonly string[]; all: ReadonlySet<string> } | null;
}

export function serviceDetails(service: Service, inputs: ShowInputs): ServiceDetails {
  const { checkout, flavor, layers, own } = inputs;
  const ancestors: string[] = [];
  for (let next = [...service.parents]; next.length > 0; ) {
    const fresh = next.filter((name) => !ancestors.includes(name));
    ancestors.push(...fresh);
    next = fresh.flatMap((name) => checkout.services.get(name)?.parents ?? []);
  }
  const from: Record<string, string> = {};
  for (const key of Object.keys(own ?? {})) from[key] = service.overrides?.path ?? '';
  for (const layer of layers) for (const key of Object.keys(layer.values)) from[key] = layer.source;
  return {
    name: service.name,
    dockerfile: service.dockerfile.path,
    context:
      service.origin === null
        ? null
        : { dir: service.context, names: Object.entries(service.contexts).map(([name, value]) => `${name} → ${value.kind === 'service' ? `target:${value.service}` : value.kind === 'image' ? `docker-image://${value.image}` : value.value}`) },
    from: service.bases.filter((base) => base.instruction === 'FROM').map((base) => base.image),
    ancestors,
    children: [...checkout.services.values()].filter((other) => other.parents.includes(service.name)).map((other) => other.name).sort(),
    play: service.play,
    roles: inputs.roles ? { direct: [...new Set(inputs.roles.direct)].sort(), all: [...inputs.roles.all].sort() } : null,
    flavor,
    tags: {
      build: formatImageRef(localTag('build', service.name, flavor)),
      test: formatImageRef(localTag('test', service.name, flavor)),
      pkg: formatImageRef(localTag('pkg', service.name, flavor)),
    },
    overrides: { file: service.overrides?.path ?? null, values: layerOverrides(own ?? {}, layers), from },
  };
}

export function formatServiceDetails(details: ServiceDetails): string {
  const rows: string[][] = [
    ['dockerfile', details.dockerfile],
    ...(details.context === null ? [] : [['context', `${details.context.dir}${details.context.names.length > 0 ? ` (${details.context.names.join(', ')})` : ''}`]]),
    ['from', details.from.join(', ')],
    ['parents', details.ancestors.length > 0 ? details.ancestors.join(' ← ') : '- (external base only)'],
    ['children', details.children.join(', ') || '-'],
    ['play', details.play ?? '- (runs no play of docker/plays)'],
    ['roles', details.roles ? `${details.roles.all.join(', ')}${details.roles.direct.length > 0 ? ` (named by the play: ${details.roles.direct.join(', ')})` : ''}` : '-'],
    ['tags', `build ${details.tags.build}, test ${details.tags.test}, pkg ${details.tags.pkg}${details.flavor === 'devstack' ? ' (devstack flavor)' : ''}`],
    ['overrides', details.overrides.file ?? '- (no ansible_overrides.yml)'],
  ];
  const values = Object.entries(details.overrides.values).map(([key, value]) => [`  ${key}`, JSON.stringify(value), `(${details.overrides.from[key]})`]);
  const indent = (text: string): string => text.replace(/^(?=.)/gm, '  ');
  return `${details.name}\n${indent(table(rows))}${values.length > 0 ? indent(table(values)) : ''}`;
}
