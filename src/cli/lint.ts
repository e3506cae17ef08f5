// dockmk lint [services..]: checks the conventions of each service (src/model/lint.ts), one
// finding a line as `file:line: rule: message` (--json: an array); exit 1 when any is an error.

import type { Argv } from 'yargs';
import { loadConfig } from '../config/config.js';
import { discoverAnsible } from '../discover/ansible.js';
import { discoverCheckout } from '../discover/checkout.js';
import { LintFailedError } from '../errors.js';
import { lintCheckout, lintModel, type Finding } from '../model/lint.js';
import { selectServices } from '../plan/select.js';
import { formatWarnings } from '../report/text.js';
import { configOverrides, globalOptions, type GlobalArgs } from './options.js';
import { ansibleSetup } from './selection.js';
import type { Io } from './session.js';

interface LintArgs extends GlobalArgs {
  services?: string[];
}

export function lintCommand(io: Io) {
  return {
    builder: (yargs: Argv) => globalOptions(yargs).positional('services', { type: 'string', array: true, describe: 'Only these services (default: all)' }),
    handler: async (args: LintArgs): Promise<void> => {
      const config = loadConfig(configOverrides(args), io.env, io.cwd);
      const raw = await discoverCheckout(config);
      const model = lintModel(raw, {
        namespace: config.namespace,
        fromNamespace: config.fromNamespace,
        registry: config.registry,
        buildArgs: config.buildArgs,
        playsDir: config.paths.plays,
      });
      if (model.checkout.warnings.length > 0) io.stderr.write(formatWarnings(model.checkout.warnings));
      const requested = args.services ?? [];
      // Names of services whose Dockerfile does not parse are valid here: that is a finding.
      selectServices(model.checkout, requested.filter((name) => !model.broken.has(name)), config.paths.build);
      const { dirs } = ansibleSetup(config);
      const findings = lintCheckout(
        { model, ansible: discoverAnsible(config.root, dirs), dirs },
        { externalBases: config.externalBases, services: requested.length > 0 ? requested : undefined },
      );
      io.stdout.write(args.json ? `${JSON.stringify(findings, null, 2)}\n` : findings.map((f) => `${formatFinding(f)}\n`).join(''));
      const errors = findings.filter((f) => f.severity === 'error').length;
      const warnings = findings.length - errors;
      const checked = requested.length > 0 ? new Set(requested).size : model.checkout.services.size + model.broken.size;
      const counts = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} in ${checked} service${checked === 1 ? '' : 's'}`;
      if (errors > 0) throw new LintFailedError(`lint: ${counts}`, { hint: 'fix the findings above (README.md, "Lint", explains each rule)' });
      if (!args.json) io.stderr.write(`lint: ${counts}\n`);
    },
  };
}

/** `file:line: rule: message`; a warning says so before its message. */
export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}: ${f.rule}: ${f.severity === 'warning' ? 'warning: ' : ''}${f.message}`;
}
