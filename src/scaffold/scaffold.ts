// `dockmk new <svc>`: the files of a new service that follows the conventions `dockmk lint`
// checks, rendered from the Handlebars templates in ./templates. Pure: names, the checkout
// model and the template texts in; paths and texts out (./files.ts reads and writes).

import Handlebars from 'handlebars';
import { posix } from 'node:path';
import type { Paths } from '../config/config.js';
import { UsageError } from '../errors.js';
import { checkoutParent, type Checkout } from '../model/checkout.js';
import { parseImageRef } from '../model/image-ref.js';
import { matchesImagePattern } from '../model/lint.js';

export const TEMPLATE_NAMES = ['Dockerfile', 'ansible_overrides.yml', 'play.yml', 'role-tasks.yml', 'role-defaults.yml', 'role-meta.yml'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];
export type Templates = Readonly<Record<TemplateName, string>>;

/** The image the new service builds FROM: a service of this checkout, or an image from elsewhere. */
export type Parent = { readonly kind: 'service'; readonly name: string } | { readonly kind: 'image'; readonly image: string };

export interface ScaffoldInput {
  readonly service: string;
  readonly parent: Parent;
  readonly namespace: string;
  readonly paths: Paths;
  /** The checkout has a role `common`: the play and the role's meta use it, as the examples do. */
  readonly common: boolean;
}

export interface ScaffoldFile {
  /** Relative to the checkout root. */
  readonly path: string;
  readonly text: string;
}

const SERVICE_NAME = /^[a-z][a-z0-9_-]*$/;

/** Lowercase letters, digits, `-` and `_`, starting with a letter, and a valid image name. */
export function validateServiceName(name: string): void {
  if (!SERVICE_NAME.test(name) || !/[a-z0-9]$/.test(name) || /[-_]{2}|_-|-_/.test(name)) {
    throw new UsageError(`"${name}" is not a valid service name`, {
      hint: 'use lowercase letters and digits, with single "-" or "_" between them, starting with a letter (e.g. my-app)',
    });
  }
}

/** The role of a service: its name with `_` for `-` (service hello-app, role hello_app). */
export function roleOf(service: string): string {
  return service.replace(/-/g, '_');
}

/**
 * The checkout's common base: among the services named *-common that build on no service of
 * the checkout, the one with the most descendants (then the first by name); null if none.
 */
export function commonBase(checkout: Checkout): string | null {
  const children = new Map<string, string[]>();
  for (const service of checkout.services.values()) for (const parent of service.parents) children.set(parent, [...(children.get(parent) ?? []), service.name]);
  const descendants = (name: string): number => {
    const seen = new Set<string>();
    const stack = [...(children.get(name) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop() as string;
      if (!seen.has(next) && seen.add(next)) stack.push(...(children.get(next) ?? []));
    }
    return seen.size;
  };
  const roots = [...checkout.services.values()].filter((s) => s.name.endsWith('-common') && s.parents.length === 0).map((s) => s.name);
  roots.sort((a, b) => descendants(b) - descendants(a) || (a < b ? -1 : 1));
  return roots[0] ?? null;
}

/** `--from`: a service name, `<namespace>/<svc>[:tag]`, or an external image allowed by externalBases. */
export function resolveParent(
  from: string | undefined,
  checkout: Checkout,
  options: { readonly namespace: string; readonly registry: string | null; readonly externalBases: readonly string[] },
): Parent {
  if (from === undefined) {
    const base = commonBase(checkout);
    if (base === null) {
      throw new UsageError('this checkout has no common base image (a service named *-common built FROM an outside image)', {
        hint: 'name the parent: --from <service> or --from debian:bookworm',
      });
    }
    return { kind: 'service', name: base };
  }
  if (checkout.services.has(from)) return { kind: 'service', name: from };
  const parsed = parseImageRef(from);
  if (!parsed.ok) throw new UsageError(`--from ${from}: ${parsed.reason}`, { hint: 'name a service of this checkout or an image, e.g. debian:bookworm' });
  const base = { instruction: 'FROM' as const, line: 1, endLine: 1, written: from, image: from, source: { kind: 'image' as const, ref: parsed.ref } };
  const parent = checkoutParent(base, new Set(checkout.services.keys()), options);
  if (parent !== null) return { kind: 'service', name: parent };
  if (!options.externalBases.some((pattern) => matchesImagePattern(parsed.ref, pattern))) {
    throw new UsageError(`--from ${from} is neither a service of this checkout nor an allowed external base (${options.externalBases.join(', ') || 'none'})`, {
      hint: 'name a service, or add the image to externalBases in dockmk.yml so that `dockmk lint` accepts it',
    });
  }
  return { kind: 'image', image: from };
}

/** The paths `dockmk new` writes, in the order it writes them. */
export function scaffoldPaths(service: string, paths: Paths): string[] {
  const role = roleOf(service);
  const roleDir = posix.join(paths.roles, role);
  return [
    posix.join(paths.build, service, 'Dockerfile'),
    posix.join(paths.build, service, 'ansible_overrides.yml'),
    posix.join(paths.plays, `${service}.yml`),
    posix.join(roleDir, 'tasks', 'main.yml'),
    posix.join(roleDir, 'defaults', 'main.yml'),
    posix.join(roleDir, 'meta', 'main.yml'),
  ];
}

export function renderScaffold(input: ScaffoldInput, templates: Templates): ScaffoldFile[] {
  validateServiceName(input.service);
  const handlebars = Handlebars.create();
  // `{{jinja role "_dir"}}` writes the Jinja expression `{{ demo_dir }}` into the output.
  handlebars.registerHelper('jinja', (...args: unknown[]) => `{{ ${args.slice(0, -1).map(String).join('')} }}`);
  const role = roleOf(input.service);
  const data = {
    service: input.service,
    role,
    upper: role.toUpperCase(),
    namespace: input.namespace,
    parentService: input.parent.kind === 'service' ? input.parent.name : null,
    parentImage: input.parent.kind === 'image' ? input.parent.image : null,
    common: input.common,
    buildDir: input.paths.build,
    playsDir: input.paths.plays,
    rolesDir: input.paths.roles,
  };
  const paths = scaffoldPaths(input.service, input.paths);
  return TEMPLATE_NAMES.map((name, i) => ({
    path: paths[i] as string,
    text: handlebars.compile(templates[name], { noEscape: true, strict: true })(data),
  }));
}
