// The dockerd that `npm run setup` starts, as functions a test can reuse on a daemon of its
// own: where it keeps its socket, pid file, data and exec root (DOCKMK_DOCKERD_* environment
// variables, defaults those of Debian's docker.io), and what a daemon killed with -9 leaves
// behind that stops the next one from starting.
//
// dockerd refuses to start while its pid file names a process that exists ("pid file found,
// ensure docker is not running"): after a kill -9 that process may be a zombie its parent has
// not reaped (PID 1 of many containers never reaps), or the pid may have gone to another
// program. And a containerd.pid in the exec root that names a live process makes dockerd wait
// on that containerd's dead socket until it gives up ("timeout waiting for containerd to
// start"). Both are removed here when they belong to no running daemon, and each removal is
// said.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

/** Where the daemon lives; from DOCKMK_DOCKERD_* or the defaults. */
export function engineSettings(env = process.env) {
  const socket = env.DOCKMK_DOCKERD_SOCKET ?? '/var/run/docker.sock';
  const execRoot = env.DOCKMK_DOCKERD_EXEC_ROOT ?? '/var/run/docker';
  return {
    socket,
    address: `unix://${socket}`,
    pidfile: env.DOCKMK_DOCKERD_PIDFILE ?? '/var/run/docker.pid',
    execRoot,
    dataRoot: env.DOCKMK_DOCKERD_DATA_ROOT ?? null,
    /** More dockerd flags, split on spaces (a test's own bridge: --bridge=x --iptables=false). */
    extraArgs: (env.DOCKMK_DOCKERD_ARGS ?? '').split(' ').filter((arg) => arg !== ''),
    /** True when any path is not the default: setup then manages this daemon, not the machine's. */
    own: ['DOCKMK_DOCKERD_SOCKET', 'DOCKMK_DOCKERD_PIDFILE', 'DOCKMK_DOCKERD_EXEC_ROOT', 'DOCKMK_DOCKERD_DATA_ROOT'].some((key) => env[key] !== undefined),
  };
}

export function dockerdArgs(settings) {
  const args = ['--host', settings.address, '--pidfile', settings.pidfile];
  if (settings.execRoot !== '/var/run/docker') args.push('--exec-root', settings.execRoot);
  if (settings.dataRoot !== null) args.push('--data-root', settings.dataRoot);
  return [...args, ...settings.extraArgs];
}

/** What /proc says of a pid: null when there is no such process. */
export function processInfo(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "<pid> (<comm>) <state> …"; comm may hold spaces and parentheses
    const close = stat.lastIndexOf(')');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), state: stat.slice(close + 2, close + 3) };
  } catch {
    return null;
  }
}

function readPid(file) {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Why `pid` is no running `program`, or null when it is one. */
function notRunning(pid, program) {
  const info = processInfo(pid);
  if (info === null) return `pid ${pid} is not running`;
  if (info.state === 'Z' || info.state === 'X') return `pid ${pid} is a dead ${info.comm} its parent has not reaped (a zombie)`;
  if (info.comm !== program) return `pid ${pid} is now ${info.comm}, not ${program}`;
  return null;
}

/** Resolves true when something accepts connections on the unix socket. */
function socketAnswers(path) {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(2000, () => done(false));
  });
}

/**
 * Before starting dockerd (no engine answers on its socket): removes what a dead daemon left.
 * Returns a sentence per thing removed; throws when a running dockerd holds the pid file (it
 * may be starting or hung: that is for the user to decide, not for setup to kill).
 */
export async function cleanStaleEngine(settings) {
  const cleaned = [];
  const pid = readPid(settings.pidfile);
  if (pid !== null) {
    const why = notRunning(pid, 'dockerd');
    if (why === null) {
      throw new Error(
        `a dockerd (pid ${pid}, in ${settings.pidfile}) is running but does not answer at ${settings.address}: it may still be starting, or hung — wait, or stop it (kill ${pid}) and run setup again`,
      );
    }
    rmSync(settings.pidfile, { force: true });
    cleaned.push(`removed the stale pid file ${settings.pidfile} (${why})`);
  } else if (existsSync(settings.pidfile)) {
    rmSync(settings.pidfile, { force: true });
    cleaned.push(`removed the pid file ${settings.pidfile}, which held no pid`);
  }
  const containerd = join(settings.execRoot, 'containerd');
  const containerdPidfile = join(containerd, 'containerd.pid');
  const containerdPid = readPid(containerdPidfile);
  const containerdWhy = containerdPid === null ? null : notRunning(containerdPid, 'containerd');
  const live = containerdPid !== null && containerdWhy === null;
  if (containerdWhy !== null) {
    rmSync(containerdPidfile, { force: true });
    cleaned.push(`removed the stale containerd pid file ${containerdPidfile} (${containerdWhy})`);
  }
  // A containerd that still runs (the old dockerd's, orphaned) is reused by the new dockerd.
  const socket = join(containerd, 'containerd.sock');
  if (!live && existsSync(socket) && !(await socketAnswers(socket))) {
    for (const file of [socket, `${socket}.ttrpc`, join(containerd, 'containerd-debug.sock')]) rmSync(file, { force: true });
    cleaned.push(`removed the stale containerd socket ${socket} (nothing listens on it)`);
  }
  return cleaned;
}

/** The last lines of a log, for a daemon that did not come up. */
export function logTail(file, lines = 5) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
