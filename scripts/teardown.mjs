#!/usr/bin/env zx
// npm run teardown: stops what `npm run setup` started (by the pids it recorded), nothing else.
// DOCKMK_SETUP_DIR: the state of a setup run with it (a test's own daemon).

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { processInfo } from './dockerd.mjs';

const statePath = join(process.env.DOCKMK_SETUP_DIR ?? join(resolve(import.meta.dirname, '..'), '.dockmk', 'setup'), 'state.json');
if (!existsSync(statePath)) {
  console.log('teardown: setup started nothing here');
  process.exit(0);
}
const state = JSON.parse(readFileSync(statePath, 'utf8'));

/** The recorded process is still running: not gone, not a zombie, and still the program setup started (a pid can be reused). */
const alive = (entry) => {
  const info = processInfo(entry.pid);
  const program = basename(entry.command.split(' ')[0]).slice(0, 15);
  return info !== null && info.state !== 'Z' && info.state !== 'X' && info.comm === program;
};

// The registry first, then the engine (stopping dockerd stops its containerd too).
for (const name of ['registry', 'dockerd', ...Object.keys(state.started).filter((n) => n !== 'registry' && n !== 'dockerd')]) {
  const entry = state.started[name];
  if (!entry) continue;
  if (alive(entry)) {
    process.kill(entry.pid, 'SIGTERM');
    for (let i = 0; i < 120 && alive(entry); i++) await new Promise((done) => setTimeout(done, 250));
    if (alive(entry)) process.kill(entry.pid, 'SIGKILL');
    console.log(`teardown: stopped ${name} (pid ${entry.pid})`);
  }
  delete state.started[name];
  writeFileSync(statePath, `${JSON.stringify(state, null, 2)}\n`);
  // Podman's service leaves its socket behind; the test would find a dead address there.
  if (name === 'podman') for (const file of ['podman.sock', 'podman.json']) rmSync(join(dirname(statePath), file), { force: true });
}
