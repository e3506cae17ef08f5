// The pure parts of the workflow driver test/it/release.test.ts runs: the expression subset,
// job conditions as GitHub decides them, matrix expansion, triggers and GITHUB_OUTPUT files,
// and that the shipped workflow's every expression is one the driver can read.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { condition, evaluate, ExpressionError, interpolate, parseExpression, type Scope } from './it/sim/expressions.js';
import { readCommandFile } from './it/sim/runner.js';
import { expandMatrix, loadWorkflow, triggers, type GithubEvent } from './it/sim/workflow.js';
import { REPO_ROOT, tempDir, test } from './helpers.js';

const scope = (contexts: Scope['contexts'] = {}, failed = false): Scope => ({
  contexts: { github: { event_name: 'push', ref_type: 'branch', event: {} }, ...contexts },
  status: { success: () => !failed, failure: () => failed, cancelled: () => false, always: () => true },
});
const value = (source: string, s: Scope = scope()) => evaluate(parseExpression(source), s);

test('literals, contexts, property and index access; a missing property is null', () => {
  const s = scope({ needs: { plan: { outputs: { wave1: '{"include":[{"shard":"1/4"}]}', mode: 'release' } } } });
  assert.is(value("needs.plan.outputs.mode", s), 'release');
  assert.is(value("needs['plan'].outputs['mode']", s), 'release');
  assert.is(value('fromJSON(needs.plan.outputs.wave1).include[0].shard', s), '1/4');
  assert.is(value('fromJSON(needs.plan.outputs.wave1).include[1]', s), null);
  assert.is(value('needs.nothing.outputs.mode', s), null);
  assert.is(value("'it''s'"), "it's");
  assert.is(value('github.EVENT_NAME'), 'push', 'property names are case-insensitive');
});

test("GitHub's loose equality: strings without case, numbers across types, null as 0", () => {
  assert.is(value("'Release' == 'release'"), true);
  assert.is(value("'1' == 1"), true);
  assert.is(value('null == 0'), true);
  assert.is(value("null == ''"), true);
  assert.is(value("'abc' == 0"), false);
  assert.is(value('true == 1'), true);
  assert.is(value("fromJSON('[]') == fromJSON('[]')"), false, 'arrays are equal only to themselves');
});

test('&& and || give an operand and short-circuit; ! binds before ==', () => {
  assert.is(value("'' || 'fallback'"), 'fallback');
  assert.is(value("'a' && 'b'"), 'b');
  assert.is(value("null && fromJSON('not json')"), null, 'the right side is not evaluated');
  assert.is(value('!null == true'), true);
});

test('a job if: without a status function means success() && …; with one it is as written', () => {
  const s = scope({ needs: { plan: { outputs: {} } } }, true);
  assert.is(condition("github.event_name == 'push'", s, 'if'), false, 'an ancestor failed');
  assert.is(condition("${{ !cancelled() && github.event_name == 'push' }}", s, 'if'), true);
  assert.is(condition("${{ !cancelled() && !failure() }}", s, 'if'), false);
  // success() false: the rest is never evaluated (fromJSON of null would be an error).
  assert.is(condition('fromJSON(needs.plan.outputs.tests).include[0] != null', s, 'if'), false);
  assert.throws(() => condition("github.event_name == 'push' ${{ true }}", scope(), 'if'), /always true/);
});

test('anything outside the subset is an error naming it', () => {
  assert.throws(() => parseExpression("contains(github.ref, 'v')"), (e: Error) => e instanceof ExpressionError && /contains\(\)/.test(e.message));
  assert.throws(() => parseExpression('runner.os'), /context "runner"/);
  assert.throws(() => parseExpression('github.run_number > 1'), /operator ">"/);
  assert.throws(() => parseExpression('needs.*.result'), /operator "\*"/);
  assert.throws(() => value('matrix.shard'), /matrix is not available here/);
  assert.throws(() => value("fromJSON('{')"), /fromJSON/);
});

test('interpolate: one expression keeps its type, text around it makes text', () => {
  const s = scope({ matrix: { shard: '2/4', services: 'a b' } });
  assert.equal(interpolate("${{ fromJSON('{\"include\":[]}') }}", s, 'matrix'), { include: [] });
  assert.is(interpolate('wave 1, shard ${{ matrix.shard }}', s, 'name'), 'wave 1, shard 2/4');
  assert.is(interpolate('${{ github.nothing }}', s, 'env'), null);
  assert.is(interpolate('x${{ github.nothing }}y', s, 'env'), 'xy');
  assert.throws(() => interpolate('x ${{ matrix }}', s, 'name'), /object where text/);
});

test('matrix: include alone, or vectors; an empty one is what GitHub refuses', () => {
  assert.equal(expandMatrix({ include: [{ shard: '1/2' }, { shard: '2/2' }] }, 'j'), [{ shard: '1/2' }, { shard: '2/2' }]);
  assert.equal(expandMatrix({ os: ['a', 'b'], n: [1] }, 'j'), [{ os: 'a', n: 1 }, { os: 'b', n: 1 }]);
  assert.throws(() => expandMatrix({ include: [] }, 'j'), /no entries/);
});

test('triggers: the push filters, schedule, create', () => {
  const workflow = loadWorkflow(join(REPO_ROOT, '.github/workflows/images.yml'));
  const event = (name: string, ref: string): GithubEvent => ({ name, ref, sha: '0'.repeat(40), payload: {} });
  assert.is(triggers(workflow, event('push', 'refs/heads/main')), true);
  assert.is(triggers(workflow, event('push', 'refs/heads/feature/x')), false);
  assert.is(triggers(workflow, event('push', 'refs/tags/v1.2.0')), true);
  assert.is(triggers(workflow, event('push', 'refs/tags/release-1')), false);
  assert.is(triggers(workflow, event('schedule', 'refs/heads/main')), true);
  assert.is(triggers(workflow, event('create', 'refs/tags/v1.2.0')), true);
  assert.is(triggers(workflow, event('issues', 'refs/heads/main')), false);
});

test("every expression of the shipped workflow is one the driver can read", () => {
  const text = readFileSync(join(REPO_ROOT, '.github/workflows/images.yml'), 'utf8');
  const expressions = [...text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1] as string);
  assert.ok(expressions.length > 20);
  for (const source of expressions) parseExpression(source);
  const workflow = loadWorkflow(join(REPO_ROOT, '.github/workflows/images.yml'));
  for (const job of Object.values(workflow.jobs)) if (typeof job.if === 'string' && !job.if.includes('${{')) parseExpression(job.if);
});

test('GITHUB_OUTPUT: name=value lines and name<<DELIMITER blocks', () => {
  const path = join(tempDir('dockmk-sim-'), 'output');
  writeFileSync(path, 'mode=release\nwave1={"include":[]}\nnotes<<EOF\nline one\nline=two\nEOF\nempty=\n');
  assert.equal(readCommandFile(path, 'out'), { mode: 'release', wave1: '{"include":[]}', notes: 'line one\nline=two', empty: '' });
  writeFileSync(path, 'broken line\n');
  assert.throws(() => readCommandFile(path, 'out'), /neither name=value/);
});

test.run();
