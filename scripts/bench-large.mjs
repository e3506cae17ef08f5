// npm run bench, its generated-checkout section (scripts/bench.mjs runs it): a legacy-shaped
// checkout of BENCH_SERVICES services and BENCH_ROLES roles (scripts/gen-repo.mjs, seed 1), cold
// and warm: the dry-run plan of every service (and after one role's edit), `affected` for a
// typical change and for a change to role `common`, side by side with the legacy parsefiles.py.

import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateRepo } from './gen-repo.mjs';
import { checkoutSize, legacyParsefiles, ms, ratio, sideBySide, timeOnce } from './bench-lib.mjs';

/** The generated checkout's size: 2,000 services and 5,000 roles unless told (a quick try of the bench). */
const LARGE = { services: Number(process.env.BENCH_SERVICES ?? 2000), roles: Number(process.env.BENCH_ROLES ?? 5000) };

/** The typical change of a pull request, and a change to the role every service uses. */
function changeSets(made, dir) {
  const roles = made.roles;
  const byLayer = (layer) => roles.filter((role) => role.layer === layer);
  const pick = (list, i) => list[(i * 7919) % list.length].name;
  const services = made.services.filter((s) => s.parent !== null);
  const copier = made.services.find((s) => s.copies);
  const typical = [
    `playbooks/roles/${pick(byLayer(3), 1)}/tasks/main.yml`,
    `playbooks/roles/${pick(byLayer(3), 2)}/defaults/main.yml`,
    `playbooks/roles/${pick(byLayer(2), 3)}/tasks/main.yml`,
    `playbooks/roles/${pick(byLayer(2), 4)}/meta/main.yml`,
    `playbooks/roles/${pick(byLayer(1), 5)}/tasks/main.yml`,
    `docker/plays/${services[10].play ?? services[10].name}.yml`,
    `docker/build/${services[20].name}/Dockerfile`,
    `docker/build/${services[30].name}/ansible_overrides.yml`,
    copier ? `docker/build/${copier.name}/files/${copier.name}.conf` : 'README.md',
    'playbooks/site-100.yml',
    'README.md',
  ];
  return [
    { name: `typical change (${typical.length} files)`, key: 'typical', paths: typical },
    { name: 'role common changed', key: 'common', paths: ['playbooks/roles/common/tasks/main.yml'] },
  ].map((set) => {
    const text = `${set.paths.join('\n')}\n`;
    const file = join(dir, `changes-${set.key}.txt`);
    writeFileSync(file, text);
    return { ...set, text, file };
  });
}

export function largeCheckout(work, { builds, dockmk, fresh, baseline }) {
  if (process.env.BENCH_LARGE === '0') return ['NOT MEASURED: BENCH_LARGE=0'];
  const repo = join(work, 'repo');
  const started = performance.now();
  const made = generateRepo(repo, LARGE);
  const size = checkoutSize(repo);
  const lines = [`${made.services.length} services, ${made.roles.length} roles, ${size.files} files, ${(size.bytes / 2 ** 20).toFixed(1)} MB; generated in ${ms(performance.now() - started)}`];
  const state = (name) => join(work, `state-${name}`);

  // The dry-run plan of every service: input hashing included. Warm: the same command again on
  // the unchanged checkout (answered by the plan memo). Edited: warm caches, but one role's tasks
  // edited before each sample (dated 10 s back, as a run a little after an edit sees it), so
  // the memo has no answer and the checkout is read, modelled and planned again; the file is
  // put back as it was (text and mtime) after each, for the warm runs that share the checkout.
  const plan = [{ label: 'node -e 0', command: process.execPath, args: ['-e', '0'], options: {} }];
  const edited = join(repo, 'playbooks/roles/common/tasks/main.yml');
  const original = { text: readFileSync(edited, 'utf8'), mtime: statSync(edited).mtime };
  let edits = 0;
  const edit = () => {
    edits += 1;
    writeFileSync(edited, `${original.text}# edit ${edits}\n`);
    const when = (Date.now() - 10_000) / 1000;
    utimesSync(edited, when, when);
  };
  const unedit = () => {
    writeFileSync(edited, original.text);
    utimesSync(edited, original.mtime, original.mtime);
  };
  for (const [name, bin] of builds) {
    const warm = state(`${name}-plan-warm`);
    const args = ['test', '--dry-run', '--json', '--root', repo];
    timeOnce(dockmk('prime', bin, args, { DOCKMK_STATE_DIR: warm }));
    plan.push(dockmk(`${name} cold`, bin, args, { DOCKMK_STATE_DIR: state(`${name}-plan-cold`) }, { before: fresh(state(`${name}-plan-cold`)) }));
    plan.push(dockmk(`${name} warm`, bin, args, { DOCKMK_STATE_DIR: warm }));
    plan.push(dockmk(`${name} edited`, bin, args, { DOCKMK_STATE_DIR: state(`${name}-plan-edited`) }, { before: edit, after: unedit }));
  }
  // The edited runs' state primed once (the first sample then runs with warm caches too).
  for (const [name, bin] of builds) timeOnce(dockmk('prime', bin, ['test', '--dry-run', '--json', '--root', repo], { DOCKMK_STATE_DIR: state(`${name}-plan-edited`) }));
  const planned = sideBySide(plan);
  const steps = JSON.parse(planned['dockmk warm'].stdout).steps.length;
  const node = planned['node -e 0'].ms;
  lines.push(`dry-run plan of every service (dockmk test --dry-run --json, ${steps} steps, input hashes included; node -e 0 ${ms(node)}): ` +
    builds.map(([name]) => `${name} cold ${ms(planned[`${name} cold`].ms)}, warm ${ms(planned[`${name} warm`].ms)} (${ratio(planned[`${name} warm`].ms, node)} node -e 0), one role edited ${ms(planned[`${name} edited`].ms)}`).join('; ') +
    ` (target: warm under 1 s${planned['dockmk warm'].ms < 1000 ? ', met' : ', NOT met'})`);

  const legacy = legacyParsefiles(join(work, 'legacy'));
  if (legacy.error) lines.push(`!!! parsefiles.py NOT MEASURED: ${legacy.error}`);
  else lines.push(`legacy util/parsefiles.py from ${legacy.source} (imports ${legacy.imports.join(', ')})${legacy.notes.map((note) => `; ${note}`).join('')}`);
  for (const changes of changeSets(made, work)) {
    const runs = [];
    for (const [name, bin] of builds) {
      const args = ['affected', '--files', changes.file, '--root', repo];
      const warm = state(`${name}-${changes.key}-warm`);
      timeOnce(dockmk('prime', bin, args, { DOCKMK_STATE_DIR: warm }));
      runs.push(dockmk(`${name} cold`, bin, args, { DOCKMK_STATE_DIR: state(`${name}-${changes.key}-cold`) }, { before: fresh(state(`${name}-${changes.key}-cold`)) }));
      runs.push(dockmk(`${name} warm`, bin, args, { DOCKMK_STATE_DIR: warm }));
    }
    if (!legacy.error) runs.push({ label: 'parsefiles', command: 'python3', args: [legacy.script], options: { env: { ...legacy.env, TRAVIS_BUILD_DIR: repo }, input: changes.text } });
    const r = sideBySide(runs);
    const count = (label) => r[label].stdout.trim().split(/\s+/).filter(Boolean).length;
    const parts = builds.map(([name]) => `${name} cold ${ms(r[`${name} cold`].ms)}, warm ${ms(r[`${name} warm`].ms)}`);
    lines.push(`affected, ${changes.name}: ${parts.join('; ')} (${count('dockmk warm')} services)`);
    if (!legacy.error) {
      const target = changes.key === 'typical' ? ` (target ≥ 10× warm: ${r.parsefiles.ms / r['dockmk warm'].ms >= 10 ? 'met' : 'NOT met'})` : '';
      lines.push(`  parsefiles.py ${ms(r.parsefiles.ms)} (${count('parsefiles')} images): dockmk is ${ratio(r.parsefiles.ms, r['dockmk warm'].ms)} faster warm, ${ratio(r.parsefiles.ms, r['dockmk cold'].ms)} cold${target}`);
    }
    if (baseline) lines.push(`  against the baseline: cold ${ratio(r['baseline cold'].ms, r['dockmk cold'].ms)}, warm ${ratio(r['baseline warm'].ms, r['dockmk warm'].ms)} faster (target: cold no slower)`);
  }
  return lines;
}
