// The checkout as a user may have it, on the real engine: what Docker itself does with each,
// and what dockmk says. Service names of this file's own, each test in a checkout of its own.
//
// - an unreadable file: refused before anything is built, named (Docker: "no permission to
//   read from"); left out by .dockerignore, the build runs. Run as an unprivileged user (root
//   reads everything), in the docker group for the engine;
// - symlink loops and links out of the context: sent as links, not followed (as Docker does);
// - a file name that is not UTF-8: refused, named with its bytes escaped, unless ignored;
// - a Dockerfile with a BOM, CRLF line ends and `# escape=\``: read as Docker reads it;
// - .dockerignore excluding an ansible_overrides.yml a Dockerfile COPYs: refused with both
//   lines, before any build; excluding the Dockerfile itself: fine;
// - a 4 GiB (sparse) file in a context with no .dockerignore: sent whole (the tar entries
//   after it arrive), with a warning that names the missing .dockerignore.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as assert from 'uvu/assert';
import { parseStepHeader } from '../../src/model/build-steps.js';
import { REPO_ROOT, tempDir } from '../helpers.js';
import { cleanEnv, docker, dockmk, imageId, ok, runCommand, summaryOf, test, type CliResult } from './helpers.js';

const ID = randomBytes(3).toString('hex');
const name = (what: string): string => `ckf-${ID}-${what}`;
const made: string[] = [];
const dirs: string[] = [];

function checkout(files: Record<string, string>): string {
  const root = tempDir('dockmk-it-checkout-faults-');
  dirs.push(root);
  chmodSync(root, 0o755);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const state = (root: string): Record<string, string> => ({ DOCKMK_STATE_DIR: join(root, '.dockmk') });

async function keep(result: CliResult, tag: string): Promise<void> {
  ok(result);
  const id = await imageId(tag);
  assert.ok(id !== null, `${tag} was built`);
  made.push(tag);
}

function oneLine(result: CliResult, code: number, message: string): void {
  assert.is(result.code, code, result.stderr);
  assert.is(result.stderr, `${message}\n`);
}

/** `dockmk …` as uid 65534 in the docker group (access to the engine socket, not to root's files). */
function asNobody(argv: string[], home: string): Promise<CliResult> {
  const group = spawnSync('getent', ['group', 'docker'], { encoding: 'utf8' }).stdout.split(':')[2] ?? '';
  assert.match(group, /^\d+$/, 'a docker group owns the engine socket');
  return new Promise((resolve) => {
    const child = spawn('setpriv', ['--reuid=65534', `--regid=${group}`, '--clear-groups', process.execPath, join(REPO_ROOT, 'bin', 'dockmk.js'), ...argv], {
      env: cleanEnv({ HOME: home, DOCKER_CONFIG: home, DOCKMK_STATE_DIR: join(home, 'state') }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

test('an unreadable file: refused before any build, named, exit 2; left out by .dockerignore, the build runs', async () => {
  const svc = name('private');
  const root = checkout({ [`docker/build/${svc}/Dockerfile`]: 'FROM debian:bookworm\nADD . /checkout\nRUN ls /checkout\n', 'private.key': 'not for the image\n', 'README': 'r\n' });
  chmodSync(join(root, 'private.key'), 0o600);
  spawnSync('chmod', ['-R', 'go+rX', join(root, 'docker'), join(root, 'README')]);
  const home = tempDir('dockmk-it-nobody-');
  dirs.push(home);
  chownSync(home, 65534, 65534);
  const refused = await asNobody(['test', svc, '--root', root, '--json'], home);
  oneLine(refused, 2, 'dockmk: private.key: cannot be read (EACCES: permission denied), so it cannot go into the build context — make it readable for the user running dockmk, or add it to .dockerignore');
  assert.is(refused.stdout, '', 'no step ran');
  assert.is(await imageId(`${svc}:test`), null, 'nothing built');

  writeFileSync(join(root, '.dockerignore'), 'private.key\n');
  chmodSync(join(root, '.dockerignore'), 0o644);
  const built = await asNobody(['test', svc, '--root', root, '--json'], home);
  await keep(built, `${svc}:test`);
  assert.not.match(await runCommand(`${svc}:test`, ['ls', '/checkout']), /private\.key/);
});

test('symlink loops and a link out of the context: sent as links, not followed, as Docker does', async () => {
  const svc = name('links');
  const outside = tempDir('dockmk-it-outside-');
  dirs.push(outside);
  writeFileSync(join(outside, 'host-only.txt'), `host ${ID}\n`);
  const root = checkout({ [`docker/build/${svc}/Dockerfile`]: 'FROM debian:bookworm\nADD . /checkout\n', 'playbooks/roles/r/tasks/main.yml': '- debug: msg=hi\n' });
  symlinkSync('b', join(root, 'a'));
  symlinkSync('a', join(root, 'b'));
  symlinkSync('.', join(root, 'playbooks/roles/r/tasks/again'));
  symlinkSync(join(outside, 'host-only.txt'), join(root, 'outside'));
  const built = await dockmk(['test', svc, '--root', root, '--json'], { env: state(root) });
  await keep(built, `${svc}:test`);
  const links = await runCommand(`${svc}:test`, ['sh', '-c', 'cd /checkout && readlink a b outside playbooks/roles/r/tasks/again && cat outside 2>&1; true']);
  assert.equal(links.trim().split('\n').slice(0, 4), ['b', 'a', join(outside, 'host-only.txt'), '.']);
  assert.not.match(links, new RegExp(`host ${ID}`), 'the host file is not in the image');
  // Reading the roles does not follow the loop either: lint reports on conventions (exit 1 for
  // this bare service), it does not crash.
  const lint = await dockmk(['lint', svc, '--root', root], { env: state(root) });
  assert.ok(lint.code === 0 || lint.code === 1, lint.stderr);
  assert.not.match(lint.stderr, /internal error/);
});

test('a file name that is not UTF-8: refused with its bytes escaped, exit 2; left out by .dockerignore, the build runs', async () => {
  const svc = name('latin1');
  const root = checkout({ [`docker/build/${svc}/Dockerfile`]: 'FROM debian:bookworm\nADD . /checkout\n' });
  writeFileSync(Buffer.concat([Buffer.from(`${root}/caf`), Buffer.from([0xe9]), Buffer.from('.txt')]), 'latin-1\n');
  const refused = await dockmk(['test', svc, '--root', root, '--json'], { env: state(root) });
  oneLine(refused, 2, 'dockmk: caf\\xe9.txt: its name is not valid UTF-8, and dockmk sends only UTF-8 names to the engine — rename it (convmv -f latin1 -t utf-8 --notest <name>), or add it to .dockerignore');
  writeFileSync(join(root, '.dockerignore'), 'caf*.txt\n');
  await keep(await dockmk(['test', svc, '--root', root, '--json'], { env: state(root) }), `${svc}:test`);
});

test('a Dockerfile with a BOM, CRLF line ends and # escape=`: its parent is found, its continuation lines joined', async () => {
  const base = name('crlf-base');
  const svc = name('crlf');
  const root = checkout({
    [`docker/build/${base}/Dockerfile`]: 'FROM debian:bookworm\nRUN echo base > /base\n',
    [`docker/build/${svc}/Dockerfile`]: `\uFEFF# escape=\`\r\nFROM edxops/${base}:latest\r\nRUN echo "one" \`\r\n    "two" > /joined\r\n`,
  });
  const built = await dockmk(['test', svc, '--root', root, '--json'], { env: state(root) });
  ok(built);
  assert.equal(summaryOf(built).built, [base, svc], 'the parent, read through the BOM, is built first');
  made.push(`${base}:test`, `${svc}:test`);
  assert.is((await runCommand(`${svc}:test`, ['cat', '/base', '/joined'])).trim(), 'base\none two');
});

test('.dockerignore leaving out an ansible_overrides.yml a Dockerfile COPYs: both lines, exit 2, nothing built; leaving out the Dockerfile is fine', async () => {
  const base = name('ign-base');
  const svc = name('ign');
  const root = checkout({
    [`docker/build/${base}/Dockerfile`]: 'FROM debian:bookworm\nRUN echo base\n',
    [`docker/build/${svc}/Dockerfile`]: `FROM edxops/${base}:latest\nCOPY docker/build/${svc}/ansible_overrides.yml /overrides.yml\nRUN cat /overrides.yml\n`,
    [`docker/build/${svc}/ansible_overrides.yml`]: `GREETING: ${ID}\n`,
    '.dockerignore': '# not needed in images\n**/ansible_overrides.yml\n',
  });
  const refused = await dockmk(['test', svc, '--root', root, '--json'], { env: state(root) });
  oneLine(
    refused,
    2,
    `dockmk: docker/build/${svc}/Dockerfile:2: COPY docker/build/${svc}/ansible_overrides.yml: it is excluded from the build context by .dockerignore:2 (**/ansible_overrides.yml), so this build would fail; nothing was built — remove that pattern, or add !docker/build/${svc}/ansible_overrides.yml after it in .dockerignore`,
  );
  assert.is(await imageId(`${base}:test`), null, 'not even the parent was built');

  writeFileSync(join(root, '.dockerignore'), 'docker/build/*/Dockerfile\n');
  const built = await dockmk(['test', svc, '--root', root, '--json'], { env: state(root) });
  ok(built);
  made.push(`${base}:test`, `${svc}:test`);
  assert.is((await runCommand(`${svc}:test`, ['cat', '/overrides.yml'])).trim(), `GREETING: ${ID}`);
});

test('a 4 GiB file in a context with no .dockerignore: sent whole, and a warning that says to add one', async () => {
  const svc = name('big');
  const root = checkout({ [`docker/build/${svc}/Dockerfile`]: 'FROM debian:bookworm\nCOPY big/zzz-after.txt /after\n', 'big/zzz-after.txt': `after the big one ${ID}\n` });
  // Sparse: 4 GiB on the tar stream (past what a 32-bit size holds), no disk in the checkout.
  writeFileSync(join(root, 'big/aaa-4gib.bin'), '');
  truncateSync(join(root, 'big/aaa-4gib.bin'), 4 * 1024 ** 3);
  const built = await dockmk(['test', svc, '--root', root, '--progress', 'plain'], { env: state(root) });
  await keep(built, `${svc}:test`);
  assert.match(built.stdout, /^warning: the build context is 4\.00 GiB and the checkout has no \.dockerignore: every build sends all of it to the engine — add a \.dockerignore/m);
  assert.is((await runCommand(`${svc}:test`, ['cat', '/after'])).trim(), `after the big one ${ID}`, 'the entry after the 4 GiB one arrived intact');
  assert.match(built.stdout, /^context: \d+ entries, 4\.00 GiB from /m);
});

/** Whether the --json output so far has the header of the last step of `step`. */
function lastStepOf(output: string, step: string): boolean {
  // Whole lines only: the last one may still be arriving.
  return output.split('\n').slice(0, -1).some((line) => {
    const event = JSON.parse(line) as { event?: string; step?: string; line?: string };
    const header = event.event === 'step-output' && event.step === step ? parseStepHeader(event.line ?? '') : null;
    return header !== null && header.index === header.total;
  });
}

test('a file that changes while the context is sent (a log written into the checkout): that build fails naming it, the one before stands', async () => {
  const base = name('grow-base');
  const svc = name('grow');
  const root = checkout({
    [`docker/build/${base}/Dockerfile`]: 'FROM debian:bookworm\nADD . /checkout\nRUN echo base\n',
    [`docker/build/${svc}/Dockerfile`]: `FROM edxops/${base}:latest\nADD . /checkout\n`,
    'build.json': '{"event":"run-start"}\n',
  });
  // As `dockmk test --json > build.json` at the checkout root: the file grows once the run
  // has listed the context. The base's last step means the engine has read its context whole.
  let grown = false;
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'dockmk.js'), 'test', svc, '--root', root, '--json', '--jobs', '1'], { env: cleanEnv(state(root)), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    // The base's last step (classic "Step 3/3", BuildKit "#6 [3/3] RUN …"): its ADD has read the
    // context whole (BuildKit may start FROM while the context still streams), and the next
    // build has not started.
    if (!grown && lastStepOf(stdout, `build ${base}`)) {
      grown = true;
      appendFileSync(join(root, 'build.json'), '{"event":"step-start"}\n');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.ok(grown, `the base build started:\n${stdout}`);
  assert.is(code, 1, stderr);
  made.push(`${base}:test`);
  assert.ok((await imageId(`${base}:test`)) !== null, 'the base, sent before the change, is built');
  assert.is(await imageId(`${svc}:test`), null, 'the build that would have sent another build.json is not');
  assert.match(stderr, new RegExp(`^dockmk: build ${svc} failed: .*build\\.json changed while it was being sent to the engine`, 'm'), stderr);
});

test.after(async () => {
  for (const tag of made.reverse()) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.run();
