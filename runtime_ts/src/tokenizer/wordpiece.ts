import { countCodePoints } from './nfkcOffsets.js';

/** The pieces of one MeCab surface. */
export interface Pieces {
  readonly tokens: readonly string[];
  readonly ids: readonly number[];
  /** `[start0, end0, start1, ...]`, code points relative to the surface; null when the surface is
   *  one piece spanning all of it (the common case, which needs no offset arithmetic). */
  readonly spans: Int32Array | null;
}

/** Surfaces cached before the cache is cleared whole (keeps memory bounded on endless input). */
const CACHE_LIMIT = 200_000;

/**
 * WordPiece exactly as transformers' `WordpieceTokenizer` (and `wordpiece.py`, `WordPiece.kt`): a
 * MeCab surface is split on Python's whitespace (`str.split()`, which also splits on characters
 * MeCab keeps inside surfaces, such as U+2028 or U+0085); a word of more than `maxChars` code
 * points becomes the unknown token; otherwise greedy longest match first, continuation pieces
 * prefixed with `##`, and the unknown token for the whole word when some position has no match.
 * Lengths and spans are in code points, as in Python. Results are cached per surface: running
 * text repeats its words, and a surface's pieces never change.
 */
export class WordPiece {
  private readonly unkId: number;
  /** No vocabulary entry is longer (in code points), so longer candidates need no lookup. */
  private readonly longest: number;
  private readonly cache = new Map<string, Pieces>();

  constructor(private readonly vocab: ReadonlyMap<string, number>, private readonly unkToken: string,
    private readonly maxChars: number) {
    this.unkId = vocab.get(unkToken)!;
    let longest = 0;
    for (const t of vocab.keys()) longest = Math.max(longest, countCodePoints(t));
    this.longest = longest;
  }

  /** Pieces of one surface (cached). */
  parts(surface: string): Pieces {
    let r = this.cache.get(surface);
    if (r === undefined) {
      r = this.compute(surface);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(surface, r);
    }
    return r;
  }

  private compute(surface: string): Pieces {
    const u16: number[] = [];        // code point index -> UTF-16 index in `surface` (one past the end too)
    const space: boolean[] = [];
    for (let u = 0; u < surface.length;) {
      const cp = surface.codePointAt(u)!;
      u16.push(u);
      space.push(isPythonSpace(cp));
      u += cp > 0xFFFF ? 2 : 1;
    }
    const n = space.length;
    u16.push(surface.length);
    const tokens: string[] = [];
    const ids: number[] = [];
    const spans: number[] = [];
    for (let i = 0; i < n;) {
      while (i < n && space[i]) i++;
      if (i === n) break;
      let j = i;
      while (j < n && !space[j]) j++;
      this.word(surface, u16, i, j, tokens, ids, spans);
      i = j;
    }
    const whole = tokens.length === 1 && spans[0] === 0 && spans[1] === n;
    return { tokens, ids, spans: whole ? null : Int32Array.from(spans) };
  }

  /** Pieces of the whitespace-free word of code points `from .. to - 1`, appended to the lists. */
  private word(surface: string, u16: number[], from: number, to: number, tokens: string[], ids: number[],
    spans: number[]): void {
    const n = to - from;
    const mark = tokens.length;
    if (n <= this.maxChars) {
      for (let start = from; start < to;) {
        let end = Math.min(to, start + this.longest);
        let id: number | undefined;
        let cand = '';
        for (; end > start; end--) {
          const sub = surface.slice(u16[start], u16[end]);
          cand = start === from ? sub : '##' + sub;
          id = this.vocab.get(cand);
          if (id !== undefined) break;
        }
        if (id === undefined) break;            // an unmatchable position: the whole word is unknown
        tokens.push(cand);
        ids.push(id);
        spans.push(start, end);
        start = end;
        if (start === to) return;
      }
    }
    tokens.length = mark;
    ids.length = mark;
    spans.length = 2 * mark;
    tokens.push(this.unkToken);
    ids.push(this.unkId);
    spans.push(from, to);
  }
}

/** Python's `str.isspace()` (and `str.split()`'s separators): stable since Unicode 6.3. */
export function isPythonSpace(cp: number): boolean {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp === 0x85 || cp === 0xA0 || cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200A) || cp === 0x2028 || cp === 0x2029 || cp === 0x202F || cp === 0x205F ||
    cp === 0x3000;
}
