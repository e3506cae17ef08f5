// Stack traces of internal errors, mapped back to src/ through the bundle's source maps.
//
// Mapped here, when a stack is printed, rather than by Node (--enable-source-maps or
// process.setSourceMapsEnabled): Node then reads and parses every loaded file's map at start-up,
// ~20 ms of every run (docs/benchmarks.md), for the rare run that prints a stack.

import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** `    at fn (file:///x/dist/main.js:12:34)` or `    at /x/dist/main.js:12:34`. */
const FRAME = /^(.*?)(file:\/\/[^\s()]+?\.m?js|\/[^\s()]+?\.m?js):(\d+):(\d+)(\)?)$/;

/**
 * Each frame in a file that has a source map beside it (`<file>.map`) is rewritten to the
 * original file, line and column; other frames are left as they are.
 */
export function sourceMappedStack(stack: string): string {
  const maps = new Map<string, { map: SourceMap; url: URL } | null>();
  const mapOf = (file: string): { map: SourceMap; url: URL } | null => {
    if (!maps.has(file)) maps.set(file, readMap(file));
    return maps.get(file) ?? null;
  };
  return stack
    .split('\n')
    .map((line) => {
      const match = FRAME.exec(line);
      if (!match) return line;
      const [, before, file, row, column, after] = match as unknown as [string, string, string, string, string, string];
      const found = mapOf(file);
      if (!found) return line;
      const entry = found.map.findEntry(Number(row) - 1, Number(column) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
      if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) return line;
      const source = new URL(entry.originalSource, found.url);
      const where = source.protocol === 'file:' ? fileURLToPath(source) : source.href;
      return `${before}${where}:${entry.originalLine + 1}:${entry.originalColumn + 1}${after}`;
    })
    .join('\n');
}

function readMap(file: string): { map: SourceMap; url: URL } | null {
  try {
    const url = file.startsWith('file:') ? new URL(`${file}.map`) : pathToFileURL(`${file}.map`);
    return { map: new SourceMap(JSON.parse(readFileSync(url, 'utf8'))), url };
  } catch {
    return null; // no map (not a bundle file, or a damaged one): the frame stays as it is
  }
}
