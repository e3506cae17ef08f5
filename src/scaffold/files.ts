// The I/O of `dockmk new`: reads the templates shipped next to this module, and writes the
// rendered files, none of them if any already exists.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { TEMPLATE_NAMES, type ScaffoldFile, type Templates } from './scaffold.js';

const TEMPLATE_DIR = fileURLToPath(new URL('./templates/', import.meta.url));

export function readTemplates(dir: string = TEMPLATE_DIR): Templates {
  return Object.fromEntries(TEMPLATE_NAMES.map((name) => [name, readFileSync(join(dir, `${name}.hbs`), 'utf8')])) as Templates;
}

/** Writes every file, or throws before writing any when one of them exists. */
export function writeScaffold(root: string, files: readonly ScaffoldFile[]): void {
  const existing = files.filter((file) => existsSync(join(root, file.path)));
  if (existing.length > 0) {
    const more = existing.length > 1 ? ` (and ${existing.length - 1} more of its files)` : '';
    throw new UsageError(`${existing[0]?.path} already exists${more}: nothing was written`, {
      hint: 'dockmk new never overwrites; pick another name or remove those files',
    });
  }
  for (const file of files) {
    mkdirSync(dirname(join(root, file.path)), { recursive: true });
    writeFileSync(join(root, file.path), file.text, { flag: 'wx' });
  }
}
