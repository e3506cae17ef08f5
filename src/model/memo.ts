// What parsing a file gave in an earlier run, kept by the parse cache (discover/parse-cache.ts)
// for as long as the file's text is the one that was parsed. The model asks it before parsing
// and tells it what it parsed, and stays pure: the memo is only a map, kept and saved by others.

export interface ParseMemo<T> {
  /** What parsing the file at `path`, as it reads now, gave; undefined when not known. */
  get(path: string): T | undefined;
  set(path: string, value: T): void;
}
