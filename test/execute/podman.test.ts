import * as assert from 'uvu/assert';
import { digestFromStatus, insecureRegistries, isPlainHttpRegistry, podmanAuthAddress, qualifiedName, qualifiedRepository } from '../../src/execute/podman.js';
import { parseImageRef, type ImageRef } from '../../src/model/image-ref.js';
import { test } from '../helpers.js';

const ref = (text: string): ImageRef => {
  const parsed = parseImageRef(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.ref;
};

test('plain HTTP for loopback registries and those listed, as dockmk asks the registry itself', () => {
  const listed = insecureRegistries({ DOCKMK_INSECURE_REGISTRIES: 'registry.test:5000, other.test' });
  for (const domain of ['127.0.0.1:5055', '127.3.2.1', 'localhost:5000', '[::1]:5000', 'registry.test:5000', 'other.test:443']) assert.ok(isPlainHttpRegistry(domain, listed), domain);
  for (const domain of ['ghcr.io', 'registry.test:5001', 'docker.io', '10.0.0.1:5000']) assert.not.ok(isPlainHttpRegistry(domain, listed), domain);
});

test("Podman's /auth is asked a loopback registry as localhost:<port>, the one name it checks without TLS", () => {
  assert.is(podmanAuthAddress({ serveraddress: '127.0.0.1:5055', username: 'u', password: 'p' }).serveraddress, 'localhost:5055');
  assert.is(podmanAuthAddress({ serveraddress: '[::1]:5000' }).serveraddress, 'localhost:5000');
  assert.is(podmanAuthAddress({ serveraddress: 'ghcr.io' }).serveraddress, 'ghcr.io');
  assert.is(podmanAuthAddress({ serveraddress: '127.0.0.2:5000' }).serveraddress, '127.0.0.2:5000');
});

test("the digest of a push from Podman's status line", () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  assert.is(digestFromStatus(`key-8ab9f6f86d4178d6: digest: ${digest} size: 528`), digest);
  assert.is(digestFromStatus('Pushing'), null);
});

test('images are named to Podman in full, so that it cannot resolve a short name to another image', () => {
  assert.is(qualifiedName(ref('debian:bookworm')), 'docker.io/library/debian:bookworm');
  assert.is(qualifiedName(ref('hello-app')), 'docker.io/library/hello-app:latest');
  assert.is(qualifiedName(ref('127.0.0.1:5055/edxops/x:key-0123')), '127.0.0.1:5055/edxops/x:key-0123');
  assert.is(qualifiedName(ref(`debian@sha256:${'0'.repeat(64)}`)), `docker.io/library/debian@sha256:${'0'.repeat(64)}`);
  assert.is(qualifiedRepository(ref('edxops/forum:latest')), 'docker.io/edxops/forum');
});

test.run();
