import { cpSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { cleanEnv, fixturePath, tempDir, test } from '../helpers.js';

const MAIN = join(process.cwd(), 'src/cli/main.ts');

function pushedRefs(root: string, ...flags: string[]): string[] {
  const out = execFileSync(process.execPath, ['--import', 'tsx', MAIN, 'push', 'xqueue', '--root', root, '--dry-run', '--json', '--tags', 'auto', ...flags], {
    encoding: 'utf8', env: cleanEnv(),
  });
  const plan = JSON.parse(out) as { steps: { action: string; image?: string; from?: string }[] };
  // The published refs: those written from the build's key ref (which the plan pushes first).
  return plan.steps.filter((s) => s.action === 'push' && s.from !== undefined).map((s) => s.image ?? '');
}

test('push --dry-run --tags auto: a tagged commit of main gets sha, semver and latest; another branch no latest', () => {
  const root = tempDir('dockmk-tags-');
  cpSync(fixturePath('legacy-config'), root, { recursive: true });
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'c');
  git('tag', 'v1.2.3');
  const short = git('rev-parse', '--short=7', 'HEAD').trim();
  // The immutable sha first, then the versioned refs, latest last.
  assert.equal(pushedRefs(root, '--registry', 'localhost:5000'), [`sha-${short}`, '1.2.3', '1.2', '1', 'main', 'latest'].map((t) => `localhost:5000/edxops/xqueue:${t}`));
  git('checkout', '-q', '-b', 'Feature/X');
  assert.equal(pushedRefs(root), [`sha-${short}`, '1.2.3', '1.2', '1', 'feature-x'].map((t) => `edxops/xqueue:${t}`));
  assert.equal(pushedRefs(root, '--stage'), [`sha-${short}`].map((t) => `edxops/xqueue:${t}`), '--stage: the immutable refs only');
});

test.run();
