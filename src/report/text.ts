// Human-readable outputs that are not progress: the plan (--dry-run), the service list,
// warnings.

import type { Checkout, Warning } from '../model/checkout.js';
import { formatImageRef } from '../model/image-ref.js';
import type { BuildPlan } from '../plan/types.js';
import { describeStep, table } from './describe.js';

export type { Output } from './describe.js';

export function formatPlanText(plan: BuildPlan): string {
  if (plan.steps.length === 0) return `${plan.command}: nothing to do\n`;
  const width = String(plan.steps.length).length;
  const lines = plan.steps.map((step, i) => {
    const line = `${String(i + 1).padStart(width)}. ${describeStep(step)}`;
    if (step.kind !== 'build') return line;
    const notes = [
      ...(step.flavor === 'devstack' ? ['flavor devstack (with the devstack:install tasks)'] : []),
      ...(step.cacheFrom.length > 0 ? [`cache from ${step.cacheFrom.map(formatImageRef).join(', ')}`] : []),
      ...(step.overrides ? [`overrides ${Object.entries(step.overrides).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(' ')}`] : []),
    ];
    return notes.length === 0 ? line : `${line}\n${' '.repeat(width + 2)}${notes.join('; ')}`;
  });
  return `${plan.command}: ${plan.steps.length} steps (dry run, nothing was run)\n${lines.join('\n')}\n`;
}

export function formatServicesText(checkout: Checkout): string {
  const rows = [...checkout.services.values()].map((service) => [
    service.name,
    service.parents.join(', ') || '-',
    service.bases.filter((base) => base.instruction === 'FROM').map((base) => base.image).join(', '),
  ]);
  return table([['SERVICE', 'PARENTS', 'FROM'], ...rows]);
}

export function formatWarnings(warnings: readonly Warning[]): string {
  return warnings.map((warning) => `warning: ${warning.file}: ${warning.message}\n`).join('');
}
