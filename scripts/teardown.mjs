#!/usr/bin/env zx
// npm run teardown: stops what `npm run setup` started (by the pids it recorded), nothing else.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const statePath = join(resolve(import.meta.dirname, '..'), '.dockmk', 'setup', 'state.json');
if (!existsSync(statePath)) {
  console.log('teardown: setup started nothing here');
  process.exit(0);
}
const state = JSON.parse(readFileSync(statePath, 'utf8'));

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// The registry first, then the engine (stopping dockerd stops its containerd too).
for (const name of ['registry', 'dockerd', ...Object.keys(state.started).filter((n) => n !== 'registry' && n !== 'dockerd')]) {
  const entry = state.started[name];
  if (!entry) continue;
  if (alive(entry.pid)) {
    process.kill(entry.pid, 'SIGTERM');
    for (let i = 0; i < 120 && alive(entry.pid); i++) await new Promise((done) => setTimeout(done, 250));
    if (alive(entry.pid)) process.kill(entry.pid, 'SIGKILL');
    console.log(`teardown: stopped ${name} (pid ${entry.pid})`);
  }
  delete state.started[name];
  writeFileSync(statePath, `${JSON.stringify(state, null, 2)}\n`);
  // Podman's service leaves its socket behind; the test would find a dead address there.
  if (name === 'podman') for (const file of ['podman.sock', 'podman.json']) rmSync(join(dirname(statePath), file), { force: true });
}
