// Services declared in dockmk.yml (globby patterns) or read from a bake file (HCL, JSON), on a
// fixture laid out like mieweb/opensource-server: images/<name>/Dockerfile, bare-name parents,
// per-image contexts, one Dockerfile built on two bases.

import * as assert from 'uvu/assert';
import { ansibleSetup, computeAffected } from '../../src/cli/selection.js';
import { parseConfigFile } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { bakeLayout } from '../../src/discover/bake.js';
import { servicesToJson } from '../../src/report/json.js';
import { fixturePath, loadCheckout, tempDir, test } from '../helpers.js';

const LAYOUT = fixturePath('images-layout');

/** What must agree between the forms: each service's files, context, bases and parents. */
function shape(checkout: Awaited<ReturnType<typeof loadCheckout>>['checkout']): unknown {
  return servicesToJson(checkout).map(({ name, dockerfile, context, from, copyFrom, parents }) => ({ name, dockerfile, context, from, copyFrom, parents }));
}

test('services: globs name each match by its directory; negations, exact entries and a second service of one Dockerfile', async () => {
  const { checkout } = await loadCheckout(LAYOUT);
  assert.equal(checkout.layout, 'services');
  assert.equal([...checkout.services.keys()], ['agent', 'base', 'builder', 'docker', 'docker-nodejs', 'docs', 'nodejs']);
  const get = (name: string) => checkout.services.get(name);
  assert.is(get('base')?.context, 'images/base');
  assert.is(get('agent')?.context, '.', 'an exact entry without context builds from the checkout root');
  assert.is(get('docker-nodejs')?.dockerfile.path, 'images/docker/Dockerfile');
  assert.equal(get('nodejs')?.args, { NODE_MAJOR: '22' });
});

test('bare names are parents with fromNamespace "", through contexts, and a stage of the same file wins', async () => {
  const { checkout } = await loadCheckout(LAYOUT);
  const parents = Object.fromEntries([...checkout.services].map(([name, service]) => [name, service.parents]));
  assert.equal(parents, { agent: ['builder', 'nodejs'], base: [], builder: [], docker: ['base'], 'docker-nodejs': ['nodejs'], docs: ['base', 'builder'], nodejs: ['base'] });
  const base = checkout.services.get('base');
  assert.equal(base?.bases.map((b) => b.image), ['debian:bookworm'], 'COPY --from=builder reads the stage builder, not the service');
  const agent = checkout.services.get('agent');
  assert.equal(agent?.bases.map((b) => [b.instruction, b.image, b.parent]), [['FROM', 'nodejs', 'nodejs'], ['RUN', 'builder', 'builder']]);
  const dockerNodejs = checkout.services.get('docker-nodejs');
  assert.equal(dockerNodejs?.bases.map((b) => [b.image, b.parent, b.via]), [['base', 'nodejs', 'base']]);
});

test('without fromNamespace "" or a context, FROM base is an image from elsewhere, as Docker reads it', async () => {
  const { checkout } = await loadCheckout(LAYOUT);
  const raw = { root: LAYOUT, services: [...checkout.services.values()].map((s) => ({ name: s.name, dockerfile: { path: s.dockerfile.path, text: s.dockerfile.text }, overrides: null })), plays: [] };
  const { buildCheckout } = await import('../../src/model/checkout.js');
  const plain = buildCheckout(raw, { namespace: 'edxops', registry: null, buildArgs: {}, playsDir: 'docker/plays' });
  assert.equal(plain.services.get('nodejs')?.parents, []);
});

test('the bake file, HCL and JSON, gives the same services as the equivalent dockmk.yml', async () => {
  const fromYaml = shape((await loadCheckout(LAYOUT)).checkout);
  const hcl = (await loadCheckout(LAYOUT, { bake: `${LAYOUT}/images/docker-bake.hcl` })).checkout;
  const json = (await loadCheckout(LAYOUT, { bake: `${LAYOUT}/images/docker-bake.json` })).checkout;
  assert.equal(hcl.layout, 'bake');
  assert.equal(shape(hcl), fromYaml);
  assert.equal(shape(json), fromYaml);
  assert.equal(servicesToJson(json), servicesToJson(hcl), 'contexts and tags too');
  assert.equal(hcl.services.get('nodejs')?.args, { NODE_MAJOR: '22' }, 'a variable default fills ${NODE_MAJOR}');
  assert.equal(hcl.groups.runtimes, ['nodejs', 'docker-nodejs']);
  assert.equal(hcl.services.get('agent')?.tags, ['ghcr.io/example/agent:latest']);
});

test('bake attributes dockmk does not use are listed once, in one warning', async () => {
  const { checkout } = await loadCheckout(LAYOUT, { bake: `${LAYOUT}/images/docker-bake.hcl` });
  assert.equal(checkout.warnings.map((w) => w.message), ['bake attributes dockmk does not use, left out of its builds: cache-to (agent), platforms (base)']);
});

test('bad bake input: one ConfigError naming file:line', async () => {
  const text = 'target "a" {\n  context = "."\n  contexts = { base = "target:nope" }\n}\n';
  const error = (() => {
    try {
      bakeLayout({ path: 'images/docker-bake.hcl', text, json: { target: { a: [{ context: '.', contexts: { base: 'target:nope' } }] } } });
    } catch (caught) {
      return caught as Error;
    }
    return null;
  })();
  assert.instance(error, ConfigError);
  assert.match(error?.message ?? '', /^images\/docker-bake\.hcl:3: target "a": context base = "target:nope" names no target/);
  const json = '{\n  "target": {\n    "a": { "context": "../.." }\n  }\n}\n';
  assert.throws(() => bakeLayout({ path: 'images/docker-bake.json', text: json, json: JSON.parse(json) }), (e: Error) => e instanceof ConfigError && e.message.startsWith('images/docker-bake.json:3: target "a": context "../.." lies outside the checkout'));
  const { discoverLayout } = await import('../../src/discover/layout.js');
  const { loadConfig } = await import('../../src/config/config.js');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { diskFiles } = await import('../../src/discover/files.js');
  const { ParseCache } = await import('../../src/discover/parse-cache.js');
  const root = tempDir('dockmk-bake-');
  mkdirSync(join(root, 'images'));
  writeFileSync(join(root, 'images/docker-bake.hcl'), 'target "a" {\n  context =\n}\n');
  const config = loadConfig({ root, bake: 'images/docker-bake.hcl' }, {}, root);
  try {
    await discoverLayout(config, diskFiles(root, new ParseCache(null, root)));
    assert.unreachable('a broken HCL file is refused');
  } catch (caught) {
    assert.instance(caught, ConfigError);
    assert.match((caught as Error).message, /^images\/docker-bake\.hcl:2: Invalid expression/);
  }
});

test('services: in dockmk.yml is checked at its lines; fromNamespace "" is accepted', () => {
  const where = (text: string): string => {
    try {
      parseConfigFile(text, 'dockmk.yml');
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  };
  assert.is(where('fromNamespace: ""\nservices: ["images/*/Dockerfile"]\n'), 'accepted');
  assert.match(where('services:\n  - name: x\n    context: "{dir}"\n'), /^dockmk\.yml:2: a service needs a dockerfile/);
  assert.match(where('services:\n  base:\n    colour: red\n'), /^dockmk\.yml:3: unknown service setting "colour"/);
  assert.match(where('bake: images/docker-bake.hcl\nservices: [x]\n'), /^dockmk\.yml:2: bake and services are both set/);
  assert.match(where('services: 3\n'), /^dockmk\.yml:1: services must be a list/);
});

test('affected: a file under a service context selects it (and, with children, all built on it); a root-context COPY source its service', async () => {
  const session = await loadCheckout(LAYOUT);
  const changed = (paths: string[], withChildren = false) =>
    computeAffected(session, ansibleSetup(session.config), paths.map((path) => ({ path, status: 'modified' as const })), withChildren).services;
  assert.equal(changed(['images/base/motd']), ['base']);
  assert.equal(changed(['images/base/motd'], true), ['agent', 'base', 'docker', 'docker-nodejs', 'docs', 'nodejs']);
  assert.equal(changed(['agent/package.json']), ['agent']);
  assert.equal(changed(['agent/src/main.js']), ['builder']);
  assert.equal(changed(['images/docker/Dockerfile']), ['docker', 'docker-nodejs'], 'both services of one Dockerfile');
  assert.equal(changed(['images/agent/Dockerfile']), ['agent'], 'a root-context service owns its Dockerfile directory');
});

test.run();
