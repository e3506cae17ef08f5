// A build command's plan made afresh: the checkout read, modelled and planned (build.ts loads
// this only when the plan memo had no answer).

import type { ReadLog } from '../discover/plan-memo.js';
import { modelSources } from '../plan/parsed-sources.js';
import type { Begun, Planned } from './build.js';
import { observeReads } from './read.js';
import { resolveBaseDigests } from './release.js';
import { planSelection } from './selection.js';
import { readInputs, sessionOf, type Io } from './session.js';

/**
 * The checkout read, modelled and planned. With `log`, what the readers see on disk is logged
 * for the memo, and `keep` says whether the plan may be kept: not when the run warned (the
 * memo would not say it again) or hashed a context of its own.
 */
export async function finishPlan(begun: Begun, io: Io, log: ReadLog | null): Promise<{ planned: Planned | null; keep: boolean }> {
  const { command, args, config } = begun;
  if (log !== null) observeReads(config, log.observe);
  let warned = false;
  const watched: Io = log === null ? io : { ...io, stderr: { write: (text: string) => ((warned = true), io.stderr.write(text)) } };
  const session = await sessionOf(config, watched);
  const { checkout } = session;
  const { listing, inputs } = await readInputs(config, checkout, watched, begun.walked);
  const options = { ...(await begun.options()), inputs, ...(session.overridesChecked ? { overridesChecked: session.overridesChecked } : {}) };
  const plan = await planSelection(command, args, session, options, watched, async (first) => {
    // --pull always: fresh digests of the images from elsewhere join the keys (a new base, new keys).
    if (config.pull !== 'always') return null;
    const baseDigests = await resolveBaseDigests(first, config, io);
    return baseDigests.size > 0 ? { ...options, baseDigests } : null;
  });
  session.saveCaches?.();
  const planned = plan === null ? null : { plan, config, listing, parsed: modelSources(checkout, config.buildArgs) };
  return { planned, keep: !warned && inputs.contexts === undefined };
}
