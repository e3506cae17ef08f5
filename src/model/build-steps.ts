// The step headers builders print, and the Dockerfile instruction each one names. Each builder
// numbers its steps its own way:
//   classic   `Step 5/9 : RUN …`            every instruction of the file, global ARGs included
//   Buildah   `[2/2] STEP 3/5: RUN …`       per stage (`[stage/stages]` only with several), FROM is 1,
//                                           dockmk's labels appended to the last stage
//   BuildKit  `#7 [stage-1 2/4] RUN …`      per stage (named by AS, else stage-<index>, unnamed
//                                           when there is one), counting only FROM an image, ADD,
//                                           COPY, RUN and WORKDIR; `#7` is the vertex as dockmk
//                                           prints BuildKit's progress (execute/buildkit.ts), which
//                                           ends a failed build with ` > [stage-1 2/4] RUN …:`
// Pure: lines in, data out; used for the failure line and by the progress reporters.

import { heredocBodies } from './buildkit-syntax.js';
import { lexDockerfile, splitWords, type LogicalLine } from './dockerfile-lex.js';

export type StepHeader =
  | { readonly kind: 'classic'; readonly index: number; readonly total: number; readonly text: string }
  | { readonly kind: 'buildah'; readonly stage: number; readonly index: number; readonly total: number; readonly text: string }
  | {
      readonly kind: 'buildkit';
      readonly vertex: number;
      /** The stage's name as BuildKit prints it (`builder`, `stage-1`), null in a one-stage file. */
      readonly stage: string | null;
      readonly index: number;
      readonly total: number;
      readonly text: string;
    };

const CLASSIC = /^Step (\d+)\/(\d+) : (.*)$/;
const BUILDAH = /^(?:\[(\d+)\/\d+\] )?STEP (\d+)\/(\d+): (.*)$/;
/** `#7 [2/4] RUN …`, `#7 [builder  3/12] COPY …`, `#7 [linux/amd64 builder 2/4] …`. */
const BUILDKIT = /^#(\d+) \[(?:(.*?) +)?(\d+)\/(\d+)\] (.*)$/;

export function parseStepHeader(line: string): StepHeader | null {
  const classic = CLASSIC.exec(line);
  if (classic) return { kind: 'classic', index: Number(classic[1]), total: Number(classic[2]), text: classic[3] ?? '' };
  const buildah = BUILDAH.exec(line);
  if (buildah) return { kind: 'buildah', stage: Number(buildah[1] ?? 1), index: Number(buildah[2]), total: Number(buildah[3]), text: buildah[4] ?? '' };
  const buildkit = BUILDKIT.exec(line);
  if (buildkit) {
    const prefix = (buildkit[2] ?? '').trim();
    // A platform may come first ("linux/amd64 builder"): the stage is the last word.
    const stage = prefix === '' ? null : (prefix.split(/\s+/).at(-1) as string);
    return { kind: 'buildkit', vertex: Number(buildkit[1]), stage: stage?.includes('/') ? null : stage, index: Number(buildkit[3]), total: Number(buildkit[4]), text: buildkit[5] ?? '' };
  }
  return null;
}

/** Where a build is, for progress: `5/9`, `stage 2 3/5`, `builder 2/4`. */
export function stepPosition(header: StepHeader): string {
  const of = `${header.index}/${header.total}`;
  if (header.kind === 'buildah') return header.stage > 1 ? `stage ${header.stage} ${of}` : of;
  if (header.kind === 'buildkit') return header.stage === null ? of : `${header.stage} ${of}`;
  return of;
}

/** dockmk's summary of a failed BuildKit step, at the end of its output: ` > [2/4] RUN …:`. */
const BUILDKIT_SUMMARY = /^ > (\[.*):$/;

/** The failed step a BuildKit summary names (`[2/4] RUN …`), and where the summary is; null without one. */
function buildkitSummary(lines: readonly string[]): { named: string; at: number } | null {
  for (let i = lines.length - 1; i > 0; i--) {
    const named = BUILDKIT_SUMMARY.exec(lines[i] ?? '')?.[1];
    if (named !== undefined && lines[i - 1] === '------') return { named, at: i };
  }
  return null;
}

/**
 * The index in `lines` of the header of the step that failed: under BuildKit, the header of the
 * step its failure summary names (steps run in parallel); otherwise the last header; -1 for none.
 */
export function failingHeaderIndex(lines: readonly string[]): number {
  const summary = buildkitSummary(lines);
  if (summary !== null) {
    return lines.findIndex((line, i) => i < summary.at && /^#\d+ /.test(line) && line.slice(line.indexOf(' ') + 1) === summary.named);
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    if (parseStepHeader(lines[i] ?? '') !== null) return i;
  }
  return -1;
}

/** The header of the step that failed, from a build's output (its last lines will do), or null when it names none. */
export function failedStep(lines: readonly string[]): StepHeader | null {
  const summary = buildkitSummary(lines);
  if (summary !== null) return parseStepHeader(`#0 ${summary.named}`);
  for (let i = lines.length - 1; i >= 0; i--) {
    const header = parseStepHeader(lines[i] ?? '');
    if (header !== null) return header;
  }
  return null;
}

/** The Dockerfile instruction a step header names (`text`: the Dockerfile the builder read), or null. */
export function instructionOf(text: string, header: StepHeader): LogicalLine | null {
  const { escape, lines: all } = lexDockerfile(text);
  const bodies = heredocBodies(all, text.split(/\r?\n/));
  const lines = all.filter((line) => !bodies.has(line.line));
  if (header.kind === 'classic') return lines[header.index - 1] ?? null;
  const stages = splitStages(lines, escape);
  if (header.kind === 'buildah') {
    const stage = stages[header.stage - 1];
    return stage?.lines[header.index - 1] ?? null;
  }
  const stage = stages.length === 1 && header.stage === null ? stages[0] : stages.find((candidate) => candidate.name === header.stage);
  if (stage === undefined) return null;
  const numbered = (withWorkdir: boolean): LogicalLine[] =>
    stage.lines.filter((line, i) =>
      i === 0 ? stage.fromImage : ['ADD', 'COPY', 'RUN'].includes(line.keyword) || (withWorkdir && line.keyword === 'WORKDIR'),
    );
  // Older frontends did not number WORKDIR; ONBUILD triggers of the base come first when there are any.
  let steps = numbered(true);
  if (steps.length !== header.total && numbered(false).length === header.total) steps = numbered(false);
  const offset = Math.max(0, header.total - steps.length);
  return steps[header.index - 1 - offset] ?? null;
}

interface StageLines {
  /** BuildKit's name for it. */
  readonly name: string | null;
  /** Its FROM names an image (not `scratch`, not an earlier stage): a step of its own. */
  readonly fromImage: boolean;
  /** FROM first. */
  readonly lines: readonly LogicalLine[];
}

function splitStages(lines: readonly LogicalLine[], escape: string): StageLines[] {
  const stages: { alias: string | null; fromImage: boolean; lines: LogicalLine[] }[] = [];
  for (const line of lines) {
    if (line.keyword === 'FROM') {
      const words = splitWords(line.args, escape).filter((word) => !word.startsWith('--'));
      const image = (words[0] ?? '').toLowerCase();
      const alias = words.length >= 3 && words[1]?.toUpperCase() === 'AS' ? (words[2] ?? '').toLowerCase() : null;
      const fromImage = image !== 'scratch' && !stages.some((stage) => stage.alias === image);
      stages.push({ alias, fromImage, lines: [line] });
    } else {
      stages.at(-1)?.lines.push(line);
    }
  }
  return stages.map((stage, index) => ({
    name: stages.length === 1 ? null : (stage.alias ?? `stage-${index}`),
    fromImage: stage.fromImage,
    lines: stage.lines,
  }));
}
