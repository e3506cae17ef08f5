// Which builder a run uses, from what engines say of themselves: the /version bodies and /_ping
// headers below are what this machine's dockerd 20.10 and Debian's podman 4.3 answered.

import * as assert from 'uvu/assert';
import { DiscoveryError, ConfigError } from '../../src/errors.js';
import { chooseBuilder, engineFactsFrom, refuseBuildkitSyntax, type EngineFacts } from '../../src/execute/builder.js';
import type { BuildPlan, BuildStep } from '../../src/plan/types.js';
import { test } from '../helpers.js';

const DOCKERD_VERSION = {
  Platform: { Name: '' },
  Components: [{ Name: 'Engine', Version: '20.10.24+dfsg1', Details: { ApiVersion: '1.41', Os: 'linux' } }, { Name: 'containerd', Version: '1.6.20~ds1' }],
  Version: '20.10.24+dfsg1',
  ApiVersion: '1.41',
  MinAPIVersion: '1.12',
  Os: 'linux',
  Arch: 'amd64',
};
const DOCKERD_PING = { 'api-version': '1.41', 'docker-experimental': 'false', ostype: 'linux', server: 'Docker/20.10.24+dfsg1 (linux)' };
const PODMAN_VERSION = {
  Platform: { Name: 'linux/amd64/debian-12' },
  Components: [{ Name: 'Podman Engine', Version: '4.3.1', Details: { APIVersion: '4.3.1', MinAPIVersion: '4.0.0', Os: 'linux' } }, { Name: 'Conmon', Version: 'conmon version 2.1.6' }],
  Version: '4.3.1',
  ApiVersion: '1.41',
  MinAPIVersion: '1.24',
  Os: 'linux',
};
const PODMAN_PING = { 'api-version': '1.41', 'builder-version': '', 'buildkit-version': '', 'libpod-api-version': '4.3.1', server: 'Libpod/4.3.1 (linux)' };

const dockerd = engineFactsFrom(DOCKERD_VERSION, DOCKERD_PING);
const podman = engineFactsFrom(PODMAN_VERSION, PODMAN_PING);
const ADDRESS = 'unix:///var/run/docker.sock';

test('what the engines say: dockerd 20.10 (no Builder-Version header) and Podman', () => {
  assert.equal(dockerd, { product: 'docker', name: 'Docker 20.10.24+dfsg1', apiVersion: '1.41', os: 'linux', builderVersion: null, libpodVersion: null });
  assert.equal(podman, { product: 'podman', name: 'Podman 4.3.1', apiVersion: '1.41', os: 'linux', builderVersion: null, libpodVersion: '4.3.1' });
  // Over ssh or TLS the ping headers are not read: /version alone still tells Podman.
  assert.is(engineFactsFrom(PODMAN_VERSION, {}).product, 'podman');
});

test('auto: BuildKit on dockerd 18.09+ on Linux, classic on Podman, old APIs, Windows, or when the engine says its builder is 1', () => {
  assert.is(chooseBuilder('auto', dockerd, ADDRESS).name, 'buildkit');
  assert.is(chooseBuilder('auto', { ...dockerd, builderVersion: '2' }, ADDRESS).name, 'buildkit');
  const onPodman = chooseBuilder('auto', podman, ADDRESS);
  assert.equal([onPodman.name, onPodman.buildkitOffered], ['classic', false]);
  assert.match(onPodman.reason, /Podman 4\.3\.1 builds with Buildah/);
  const old: EngineFacts = { ...dockerd, name: 'Docker 18.06.3', apiVersion: '1.38' };
  assert.equal([chooseBuilder('auto', old, ADDRESS).name, chooseBuilder('auto', old, ADDRESS).buildkitOffered], ['classic', false]);
  assert.is(chooseBuilder('auto', { ...dockerd, apiVersion: '1.39' }, ADDRESS).name, 'buildkit');
  assert.is(chooseBuilder('auto', { ...dockerd, os: 'windows' }, ADDRESS).name, 'classic');
  const off = chooseBuilder('auto', { ...dockerd, builderVersion: '1' }, ADDRESS);
  assert.equal([off.name, off.buildkitOffered], ['classic', true]);
});

test('buildkit and classic as asked; BuildKit asked of an engine without it is refused before anything runs', () => {
  assert.is(chooseBuilder('classic', dockerd, ADDRESS).name, 'classic');
  assert.is(chooseBuilder('buildkit', { ...dockerd, builderVersion: '1' }, ADDRESS).name, 'buildkit');
  assert.throws(() => chooseBuilder('buildkit', podman, 'unix:///run/podman.sock'), (error: Error) => error instanceof ConfigError && /--builder buildkit: Podman 4\.3\.1 at unix:\/\/\/run\/podman\.sock does not offer BuildKit/.test(error.message));
});

function planOf(content: string): BuildPlan {
  const step = { kind: 'build', id: 'build agent', service: 'agent', dockerfile: 'docker/build/agent/Dockerfile', content } as unknown as BuildStep;
  return { version: 1, command: 'test', root: '/x', steps: [step] } as unknown as BuildPlan;
}

test('BuildKit-only syntax on the classic builder is refused at its line, with what to do', () => {
  const plan = planOf('FROM debian AS b\nRUN true\nFROM debian\nRUN --mount=from=b,target=/b true\nCOPY --link a /a\n');
  const error = (() => {
    try {
      refuseBuildkitSyntax(plan, chooseBuilder('auto', podman, 'unix:///run/podman.sock'));
    } catch (caught) {
      return caught as DiscoveryError;
    }
    return null;
  })();
  assert.ok(error instanceof DiscoveryError);
  assert.is(error.message, 'docker/build/agent/Dockerfile:4: RUN --mount needs BuildKit, and Podman 4.3.1 at unix:///run/podman.sock offers only the classic builder: Podman 4.3.1 builds with Buildah: its Docker-compatible API has no BuildKit (and 1 more use of BuildKit syntax); nothing was built');
  assert.match(error.hint ?? '', /an engine that offers BuildKit/);
  assert.throws(() => refuseBuildkitSyntax(plan, chooseBuilder('classic', dockerd, ADDRESS)), (e: DiscoveryError) => /this run uses the classic builder/.test(e.message) && /--builder buildkit/.test(e.hint ?? ''));
  refuseBuildkitSyntax(plan, chooseBuilder('auto', dockerd, ADDRESS));
  refuseBuildkitSyntax(planOf('FROM debian\nRUN true\n'), chooseBuilder('auto', podman, ADDRESS));
});

test.run();
