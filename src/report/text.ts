// Human-readable outputs that are not progress: the plan (--dry-run), the service list,
// warnings.

import type { Checkout, Warning } from '../model/checkout.js';
import type { BuildPlan } from '../plan/types.js';
import { describeStep, table } from './describe.js';

export type { Output } from './describe.js';

export function formatPlanText(plan: BuildPlan): string {
  if (plan.steps.length === 0) return `${plan.command}: nothing to do\n`;
  const width = String(plan.steps.length).length;
  const lines = plan.steps.map((step, i) => `${String(i + 1).padStart(width)}. ${describeStep(step)}`);
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
