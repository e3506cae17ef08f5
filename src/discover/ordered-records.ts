// The records of a cache, read back in the order the last run wrote them: the next run asks for
// them in about the same order (the walk of a checkout is sorted), so each is found by comparing
// its key with the next record's, with no hashing of the 50,000 paths of a large checkout. A
// key asked out of turn (a file added, removed or renamed since) is found through a map built on
// the first such miss, and the order is picked up again after it.

export type KeyedRecord = readonly [key: string, ...rest: unknown[]];

export class OrderedRecords<R extends KeyedRecord> {
  private cursor = 0;
  private index: Map<string, number> | null = null;

  constructor(private readonly records: readonly R[]) {}

  get size(): number {
    return this.records.length;
  }

  /** The record whose key is `key`, or undefined. */
  get(key: string): R | undefined {
    const next = this.records[this.cursor];
    if (next !== undefined && next[0] === key) {
      this.cursor += 1;
      return next;
    }
    // The one just given, asked again (whether a cache knows a path, then its record).
    const last = this.records[this.cursor - 1];
    if (last !== undefined && last[0] === key) return last;
    if (this.index === null) {
      this.index = new Map();
      this.records.forEach((record, i) => this.index?.set(record[0], i));
    }
    const at = this.index.get(key);
    if (at === undefined) return undefined;
    this.cursor = at + 1;
    return this.records[at];
  }
}

/** The records of a cache file's array, or null when it is not an array of records keyed by a string. */
export function keyedRecords<R extends KeyedRecord>(value: unknown, length: number): R[] | null {
  if (!Array.isArray(value)) return null;
  for (const record of value) if (!Array.isArray(record) || record.length !== length || typeof record[0] !== 'string') return null;
  return value as R[];
}
