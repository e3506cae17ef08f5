// A service's ansible_overrides.yml: extra vars for its play. Must be a YAML mapping (or empty).

import { isMap, LineCounter, parseDocument } from 'yaml';
import { DiscoveryError } from '../errors.js';
import type { SourceFile } from '../discover/checkout.js';

export type Overrides = Readonly<Record<string, unknown>>;

export function parseOverrides(file: SourceFile): Overrides {
  const lineCounter = new LineCounter();
  const doc = parseDocument(file.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    throw new DiscoveryError(file.path, lineCounter.linePos(error.pos[0]).line, `invalid YAML: ${error.message.split('\n')[0]}`, {
      hint: 'fix the YAML; ansible-playbook reads this file with --extra-vars=@',
    });
  }
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) {
    const line = lineCounter.linePos(doc.contents.range?.[0] ?? 0).line;
    throw new DiscoveryError(file.path, line, 'overrides must be a mapping of variable names to values', {
      hint: 'write one `NAME: value` per line',
    });
  }
  return doc.toJS() as Overrides;
}
