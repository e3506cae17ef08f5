import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { buildCheckout, type Checkout } from '../../src/model/checkout.js';
import { formatImageRef } from '../../src/model/image-ref.js';
import { fixturePath, loadCheckout, test } from '../helpers.js';

const LEGACY = fixturePath('legacy-config');

interface Expected {
  services: Record<string, { from_resolved: string[]; stage_refs: string[]; parents: string[]; external: string[]; plays: string[] }>;
}
const expected = JSON.parse(readFileSync(`${LEGACY}/expected.json`, 'utf8')) as Expected;

test('a service is a directory holding a file named exactly Dockerfile', async () => {
  const { checkout } = await loadCheckout(LEGACY);
  assert.equal([...checkout.services.keys()], Object.keys(expected.services).sort());
  assert.not.ok(checkout.services.has('jenkins_analytics'), 'Dockerfile.noci alone is not a service');
  assert.not.ok(checkout.services.has('notifier'), 'overrides alone are not a service');
});

test('FROM lines, parents and external images match the legacy-shaped fixture', async () => {
  const { checkout } = await loadCheckout(LEGACY);
  for (const [name, facts] of Object.entries(expected.services)) {
    const service = checkout.services.get(name);
    assert.ok(service, name);
    const from = service.bases.filter((base) => base.instruction === 'FROM').map((base) => base.image);
    // Stage references and scratch name no image, so `from` leaves them out.
    const images = facts.from_resolved.filter((ref) => !facts.stage_refs.includes(ref) && ref !== 'scratch');
    assert.equal(from, images, `${name} from`);
    assert.equal(service.parents, [...facts.parents].sort(), `${name} parents`);
    const external = service.bases
      .filter((base) => base.parent === null)
      .map((base) => (base.source.kind === 'image' ? formatImageRef(base.source.ref) : base.image));
    assert.equal(external.sort(), [...facts.external].sort(), `${name} external`);
  }
});

test('the play is the one the Dockerfile runs when it exists in docker/plays', async () => {
  const { checkout } = await loadCheckout(LEGACY);
  assert.is(checkout.services.get('tools_jenkins')?.play, 'docker/plays/jenkins_tools.yml');
  assert.is(checkout.services.get('forum')?.play, 'docker/plays/forum.yml');
  assert.is(checkout.services.get('flower')?.play, null);
});

test('publishing under another namespace keeps FROM edxops/X a parent (fromNamespace); other namespaces are not parents', async () => {
  const parents = (checkout: Checkout) => [...checkout.services.values()].flatMap((service) => service.parents.map((p) => `${service.name}<-${p}`));
  const plain = await loadCheckout(LEGACY);
  const elsewhere = await loadCheckout(LEGACY, { namespace: 'someone-else' });
  assert.ok(parents(plain.checkout).length > 0);
  assert.equal(parents(elsewhere.checkout), parents(plain.checkout));
  const raw = { root: '/c', plays: [], services: [{ name: 'a', dockerfile: { path: 'docker/build/a/Dockerfile', text: 'FROM debian:bookworm\n' }, overrides: null }, { name: 'b', dockerfile: { path: 'docker/build/b/Dockerfile', text: 'FROM other/a:latest\n' }, overrides: null }] };
  const model = (namespace: string, fromNamespace?: string) => buildCheckout(raw, { namespace, ...(fromNamespace ? { fromNamespace } : {}), registry: null, buildArgs: {}, playsDir: 'docker/plays' });
  assert.equal(model('edxops', 'edxops').services.get('b')?.parents, []);
  assert.equal(model('edxops', 'other').services.get('b')?.parents, ['a']);
  assert.equal(model('other').services.get('b')?.parents, ['a']);
});

test('with a registry configured, FROM <registry>/<namespace>/<svc> is a parent too', async () => {
  const plain = await loadCheckout(LEGACY);
  assert.equal(plain.checkout.services.get('zz-registry-port')?.parents, []);
  const withRegistry = await loadCheckout(LEGACY, { registry: 'localhost:5000' });
  assert.equal(withRegistry.checkout.services.get('zz-registry-port')?.parents, ['xenial-common']);
});

test('the build args given reach FROM lines through ARG', async () => {
  const { checkout } = await loadCheckout(LEGACY, { buildArgs: ['BASE_IMAGE_TAG=release'] });
  assert.equal(checkout.services.get('forum')?.bases.map((base) => base.image), ['edxops/xenial-common:release']);
});

test.run();
