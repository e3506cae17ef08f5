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

test.run();
