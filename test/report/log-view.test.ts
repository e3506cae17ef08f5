import * as assert from 'uvu/assert';
import { logView } from '../../src/report/log-view.js';
import { test } from '../helpers.js';

test('a failed BuildKit build: the failing step starts at the header of the step its summary names', () => {
  const log = [
    '#1 [internal] load remote build context',
    '#5 [base 2/2] RUN sleep 1',
    '#6 [stage-1 2/3] RUN make',
    '#6 make: *** [all] Error 2',
    '#5 DONE 1.0s',
    '#6 ERROR: executor failed running [/bin/sh -c make]: exit code: 2',
    '------',
    ' > [stage-1 2/3] RUN make:',
    '#6 make: *** [all] Error 2',
    '------',
    '',
  ].join('\n');
  const view = logView(log, true);
  assert.equal([view.failing?.title, view.failing?.firstLine], ['#6 [stage-1 2/3] RUN make', 3]);
});

test('Buildah (Podman) headers too', () => {
  const view = logView('STEP 1/3: FROM debian\nSTEP 2/3: RUN false\nerror\n', true);
  assert.equal([view.failing?.title, view.failing?.firstLine], ['STEP 2/3: RUN false', 2]);
});

test.run();
