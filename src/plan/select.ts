// Turns the names on the command line into services, or says which name is wrong and what
// was probably meant. No names means every service.

import { closest, distance } from 'fastest-levenshtein';
import { UsageError } from '../errors.js';
import type { Checkout } from '../model/checkout.js';

export function selectServices(checkout: Checkout, requested: readonly string[], buildDir = 'docker/build'): string[] {
  const all = [...checkout.services.keys()];
  if (requested.length === 0) return all;
  const selected: string[] = [];
  for (const name of requested) {
    if (name.includes('/') || name.includes('\\') || name.includes('..') || name.trim() === '') {
      const named = checkout.layout === 'bake' ? 'a target of the bake file' : checkout.layout === 'services' ? 'named as services: in dockmk.yml names it' : `named by its directory under ${buildDir}/`;
      throw new UsageError(`"${name}" is not a service name`, {
        hint: `a service is ${named}, e.g. \`dockmk build ${all[0] ?? 'forum'}\``,
      });
    }
    // A bake group selects its targets (a service of the same name wins, as bake's targets do).
    const group = checkout.services.has(name) ? undefined : checkout.groups?.[name];
    if (group !== undefined) {
      for (const member of group) if (!selected.includes(member)) selected.push(member);
      continue;
    }
    const notService = checkout.notServices.get(name);
    if (notService !== undefined) {
      throw new UsageError(`${buildDir}/${name} is not a service: ${notService}`, {
        hint: `a service is a directory of ${buildDir}/ holding a Dockerfile (Dockerfile.noci and the like are not built)`,
      });
    }
    if (!checkout.services.has(name)) throw new UsageError(`unknown service "${name}"`, { hint: suggestion(name, all, buildDir) });
    if (!selected.includes(name)) selected.push(name);
  }
  return selected;
}

function suggestion(name: string, all: readonly string[], buildDir: string): string {
  if (all.length === 0) return `there is no ${buildDir}/<service>/Dockerfile in this checkout`;
  const near = all
    .map((candidate) => ({ candidate, score: distance(name, candidate) }))
    .filter(({ candidate, score }) => score <= Math.max(2, Math.floor(candidate.length / 3)) || candidate.includes(name))
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate))
    .slice(0, 3)
    .map(({ candidate }) => candidate);
  if (near.length === 0) near.push(closest(name, all as string[]));
  return `did you mean ${near.join(', ')}? (\`dockmk list\` shows every service)`;
}
