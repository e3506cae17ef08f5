// Credentials that go wrong, on a real push to a registry of this file's own: a config.json
// that is not JSON, a credential helper that hangs, one that prints garbage. Each is one line on
// stderr naming the file or the helper, before anything is built or pushed, and the secret is
// in no output.

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { type CliResult, dockmk, events, imageId, tempDir, test } from './helpers.js';
import { startRegistry, type OwnRegistry } from './registry.js';

const ID = randomBytes(3).toString('hex');
const SERVICE = `credf-${ID}`;
const tmp = tempDir('dockmk-it-credentials-');
let registry: OwnRegistry | null = null;

async function ownRegistry(): Promise<OwnRegistry> {
  registry ??= await startRegistry();
  return registry;
}

function checkout(): string {
  const root = join(tmp, `checkout-${randomBytes(2).toString('hex')}`);
  mkdirSync(join(root, 'docker/build', SERVICE), { recursive: true });
  writeFileSync(join(root, 'docker/build', SERVICE, 'Dockerfile'), 'FROM debian:bookworm\nRUN echo built\n');
  return root;
}

function configDir(name: string, text: string): string {
  const dir = join(tmp, `config-${name}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), text);
  return dir;
}

/** A docker-credential-<name> on a PATH dir of its own. */
function helper(name: string, body: string): string {
  const bin = join(tmp, `bin-${name}`);
  mkdirSync(bin);
  const script = join(bin, `docker-credential-${name}`);
  writeFileSync(script, `#!/bin/sh\nread server\n${body}\n`);
  chmodSync(script, 0o755);
  return bin;
}

async function push(env: Record<string, string>): Promise<CliResult> {
  const r = await ownRegistry();
  return dockmk(['push', SERVICE, '--root', checkout(), '--registry', r.address, '--namespace', `credns${ID}`, '--json'], {
    env: { DOCKMK_STATE_DIR: join(tmp, 'state'), ...env },
  });
}

async function nothingDone(result: CliResult, secret: string): Promise<void> {
  const started = result.stdout.trim() === '' ? [] : events(result).filter((event) => event.event === 'step-start');
  assert.equal(started.map((event) => event.step), [], `no step started:\n${result.stdout}`);
  assert.is(await imageId(`${SERVICE}:latest`), null, 'nothing built');
  const r = await ownRegistry();
  assert.equal((await r.catalog()).filter((name) => name.includes(ID)), [], 'nothing pushed');
  assert.not.ok(result.stdout.includes(secret) || result.stderr.includes(secret), `the secret is in no output:\n${result.stderr}`);
  assert.is(result.stderr.trim().split('\n').length, 1, `one line:\n${result.stderr}`);
}

test('config.json that is not JSON: exit 2, its file:line, nothing built or pushed', async () => {
  const r = await ownRegistry();
  const dir = configDir('broken', `{\n  "auths": {\n    "${r.address}": { "auth": "${r.basicAuth}" }\n  ,\n}\n`);
  const result = await push({ DOCKER_CONFIG: dir });
  assert.is(result.code, 2, result.stderr);
  assert.is(result.stderr, `dockmk: ${join(dir, 'config.json')}:5:1: not valid JSON — fix or remove it, then \`docker login\` again\n`);
  await nothingDone(result, r.basicAuth);
});

test('a credential helper that hangs: stopped after the timeout, named, exit 1, nothing built or pushed', async () => {
  const r = await ownRegistry();
  const bin = helper('hangs', `printf '{"Username":"%s","Secret":"%s"' '${r.username}' '${r.password}'\nexec sleep 120`);
  const result = await push({ DOCKER_CONFIG: configDir('hangs', JSON.stringify({ credHelpers: { [r.address]: 'hangs' } })), PATH: `${bin}:${process.env.PATH ?? ''}`, DOCKMK_CREDENTIAL_HELPER_TIMEOUT: '1' });
  assert.is(result.code, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`^dockmk: credential helper docker-credential-hangs \\(from .*config\\.json\\) did not answer within 1 s for ${r.address.replace(/\./g, '\\.')}, and was stopped — try it by hand`));
  await nothingDone(result, r.password);
});

test('a credential helper that prints garbage: named, its output not shown, nothing built or pushed', async () => {
  const r = await ownRegistry();
  const bin = helper('garbage', `echo 'user=${r.username} secret=${r.password}'`);
  const result = await push({ DOCKER_CONFIG: configDir('garbage', JSON.stringify({ credsStore: 'garbage' })), PATH: `${bin}:${process.env.PATH ?? ''}` });
  assert.is(result.code, 1, result.stderr);
  assert.match(result.stderr, /^dockmk: credential helper docker-credential-garbage answered something that is not JSON for 127\.0\.0\.1:\d+ \(its output is not shown: it may hold a secret\)/);
  await nothingDone(result, r.password);
});

test.after(async () => {
  await registry?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
