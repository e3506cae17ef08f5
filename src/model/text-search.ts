// Which of many texts contain a word: all of them joined once, each word found with indexOf over
// the whole. One indexOf a text would prepare its search for each of thousands of short texts,
// and planning a change asks this for each role in the change's reverse closure.

export class TextSearch {
  private readonly joined: string;
  /** Where each text starts in `joined`, ascending. */
  private readonly starts: number[];

  constructor(texts: readonly string[]) {
    this.starts = [];
    let at = 0;
    for (const text of texts) {
      this.starts.push(at);
      at += text.length + 1;
    }
    // \0 between texts: no word searched for (a role name) contains one, so no match spans two.
    this.joined = texts.join('\0');
  }

  /** The indices of the texts that contain `word`, ascending, each once. */
  containing(word: string): number[] {
    const found: number[] = [];
    if (word === '') return this.starts.map((_, i) => i);
    for (let at = this.joined.indexOf(word); at !== -1; ) {
      const text = this.textAt(at);
      found.push(text);
      // On from the next text: one match is enough for this one.
      const next = this.starts[text + 1];
      if (next === undefined) break;
      at = this.joined.indexOf(word, next);
    }
    return found;
  }

  /** The index of the text that the offset `at` of `joined` lies in. */
  private textAt(at: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.starts[middle] as number) <= at) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}
