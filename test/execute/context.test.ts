// The context as it is streamed: each file as it was listed and hashed, or a failure naming
// it; and COPY sources that .dockerignore leaves out, found before anything is built.

import { appendFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import * as assert from 'uvu/assert';
import { listContext } from '../../src/discover/context.js';
import { DiscoveryError } from '../../src/errors.js';
import { checkContextSources, packContext } from '../../src/execute/context.js';
import { modelSources } from '../../src/plan/parsed-sources.js';
import { planBuild } from '../../src/plan/plan.js';
import { loadCheckout, planOptionsFor, tempTree, test } from '../helpers.js';

const tree = (files: Record<string, string>): string => tempTree(files, 'dockmk-pack-');

function drain(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

test('files go in as they were listed; one that changed or went since fails the archive, naming it', async () => {
  const root = tree({ 'a.txt': 'aaa', 'build.json': '{"event":"run-start"}\n', 'gone.txt': 'g', 'empty.txt': '' });
  const listing = await listContext(root);
  const tar = await drain(packContext(listing, 'FROM x\n'));
  assert.match(tar, /a\.txt\0[^]*aaa/);

  appendFileSync(join(root, 'build.json'), '{"event":"step-start"}\n'); // `dockmk test --json > build.json`
  const grown = await drain(packContext(listing, 'FROM x\n')).then(() => null, (error: Error) => error);
  assert.is(grown?.message, 'build.json changed while it was being sent to the engine');

  const again = await listContext(root);
  utimesSync(join(root, 'a.txt'), new Date(0), new Date(0)); // the same size, written again
  assert.is((await drain(packContext(again, 'FROM x\n')).then(() => null, (error: Error) => error))?.message, 'a.txt changed while it was being sent to the engine');

  const third = await listContext(root);
  rmSync(join(root, 'gone.txt'));
  assert.is((await drain(packContext(third, 'FROM x\n')).then(() => null, (error: Error) => error))?.message, 'gone.txt was removed while it was being sent to the engine');
});

test('a large file is streamed, checked the same way; every byte of every file arrives', async () => {
  // Past the size read whole (256 KiB): streamed from its descriptor.
  const large = `${'x'.repeat(300 * 1024)}y`;
  const root = tree({ 'large.bin': large, 'small.txt': 'small' });
  const listing = await listContext(root);
  const tar = await drain(packContext(listing, 'FROM x\n'));
  assert.ok(tar.includes(`${large}\0`), 'the large file whole, padded');
  assert.ok(tar.includes('small\0'), 'the small file');
  appendFileSync(join(root, 'large.bin'), 'more');
  const grown = await drain(packContext(listing, 'FROM x\n')).then(() => null, (error: Error) => error);
  assert.is(grown?.message, 'large.bin changed while it was being sent to the engine');
});

/** The size field of the first header `stream` sends (octal, or base-256 past 8 GiB), the rest not read. */
function firstSize(stream: Readable): Promise<bigint> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, Buffer.from(chunk)]);
      if (head.length < 512) return;
      stream.off('data', onData);
      stream.destroy();
      const field = head.subarray(124, 136);
      if ((field[0] ?? 0) & 0x80) resolve(field.subarray(1).reduce((size, byte) => (size << 8n) | BigInt(byte), 0n));
      else resolve(BigInt(`0o${field.toString('latin1').replace(/[\0 ]+$/, '') || '0'}`));
    };
    stream.on('data', onData);
    stream.on('error', reject);
  });
}

test('a 4 GiB file and one past the ustar limit (8 GiB): each header says its size whole', async () => {
  // Sparse files: no disk; only the first header is read. What the engine does with such an
  // entry, and with the entries after it, test/it/checkout-faults.test.ts checks.
  for (const size of [4n * 1024n ** 3n, 8n * 1024n ** 3n + 1n]) {
    const root = tree({});
    writeFileSync(join(root, 'big.bin'), '');
    truncateSync(join(root, 'big.bin'), Number(size));
    assert.is(await firstSize(packContext(await listContext(root), 'FROM x\n')), size, `${size} bytes`);
    // The archive was destroyed in the middle of that file (as an aborted build does): the read
    // in flight must not land on the descriptor number the next socket gets.
    assert.is(await echo(join(root, 'echo.sock'), 'every byte arrives'), 'every byte arrives', 'a socket opened next is left alone');
    rmSync(root, { recursive: true, force: true });
  }
});

/** `text` sent over a fresh unix socket and read back whole on the other end. */
async function echo(path: string, text: string): Promise<string> {
  const server = createServer((socket) => {
    let got = '';
    socket.on('data', (chunk) => (got += chunk));
    socket.on('end', () => socket.end(got));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    return await new Promise<string>((resolve, reject) => {
      const client = connect(path, () => client.end(text));
      let back = '';
      client.on('data', (chunk) => (back += chunk));
      client.on('end', () => resolve(back));
      client.on('error', reject);
    });
  } finally {
    server.close();
  }
}

async function checkoutWith(dockerignore: string | null) {
  const files: Record<string, string> = {
    'docker/build/svc/Dockerfile': 'FROM debian:bookworm\nCOPY docker/build/svc/ansible_overrides.yml /overrides.yml\nCOPY docs /docs\nCOPY missing.txt /m\nADD . /checkout\n',
    'docker/build/svc/ansible_overrides.yml': 'X: 1\n',
    'docs/keep.txt': 'k',
    'docs/drop.txt': 'd',
  };
  if (dockerignore !== null) files['.dockerignore'] = dockerignore;
  const root = tree(files);
  const { config, checkout } = await loadCheckout(root);
  const plan = planBuild(checkout, 'test', ['svc'], planOptionsFor(config));
  const listing = await listContext(root);
  return {
    check: () => checkContextSources(plan, listing),
    // The sources as the model parsed them (what a run passes), and with other build args (parsed again).
    checkModel: () => checkContextSources(plan, listing, modelSources(checkout, config.buildArgs)),
    checkOtherArgs: () => checkContextSources(plan, listing, modelSources(checkout, { OTHER: '1' })),
    modelAnswers: () => plan.steps.map((step) => (step.kind === 'build' ? modelSources(checkout, config.buildArgs)(step) : null)),
  };
}

test('a COPY source .dockerignore excludes: the Dockerfile line and the .dockerignore line, before any build', async () => {
  const { check } = await checkoutWith('# overrides stay out\n**/ansible_overrides.yml\n');
  assert.throws(check, (error: unknown) =>
    error instanceof DiscoveryError &&
    error.message === 'docker/build/svc/Dockerfile:2: COPY docker/build/svc/ansible_overrides.yml: it is excluded from the build context by .dockerignore:2 (**/ansible_overrides.yml), so this build would fail; nothing was built' &&
    error.hint === 'remove that pattern, or add !docker/build/svc/ansible_overrides.yml after it in .dockerignore',
  );
});

test('the sources the model parsed refuse the same COPY; with other build args the step is parsed again', async () => {
  const checks = await checkoutWith('# overrides stay out\n**/ansible_overrides.yml\n');
  const message = (check: () => void): string => {
    try {
      check();
      return 'not refused';
    } catch (error) {
      return (error as Error).message;
    }
  };
  assert.ok(checks.modelAnswers().some((sources) => Array.isArray(sources) && sources.length > 0), 'the model answers for the build');
  assert.is(message(checks.checkModel), message(checks.check));
  assert.is(message(checks.checkOtherArgs), message(checks.check));
  assert.match(message(checks.check), /excluded from the build context by \.dockerignore:2/);
});

test('not refused: an excluded Dockerfile, a directory an exception re-includes part of, a source that does not exist, no .dockerignore', async () => {
  (await checkoutWith('docker/build/*/Dockerfile\ndocs\n!docs/keep.txt\n')).check();
  (await checkoutWith(null)).check();
  (await checkoutWith('docker/build/*/Dockerfile\ndocs\n!docs/keep.txt\n')).checkModel();
});

test.run();
