import { joinsPrevious, nfkc, nfkcChar } from './nfkc.js';

/**
 * NFKC of one piece of text and, for every code point of the result, the UTF-16 span of the piece
 * it came from -- `normalize.py`'s `nfkc_with_offsets` (and `NfkcOffsets.kt`) step for step, so
 * every runtime reports the same spans.
 *
 * NFKC is not character-local (it composes `か` + U+3099, reorders marks, expands `㍻`), so the
 * piece is cut into chunks NFKC cannot join (a chunk ends before a character whose NFKD starts with
 * a non-starter or a Hangul vowel/final), each chunk is normalised alone, and the parts must
 * concatenate to NFKC of the whole; if not, neighbours are merged, and as a last resort the whole
 * piece becomes one chunk: offsets get coarser, never wrong.
 */
export interface NfkcOffsets {
  /** NFKC of the piece. */
  text: string;
  /** Per code point of `text`: start and end (UTF-16, in the piece) of its source chunk. */
  starts: Int32Array;
  ends: Int32Array;
}

export function nfkcWithOffsets(piece: string): NfkcOffsets {
  const norm = nfkc(piece);
  if (norm === piece) {
    const n = countCodePoints(piece);
    const starts = new Int32Array(n);
    const ends = new Int32Array(n);
    for (let i = 0, u = 0; i < n; i++) {
      starts[i] = u;
      u += piece.codePointAt(u)! > 0xFFFF ? 2 : 1;
      ends[i] = u;
    }
    return { text: norm, starts, ends };
  }
  // chunks as [start, end) UTF-16 ranges of the piece, flat
  const chunks: number[] = [];
  for (let i = 0; i < piece.length;) {
    const cp = piece.codePointAt(i)!;
    const j = i + (cp > 0xFFFF ? 2 : 1);
    if (chunks.length > 0 && joinsPrevious(cp)) chunks[chunks.length - 1] = j;
    else chunks.push(i, j);
    i = j;
  }
  let spans = chunks;
  let parts: string[] = [];
  for (let k = 0; k < chunks.length; k += 2) {
    const a = chunks[k];
    const b = chunks[k + 1];
    const cp = piece.codePointAt(a)!;
    parts.push(b - a === (cp > 0xFFFF ? 2 : 1) ? nfkcChar(cp) : nfkc(piece.slice(a, b)));
  }
  if (parts.join('') !== norm) {
    const merged = [chunks[0], chunks[1]];
    for (let k = 2; k < chunks.length; k += 2) {
      const ma = merged[merged.length - 2];
      const mb = merged[merged.length - 1];
      const joined = nfkc(piece.slice(ma, chunks[k + 1]));
      const apart = nfkc(piece.slice(ma, mb)) + nfkc(piece.slice(chunks[k], chunks[k + 1]));
      if (joined !== apart) merged[merged.length - 1] = chunks[k + 1];
      else merged.push(chunks[k], chunks[k + 1]);
    }
    parts = [];
    for (let k = 0; k < merged.length; k += 2) parts.push(nfkc(piece.slice(merged[k], merged[k + 1])));
    spans = merged;
    if (parts.join('') !== norm) {
      parts = [norm];
      spans = [0, piece.length];
    }
  }
  const n = countCodePoints(norm);
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  let k = 0;
  parts.forEach((part, c) => {
    for (let m = countCodePoints(part); m > 0; m--, k++) {
      starts[k] = spans[2 * c];
      ends[k] = spans[2 * c + 1];
    }
  });
  return { text: norm, starts, ends };
}

/** Code points of `s` (a surrogate pair counts once; a lone surrogate once too). */
export function countCodePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xD800 && c < 0xDC00) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xDC00 && d < 0xE000) { n--; i++; }
    }
  }
  return n;
}
