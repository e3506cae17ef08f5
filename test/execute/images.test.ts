// The engine's images, asked one by one for a few refs, then listed once for the rest.

import * as assert from 'uvu/assert';
import { indexImages } from '../../src/execute/images.js';
import type { Engine, ImageInfo, ListedImage } from '../../src/execute/engine.js';
import { imageRef } from '../../src/model/image-ref.js';
import { test } from '../helpers.js';

function engine(images: Record<string, ImageInfo>): { engine: Engine; calls: string[] } {
  const calls: string[] = [];
  const fake = {
    async inspectImage(ref: { path: string; tag: string | null }) {
      calls.push(`inspect ${ref.path}:${ref.tag}`);
      return images[`${ref.path}:${ref.tag}`] ?? null;
    },
    async listImages(): Promise<ListedImage[]> {
      calls.push('list');
      return Object.entries(images).map(([name, info]) => ({ id: info.id, labels: info.labels, refs: [name] }));
    },
  } as unknown as Engine;
  return { engine: fake, calls };
}

test('a few refs are inspected one by one; past the threshold one list answers the rest', async () => {
  const images: Record<string, ImageInfo> = {};
  for (let i = 0; i < 10; i++) images[`svc${i}:test`] = { id: `sha256:${i}`, labels: { n: String(i) } };
  const { engine: fake, calls } = engine(images);
  const index = indexImages(fake, 3);
  for (let i = 0; i < 10; i++) assert.equal(await index.inspect(imageRef(`svc${i}`, 'test', null)), images[`svc${i}:test`]);
  assert.equal(calls, ['inspect svc0:test', 'inspect svc1:test', 'inspect svc2:test', 'list']);
  assert.is(await index.inspect(imageRef('missing', 'test', null)), null, 'a ref the list does not name is asked');
  assert.is(calls.at(-1), 'inspect missing:test');
});

test('a ref this run changed is asked again, list or not', async () => {
  const { engine: fake, calls } = engine({ 'a:test': { id: 'sha256:a', labels: {} } });
  const index = indexImages(fake, 0);
  await index.inspect(imageRef('a', 'test', null));
  index.touch(imageRef('a', 'test', null));
  await index.inspect(imageRef('a', 'test', null));
  assert.equal(calls, ['list', 'inspect a:test']);
});

test('refs expected up front are asked side by side, once, before any step asks', async () => {
  const images: Record<string, ImageInfo> = { 'a:test': { id: 'sha256:a', labels: {} }, 'base:1': { id: 'sha256:b', labels: {} } };
  const { engine: fake, calls } = engine(images);
  const index = indexImages(fake, 3);
  index.expect([imageRef('a', 'test', null), imageRef('base', '1', null), imageRef('a', 'test', null)]);
  assert.equal(calls, ['inspect a:test', 'inspect base:1'], 'asked at once, a ref named twice asked once');
  assert.equal(await index.inspect(imageRef('a', 'test', null)), images['a:test']);
  assert.equal(await index.inspect(imageRef('base', '1', null)), images['base:1']);
  assert.equal(calls.length, 2, 'the answers were ready');
  index.touch(imageRef('a', 'test', null));
  await index.inspect(imageRef('a', 'test', null));
  assert.equal(calls.at(-1), 'inspect a:test', 'a ref a step changed is asked again');
});

test('more refs expected than are worth inspecting: one list answers them', async () => {
  const images: Record<string, ImageInfo> = {};
  for (let i = 0; i < 5; i++) images[`svc${i}:test`] = { id: `sha256:${i}`, labels: {} };
  const { engine: fake, calls } = engine(images);
  const index = indexImages(fake, 3);
  index.expect(Object.keys(images).map((name) => imageRef(name.split(':')[0] as string, 'test', null)));
  for (let i = 0; i < 5; i++) assert.equal(await index.inspect(imageRef(`svc${i}`, 'test', null)), images[`svc${i}:test`]);
  assert.equal(calls, ['list']);
});

test('an expected ref the engine failed on is asked again by the step, whose failure it is then', async () => {
  let fail = true;
  const calls: string[] = [];
  const fake = {
    async inspectImage() {
      calls.push('inspect');
      if (fail) throw new Error('engine went away');
      return { id: 'sha256:a', labels: {} };
    },
  } as unknown as Engine;
  const index = indexImages(fake, 3);
  index.expect([imageRef('a', 'test', null)]);
  await new Promise((resolve) => setTimeout(resolve, 5)); // rejected with no one asking: no unhandled rejection
  assert.equal(calls, ['inspect']);
  const failed = await index.inspect(imageRef('a', 'test', null)).then(() => null, (error: Error) => error.message);
  assert.is(failed, 'engine went away');
  fail = false;
  assert.equal(await index.inspect(imageRef('a', 'test', null)), { id: 'sha256:a', labels: {} });
  assert.equal(calls, ['inspect', 'inspect', 'inspect']);
});

test.run();
