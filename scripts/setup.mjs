#!/usr/bin/env zx
// npm run setup: everything dockmk and its integration tests need on a Debian/Ubuntu machine,
// as root, idempotent. It installs Debian's docker.io and docker-registry when missing, starts
// dockerd when no engine answers (an engine that answers is left alone), starts a loopback
// registry with htpasswd auth for the tests, and makes debian:bookworm with debootstrap when it
// cannot be pulled, and serves Podman's Docker-compatible API for the Podman test. What it starts
// is recorded in .dockmk/setup/state.json for `npm run teardown`.
// A dockerd killed with -9 leaves a pid file (and containerd's) that stops the next one from
// starting: setup removes what belongs to no running daemon and says so (scripts/dockerd.mjs).
//
// For a test's own daemon: DOCKMK_SETUP_DIR (state, logs), DOCKMK_SETUP_PARTS (a comma list of
// engine, base, registry, browser, podman; default all), and DOCKMK_DOCKERD_SOCKET, _PIDFILE, _EXEC_ROOT,
// _DATA_ROOT, _ARGS for where that dockerd lives.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import Docker from 'dockerode';
import { $, which } from 'zx';
import { cleanStaleEngine, dockerdArgs, engineSettings, logTail } from './dockerd.mjs';

$.verbose = false;
const root = resolve(import.meta.dirname, '..');
const stateDir = process.env.DOCKMK_SETUP_DIR ?? join(root, '.dockmk', 'setup');
const parts = new Set((process.env.DOCKMK_SETUP_PARTS ?? 'engine,base,registry,browser,podman').split(',').map((part) => part.trim()));
const statePath = join(stateDir, 'state.json');
const registryPort = Number(process.env.DOCKMK_TEST_REGISTRY_PORT ?? 5055);
const registryAddress = `127.0.0.1:${registryPort}`;
const BASE_IMAGE = 'debian:bookworm';

const say = (what, text) => console.log(`setup: ${what}: ${text}`);
const fail = (text) => {
  console.error(`setup: ${text}`);
  process.exit(1);
};

mkdirSync(stateDir, { recursive: true });
const state = existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : { started: {} };
const saveState = () => writeFileSync(statePath, `${JSON.stringify(state, null, 2)}\n`);

let aptUpdated = false;
async function install(packages, why) {
  const missing = [];
  for (const [command, pkg] of packages) if (!(await which(command, { nothrow: true }))) missing.push(pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) fail(`${missing.join(', ')} must be installed (${why}): run \`sudo npm run setup\` or install them yourself`);
  if (!aptUpdated) {
    say('apt', 'apt-get update');
    await $`apt-get update -q`;
    aptUpdated = true;
  }
  say('apt', `installing ${missing.join(' ')} (${why})`);
  await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -q --no-install-recommends ${missing}`;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a daemon detached from this process, logging to a file; returns its pid and process. */
function startDaemon(name, command, args) {
  const log = join(stateDir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  state.started[name] = { pid: child.pid, command: [command, ...args].join(' '), log };
  saveState();
  return { pid: child.pid, log, child };
}

/** Waits until `check` passes; fails at once, with the log's last lines, when `child` exits first. */
async function waitFor(what, check, seconds, log, child) {
  let exited = null;
  child?.once('exit', (code, signal) => (exited = signal ?? `code ${code}`));
  for (let i = 0; i < seconds * 4; i++) {
    if (await check()) return;
    if (exited !== null) fail(`${what} exited (${exited}) before it answered; the end of ${log}:\n${logTail(log)}`);
    await new Promise((done) => setTimeout(done, 250));
  }
  fail(`${what} did not come up within ${seconds} s; the end of ${log}:\n${logTail(log)}`);
}

// --- the engine -------------------------------------------------------------------------------
const engine = engineSettings();
const docker = new Docker(process.env.DOCKER_HOST && !engine.own ? undefined : { socketPath: engine.socket });
const engineAddress = engine.own ? engine.address : (process.env.DOCKER_HOST ?? engine.address);
const engineAnswers = () => docker.ping().then(() => true, () => false);

if (parts.has('engine')) await setupEngine();

async function setupEngine() {
  if (await engineAnswers()) {
    const version = await docker.version();
    say('engine', `Docker ${version.Version} already answers at ${engineAddress}; left alone`);
    return;
  }
  if (process.env.DOCKER_HOST && !engine.own) {
    fail(`DOCKER_HOST=${process.env.DOCKER_HOST} does not answer; start that engine, or unset DOCKER_HOST so setup starts a local one`);
  }
  await install([['dockerd', 'docker.io'], ['ip', 'iproute2']], 'the Docker engine (ip: the remote-engine test gives its second engine a bridge)');
  let cleaned;
  try {
    cleaned = await cleanStaleEngine(engine);
  } catch (error) {
    fail(`engine: ${error.message}`);
  }
  for (const sentence of cleaned) say('engine', sentence);
  const { pid, log, child } = startDaemon('dockerd', 'dockerd', dockerdArgs(engine));
  await waitFor('dockerd', engineAnswers, 60, log, child);
  const version = await docker.version();
  say('engine', `started dockerd ${version.Version} (pid ${pid}) at ${engineAddress}; log ${log}`);
}

// --- the base image ---------------------------------------------------------------------------
const hasImage = (name) => docker.getImage(name).inspect().then(() => true, () => false);
if (!parts.has('base')) {
  // not asked for (DOCKMK_SETUP_PARTS)
} else if (await hasImage(BASE_IMAGE)) {
  say(BASE_IMAGE, 'present');
} else {
  const pulled = await pullWithin(BASE_IMAGE, 30_000);
  if (pulled) {
    say(BASE_IMAGE, 'pulled');
  } else {
    await install([['debootstrap', 'debootstrap']], `to make ${BASE_IMAGE}, which cannot be pulled here`);
    const dir = join(stateDir, 'bookworm-rootfs');
    rmSync(dir, { recursive: true, force: true });
    const mirror = debianMirror();
    const started = Date.now();
    say(BASE_IMAGE, `cannot be pulled; making it with debootstrap --variant=minbase bookworm from ${mirror}`);
    await $`debootstrap --variant=minbase bookworm ${dir} ${mirror}`;
    await $`tar -C ${dir} -c . | docker import --change ${'CMD ["bash"]'} - ${BASE_IMAGE}`;
    rmSync(dir, { recursive: true, force: true });
    say(BASE_IMAGE, `imported in ${Math.round((Date.now() - started) / 1000)} s`);
  }
}

async function pullWithin(name, ms) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  try {
    const stream = await docker.pull(name, { abortSignal: abort.signal });
    const output = await new Promise((done, reject) => docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : done(out))));
    return !output.some((message) => message.error) && (await hasImage(name));
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** The Debian mirror this machine's apt uses (the one it can reach), else deb.debian.org. */
function debianMirror() {
  const candidates = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const match = /^URIs:\s*(\S+)/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    if (match) return match[1];
  }
  return 'http://deb.debian.org/debian';
}

// --- the test registry ------------------------------------------------------------------------
const registryDir = join(stateDir, 'registry');
const credentialsPath = join(stateDir, 'registry.json');
const registryAnswers = () =>
  fetch(`http://${registryAddress}/v2/`).then((response) => response.status === 401 || response.ok, () => false);

if (!parts.has('registry')) {
  // not asked for (DOCKMK_SETUP_PARTS)
} else if (await registryAnswers()) {
  if (!existsSync(credentialsPath)) {
    fail(`something already listens on ${registryAddress} but it is not setup's registry; set DOCKMK_TEST_REGISTRY_PORT to a free port`);
  }
  say('registry', `already answers at ${registryAddress}; left alone`);
} else {
  await install([['docker-registry', 'docker-registry'], ['htpasswd', 'apache2-utils']], 'the test registry');
  mkdirSync(join(registryDir, 'data'), { recursive: true });
  const username = 'dockmk';
  const password = randomBytes(18).toString('base64url');
  await $`htpasswd -Bbc ${join(registryDir, 'htpasswd')} ${username} ${password}`.quiet();
  writeFileSync(
    join(registryDir, 'config.yml'),
    [
      'version: 0.1',
      'log: { level: warn }',
      'storage:',
      `  filesystem: { rootdirectory: ${JSON.stringify(join(registryDir, 'data'))} }`,
      '  delete: { enabled: true }',
      'http:',
      `  addr: ${registryAddress}`,
      'auth:',
      '  htpasswd:',
      '    realm: dockmk-test',
      `    path: ${JSON.stringify(join(registryDir, 'htpasswd'))}`,
      '',
    ].join('\n'),
  );
  writeFileSync(credentialsPath, `${JSON.stringify({ address: registryAddress, username, password }, null, 2)}\n`, { mode: 0o600 });
  const { pid, log, child } = startDaemon('registry', 'docker-registry', ['serve', join(registryDir, 'config.yml')]);
  await waitFor('docker-registry', registryAnswers, 30, log, child);
  say('registry', `started docker-registry (pid ${pid}) on ${registryAddress} with htpasswd user ${username}; credentials in ${credentialsPath}`);
}

// --- the browser of the status page test ----------------------------------------------------
// test/it/status-page.test.ts drives Debian's chromium through playwright-core (no browser
// download works here); DOCKMK_SETUP_BROWSER=0 leaves it out, and that test then says it skipped.
if (parts.has('browser') && existsSync(join(root, 'test', 'it', 'status-page.test.ts')) && process.env.DOCKMK_SETUP_BROWSER !== '0') {
  const had = existsSync('/usr/bin/chromium');
  await install([['chromium', 'chromium']], 'the status page browser test');
  if (!existsSync('/usr/bin/chromium')) fail('chromium was installed but /usr/bin/chromium is missing');
  say('chromium', had ? 'present' : 'installed (Debian package)');
}

// --- Podman, a second kind of engine ------------------------------------------------------------
// test/it/podman.test.ts builds, no-ops and pushes through Podman's Docker-compatible API (Debian's
// podman, `podman system service`, as root here). The socket is recorded in .dockmk/setup/podman.json
// for the test; DOCKMK_SETUP_PODMAN=0 leaves it out, and that test then says it skipped.
if (parts.has('podman') && existsSync(join(root, 'test', 'it', 'podman.test.ts')) && process.env.DOCKMK_SETUP_PODMAN !== '0') {
  // The real directory (.dockmk/setup may be a link): the address stays valid wherever it is read.
  const socket = join(realpathSync(stateDir), 'podman.sock');
  const podmanPath = join(stateDir, 'podman.json');
  const podmanAnswers = () =>
    new Promise((done) => {
      const req = httpRequest({ socketPath: socket, path: '/_ping', timeout: 2000 }, (res) => {
        res.resume();
        done(res.statusCode === 200 && res.headers['libpod-api-version'] !== undefined);
      });
      req.on('error', () => done(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  if (await podmanAnswers()) {
    say('podman', `already answers at unix://${socket}; left alone`);
  } else {
    await install([['podman', 'podman']], 'the Podman engine test');
    rmSync(socket, { force: true });
    const { pid, log } = startDaemon('podman', 'podman', ['system', 'service', '--time=0', `unix://${socket}`]);
    await waitFor('podman system service', podmanAnswers, 60, log);
    const version = (await $`podman --version`).stdout.trim();
    say('podman', `started ${version} (pid ${pid}) serving the Docker API at unix://${socket}; log ${log}`);
  }
  writeFileSync(podmanPath, `${JSON.stringify({ address: `unix://${socket}` }, null, 2)}\n`);
}

// Forget processes that are gone, so teardown only ever signals what setup started.
for (const [name, entry] of Object.entries(state.started)) if (!isAlive(entry.pid)) delete state.started[name];
saveState();
say('done', Object.keys(state.started).length ? `running from this setup: ${Object.keys(state.started).join(', ')} (stop with npm run teardown)` : 'nothing new started');
