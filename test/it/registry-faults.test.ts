// A registry on a bad day, for real: docker-registry behind a proxy that answers 500, 503 or
// 429 with Retry-After, drops a connection mid-upload, or hands out tokens that expire; a
// registry whose disk is full (a tmpfs); a registry host that does not resolve; a registry that
// speaks only HTTPS with a self-signed certificate. Each: the exit code, one line, what moved.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { type CliResult, docker, dockerConfig, dockmk, events, freePort, summaryOf, tempDir, test } from './helpers.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startRegistry, type OwnRegistry } from './registry.js';

const ID = `${process.pid}`;
let count = 0;

/** A checkout of one tiny service, and the names the test uses for it. */
function fixture(bytes = 0) {
  count += 1;
  const service = `regfault-${ID}-${count}`;
  const root = tempDir('dockmk-it-regfault-');
  mkdirSync(join(root, 'docker/build', service), { recursive: true });
  const payload = bytes > 0 ? `RUN head -c ${bytes} /dev/urandom > /payload\n` : `RUN echo ${service} > /built\n`;
  writeFileSync(join(root, 'docker/build', service, 'Dockerfile'), `FROM debian:bookworm\n${payload}`);
  return { service, root, ns: `rf${ID}n${count}` };
}

function seen(run: CliResult): string {
  return `\nexit ${run.code}\nstderr:\n${run.stderr}\nstdout (tail):\n${run.stdout.slice(-3000)}`;
}

async function push(registry: string, auth: OwnRegistry, f: ReturnType<typeof fixture>, ...flags: string[]): Promise<CliResult> {
  return dockmk(['push', f.service, '--root', f.root, '--registry', registry, '--namespace', f.ns, '--tags', 'auto', '--json', ...flags], {
    env: { DOCKMK_STATE_DIR: join(f.root, '.dockmk'), DOCKER_CONFIG: dockerConfig(registry, auth.username, auth.password), GITHUB_REF: 'refs/heads/main', GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567' },
  });
}

const retries = (run: CliResult) => events(run).filter((event) => event.event === 'step-retry') as { step: string; delayMs: number; reason: string }[];

let registry: OwnRegistry;
let proxy: FaultProxy;
test.before(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy({ target: { port: registry.port, basicAuth: registry.basicAuth } });
});
test.after(async () => {
  await proxy?.stop();
  await registry?.dispose();
});
const cleanup = async (f: ReturnType<typeof fixture>) => {
  for (const image of await docker.listImages({ filters: JSON.stringify({ reference: [`${f.service}`, `*/${f.ns}/${f.service}`] }) })) {
    for (const tag of image.RepoTags ?? []) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  }
};

test('HTTP 500 on writing a ref: retried with backoff, then written', async () => {
  const f = fixture();
  try {
    proxy.faults.push({ match: (method, path) => method === 'PUT' && path === `/v2/${f.ns}/${f.service}/manifests/main`, times: 2, answer: { status: 500 } });
    const run = await push(proxy.address, registry, f, '--retries', '3');
    assert.is(run.code, 0, seen(run));
    const own = retries(run).filter((retry) => retry.step.endsWith(':main'));
    assert.is(own.length, 2, `two retries of main${seen(run)}`);
    assert.match(own[0]?.reason ?? '', /HTTP 500/);
    assert.ok(await registry.digest(`${f.ns}/${f.service}`, 'main'));
  } finally {
    await cleanup(f);
  }
});

for (const status of [503, 429]) {
  test(`HTTP ${status} with Retry-After: waited for as long as the registry asks`, async () => {
    const f = fixture();
    try {
      proxy.faults.push({ match: (method, path) => method === 'PUT' && path === `/v2/${f.ns}/${f.service}/manifests/latest`, times: 1, answer: { status, headers: { 'retry-after': '3' } } });
      const run = await push(proxy.address, registry, f);
      assert.is(run.code, 0, seen(run));
      const [retry] = retries(run).filter((r) => r.step.endsWith(':latest'));
      assert.ok(retry, `a retry of latest${seen(run)}`);
      assert.ok(retry.delayMs >= 3000, `waited ${retry.delayMs} ms, the registry asked for 3 s`);
      assert.match(retry.reason, new RegExp(`HTTP ${status}`));
      assert.ok(await registry.digest(`${f.ns}/${f.service}`, 'latest'));
    } finally {
      await cleanup(f);
    }
  });
}

test('a connection dropped in the middle of a layer upload: the push is tried again and completes', async () => {
  const f = fixture(2 << 20);
  try {
    proxy.faults.push({ match: (method, path) => (method === 'PATCH' || method === 'PUT') && path.startsWith(`/v2/${f.ns}/${f.service}/blobs/uploads/`), times: 1, answer: { drop: true, afterBytes: 64 << 10 } });
    const run = await push(proxy.address, registry, f);
    assert.is(run.code, 0, seen(run));
    assert.ok(proxy.requests.some((r) => r.outcome === 'dropped' && r.path.includes(f.service)), 'the upload was cut');
    for (const tag of ['main', 'latest', 'sha-0123456']) assert.ok(await registry.digest(`${f.ns}/${f.service}`, tag), tag);
  } finally {
    await cleanup(f);
  }
});

test('tokens that expire after a few requests: dockmk and the engine get new ones; the push completes', async () => {
  const f = fixture();
  const tokens = await startFaultProxy({ target: { port: registry.port, basicAuth: registry.basicAuth }, tokens: { username: registry.username, password: registry.password, firstUses: 4 } });
  try {
    const run = await push(tokens.address, registry, f);
    assert.is(run.code, 0, seen(run));
    const issued = tokens.requests.filter((r) => r.outcome === 'token').length;
    assert.ok(issued >= 2, `a token was asked for again once the first expired (${issued} issued)`);
    assert.ok(tokens.requests.some((r) => r.outcome === 401 && r.path !== '/v2/'), 'the first token was refused mid-run');
    for (const tag of ['main', 'latest']) assert.ok(await registry.digest(`${f.ns}/${f.service}`, tag), tag);
  } finally {
    await tokens.stop();
    await cleanup(f);
  }
});

test("a registry whose disk is full: the push fails in one line with the registry's words; no published ref moved", async () => {
  const f = fixture(8 << 20);
  const disk = tempDir('dockmk-it-fullreg-');
  assert.is(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]).status, 0, 'mount a 2 MiB tmpfs (root)');
  const full = await startRegistry({ dataDir: join(disk, 'data') }).catch(async (error: Error) => {
    spawnSync('umount', [disk]);
    throw error;
  });
  try {
    const run = await push(full.address, full, f, '--retries', '1');
    assert.is(run.code, 1, seen(run));
    const lines = run.stderr.trim().split('\n').filter((line) => line.startsWith('dockmk:'));
    assert.is(lines.length, 1, seen(run));
    assert.match(lines[0] ?? '', /push .*:key-[0-9a-f]{16} failed: .*(no space left on device|500|unknown)/i);
    assert.equal((await full.tags(`${f.ns}/${f.service}`)) ?? [], [], 'no ref of the image is in the registry');
    assert.equal(summaryOf(run).pushed, []);
  } finally {
    await full.dispose();
    spawnSync('umount', [disk]);
    rmSync(disk, { recursive: true, force: true });
    await cleanup(f);
  }
});

test('a registry host that does not resolve: one line before anything is built, exit 1', async () => {
  const f = fixture();
  try {
    const run = await push('no-such-registry.invalid:5000', registry, f);
    assert.is(run.code, 1, seen(run));
    // The engine is asked first, as credentials are given for the registry: its resolver answers.
    assert.match(run.stderr, /^dockmk: registry no-such-registry\.invalid:5000 cannot be resolved by the engine \(lookup no-such-registry\.invalid.*no such host\); nothing was built or pushed — check the registry host name/);
    // Without credentials dockmk's own registry client asks first, and says the same.
    const bare = await dockmk(['push', f.service, '--root', f.root, '--registry', 'no-such-registry.invalid:5000', '--json'], { env: { DOCKMK_STATE_DIR: join(f.root, '.dockmk') } });
    assert.is(bare.code, 1, seen(bare));
    assert.match(bare.stderr, /^dockmk: registry no-such-registry\.invalid:5000 cannot be resolved \((ENOTFOUND|EAI_AGAIN)\); nothing was built or pushed — check the registry host name/);
    assert.is(run.stderr.trim().split('\n').length, 1, seen(run));
    assert.not.match(run.stdout, /"event":"step-start"/);
  } finally {
    await cleanup(f);
  }
});

test('a registry that speaks only HTTPS with a self-signed certificate: a hint about its CA; trusted in certs.d, the push works', async () => {
  // Not on loopback (which Docker and dockmk treat as insecure): an address of its own on a bridge
  // of the test's own (no dummy interfaces here), from the benchmarking range no one routes.
  const link = `dmk-tls-${process.pid % 10000}`;
  const ip = '198.18.91.1';
  const ipRun = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });
  const added = ipRun('link', 'add', link, 'type', 'bridge');
  assert.is(added.status, 0, `ip link add ${link} type bridge: ${added.stderr}`);
  ipRun('addr', 'add', `${ip}/32`, 'dev', link);
  ipRun('link', 'set', link, 'up');
  const dir = tempDir('dockmk-it-tls-');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${ip}`, '-addext', `subjectAltName=IP:${ip}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
  assert.is(made.status, 0, made.stderr);
  const port = await freePort();
  let tls: OwnRegistry | null = null;
  const certsDir = `/etc/docker/certs.d/${ip}:${port}`;
  const f = fixture();
  try {
    tls = await startRegistry({ host: ip, tls: { certificate: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
    const run = await push(tls.address, tls, f);
    assert.is(run.code, 1, seen(run));
    assert.match(run.stderr, new RegExp(`^dockmk: registry ${tls.address.replace(/\./g, '\\.')} presents a certificate (the engine|this machine) does not trust \\(.*(SELF_SIGNED|self.signed|unknown authority).*\\); nothing was built or pushed — put its CA certificate in /etc/docker/certs\\.d/${tls.address.replace(/\./g, '\\.')}/ca\\.crt`), seen(run));
    assert.not.match(run.stdout, /"event":"step-start"/);

    mkdirSync(`/etc/docker/certs.d/${tls.address}`, { recursive: true });
    writeFileSync(`/etc/docker/certs.d/${tls.address}/ca.crt`, spawnSync('cat', [join(dir, 'cert.pem')], { encoding: 'utf8' }).stdout);
    const trusted = await push(tls.address, tls, f);
    assert.is(trusted.code, 0, seen(trusted));
    assert.ok(await tls.digest(`${f.ns}/${f.service}`, 'latest'));
  } finally {
    await tls?.dispose();
    rmSync(`/etc/docker/certs.d/${tls?.address ?? `${ip}:${port}`}`, { recursive: true, force: true });
    rmSync(certsDir, { recursive: true, force: true });
    ipRun('link', 'del', link);
    rmSync(dir, { recursive: true, force: true });
    await cleanup(f);
  }
});

test('a read-only token at promotion: the manifest PUT refused (403 DENIED) in one line; latest not moved; the manifest says what is pending', async () => {
  const f = fixture();
  try {
    const staged = await push(proxy.address, registry, f, '--stage');
    assert.is(staged.code, 0, seen(staged));
    const keyTag = ((await registry.tags(`${f.ns}/${f.service}`)) ?? []).find((tag) => tag.startsWith('key-'));
    assert.ok(keyTag, 'the key ref is staged');
    // The token may read and pull, not write: every write of a mutable ref is refused.
    proxy.faults.push({
      match: (method, path) => method === 'PUT' && path.startsWith(`/v2/${f.ns}/${f.service}/manifests/`) && !/\/manifests\/(key-|sha-)/.test(path),
      times: 100,
      answer: { status: 403, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }) },
    });
    const manifest = join(f.root, 'promote.json');
    const run = await dockmk(['promote', f.service, '--root', f.root, '--registry', proxy.address, '--namespace', f.ns, '--tags', 'auto', '--json', '--manifest', manifest], {
      env: { DOCKMK_STATE_DIR: join(f.root, '.dockmk'), DOCKER_CONFIG: dockerConfig(proxy.address, registry.username, registry.password), GITHUB_REF: 'refs/heads/main', GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567' },
    });
    assert.is(run.code, 1, seen(run));
    const lines = run.stderr.trim().split('\n').filter((line) => line.startsWith('dockmk:'));
    assert.is(lines.length, 1, seen(run));
    assert.match(lines[0] ?? '', /refused it with the credentials from .*config\.json \(HTTP 403: DENIED: requested access to the resource is denied\)/, seen(run));
    assert.match(lines[0] ?? '', /latest not moved: .*:latest — check that these credentials may read and write this repository/, seen(run));
    assert.is(retries(run).length, 0, 'a refusal is not retried');
    assert.is(await registry.digest(`${f.ns}/${f.service}`, 'latest'), null, 'latest not written');
    const written = JSON.parse(readFileSync(manifest, 'utf8')) as { complete: boolean; pending?: unknown[] };
    assert.is(written.complete, false);
    assert.ok((written.pending ?? []).length > 0, `the manifest lists what is pending: ${JSON.stringify(written)}`);
  } finally {
    await cleanup(f);
  }
});

test.run();
