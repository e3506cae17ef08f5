// Flavors: the same service built with or without the tasks tagged `devstack:install`.
//
// Legacy Dockerfiles list `devstack:install` in `ansible-playbook -t`, so as written they build
// the devstack image. The plain flavor adds `--skip-tags=devstack:install` to every
// ansible-playbook command of the rendered Dockerfile: skip tags win over `-t` in Ansible,
// and an argument, unlike ANSIBLE_SKIP_TAGS in the environment, survives `sudo` (which resets
// the environment) and needs no new line, so engine errors keep their line numbers. The
// devstack flavor adds `--tags=devstack:install` where a command selects tags without it.

import { DiscoveryError } from '../errors.js';
import type { Dockerfile, PlaybookRun } from '../model/dockerfile.js';

export type Flavor = 'plain' | 'devstack';

export const DEVSTACK_TAG = 'devstack:install';

/** What the local and published tags of a flavor end with: `nginx:test-devstack`. */
export function flavorSuffix(flavor: Flavor): string {
  return flavor === 'devstack' ? '-devstack' : '';
}

/**
 * ansible-playbook where a shell runs it as the command: at the start of the RUN or of a
 * continuation line, or after `&&`, `||`, `;`, `|`, `(`, behind `sudo [options]`, `env`,
 * `exec` or `NAME=value` words (an argument such as `ln -s /usr/bin/ansible-playbook` is not).
 */
const SHELL_COMMAND =
  /(^\s*(?:RUN\s+)?|(?:&&|\|\||;|\||\()\s*)((?:(?:sudo|env|exec)(?:\s+-\S+(?:\s+[A-Za-z_][\w-]*)?)*\s+|[A-Za-z_]\w*=\S*\s+)*)((?:[^\s;&|()'"]*\/)?ansible-playbook)(?=\s|$)/gi;

/**
 * `text` is the Dockerfile about to be sent (its FROM lines possibly rewritten, every other
 * line as in `dockerfile`); returns it with the flavor's arguments added to each play run.
 */
export function applyFlavor(dockerfile: Dockerfile, text: string, flavor: Flavor): string {
  const edits = dockerfile.playbookRuns.map((run) => ({ run, argument: flavorArgument(dockerfile, run, flavor) }));
  if (edits.every((edit) => edit.argument === null)) return text;
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const physical = text.split(/\r?\n/);
  // Several plays in one RUN share its lines: edit each instruction once.
  const byLine = new Map<number, { run: PlaybookRun; argument: string | null }[]>();
  for (const edit of edits) byLine.set(edit.run.line, [...(byLine.get(edit.run.line) ?? []), edit]);
  for (const [line, runs] of byLine) {
    const { run } = runs[0] as { run: PlaybookRun };
    const argument = runs.map((edit) => edit.argument).find((value) => value !== null);
    if (argument === undefined || argument === null) continue;
    let changed = false;
    for (let index = line - 1; index < run.endLine; index++) {
      const before = physical[index] as string;
      const after = run.execForm
        ? before.replace(/("(?:[^"\s]*\/)?ansible-playbook")(\s*,)/g, `$1, "${argument}"$2`)
        : before.replace(SHELL_COMMAND, `$1$2$3 ${argument}`);
      changed ||= after !== before;
      physical[index] = after;
    }
    if (!changed) {
      throw new DiscoveryError(dockerfile.path, line, `cannot add ${argument} to this RUN's ansible-playbook command`, {
        hint: 'write the ansible-playbook command on the RUN line itself, not through a variable or wrapper',
      });
    }
  }
  return physical.join(newline);
}

function flavorArgument(dockerfile: Dockerfile, run: PlaybookRun, flavor: Flavor): string | null {
  if (flavor === 'plain') return run.skipTags.includes(DEVSTACK_TAG) ? null : `--skip-tags=${DEVSTACK_TAG}`;
  if (run.skipTags.includes(DEVSTACK_TAG)) {
    throw new DiscoveryError(dockerfile.path, run.line, `the play run skips ${DEVSTACK_TAG}, so the devstack flavor cannot include those tasks`, {
      hint: `remove ${DEVSTACK_TAG} from --skip-tags: dockmk adds it for the plain flavor itself`,
    });
  }
  return run.tags.length > 0 && !run.tags.includes(DEVSTACK_TAG) && !run.tags.includes('all') ? `--tags=${DEVSTACK_TAG}` : null;
}
