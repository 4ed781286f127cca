/**
 * NFKC as Python 3.11's `unicodedata` computes it (Unicode 14.0), on top of the JS engine's
 * `String.prototype.normalize`, whose ICU data is NEWER (Node 20.20: ICU 78, Unicode 17.0).
 *
 * Unicode's stability policy freezes the decompositions and combining classes of assigned
 * characters, so the engines can differ only on characters that Unicode 14 leaves unassigned:
 * Python treats them as inert starters (no decomposition, combining class 0, compose with
 * nothing), while a newer engine may decompose, reorder or compose them. {@link BRIDGED} lists
 * exactly those, derived once with the development script described there; everything else is
 * left to the engine. An inert starter is a hard boundary for NFKC (nothing reorders across or
 * composes with it), so the text is normalised in the stretches between bridged characters and
 * the bridged characters are kept as they are -- which is what Unicode 14 does.
 *
 * An engine with Unicode 14..17 data needs no more than this (on exactly 14 the bridge is a
 * no-op). An engine older than 14 (a browser from before 2021) would miss the Unicode 14
 * decompositions, and one newer than 17 may add characters this list does not know; the tests
 * check every code point against Python (`vectors/nfkc.jsonl.gz`) on the engine they run on.
 */

/**
 * Inclusive code point ranges `[from0, to0, from1, to1, ...]`, ascending: the 191 code points
 * unassigned in Unicode 14 (Python 3.11 `unicodedata.category(c) == 'Cn'`) that Node 20.20's
 * Unicode 17 `normalize` does not treat as inert -- its NFKC or NFD changes them, or its NFD moves
 * them before U+0345 (combining class 1..239) -- plus the new characters that occur in those
 * characters' decompositions (they compose). Derived by enumerating Python's unassigned code points
 * and probing `normalize` on each (a throwaway script, not part of the runtime); grouped by
 * contiguous runs: Arabic and Latin combining marks (U+0897, U+1ACF..U+1AEB, U+10EFA..),
 * a modifier capital (U+A7F1), Cyrillic modifier letters (U+1E030..U+1E06D), outlined Latin
 * letters and digits (U+1CCD6..U+1CCF9), and letters and marks of the scripts Unicode 15-17 added
 * (Todhri, Garay, Tulu-Tigalari, Kawi, Gurung Khema, Kirat Rai, Nag Mundari, Ol Onal, ...).
 */
const BRIDGED: readonly number[] = [
  0x897, 0x897, 0x1ACF, 0x1ADD, 0x1AE0, 0x1AEB, 0xA7F1, 0xA7F1, 0x105C9, 0x105C9, 0x105D2, 0x105D2,
  0x105DA, 0x105DA, 0x105E4, 0x105E4, 0x10D69, 0x10D6D, 0x10EFA, 0x10EFB, 0x10EFD, 0x10EFF,
  0x11382, 0x11385, 0x1138B, 0x1138B, 0x1138E, 0x1138E, 0x11390, 0x11391, 0x113B8, 0x113B8,
  0x113BB, 0x113BB, 0x113C2, 0x113C2, 0x113C5, 0x113C5, 0x113C7, 0x113C9, 0x113CE, 0x113D0,
  0x11F41, 0x11F42, 0x1611E, 0x16129, 0x1612F, 0x1612F, 0x16D63, 0x16D63, 0x16D67, 0x16D6A,
  0x1CCD6, 0x1CCF9, 0x1E030, 0x1E06D, 0x1E08F, 0x1E08F, 0x1E4EC, 0x1E4EF, 0x1E5EE, 0x1E5EF,
  0x1E6E3, 0x1E6E3, 0x1E6E6, 0x1E6E6, 0x1E6EE, 0x1E6EF, 0x1E6F5, 0x1E6F5,
];

/** Matches one bridged character (a `u` regex: astral ranges are whole code points). */
const BRIDGED_RE = new RegExp('[' + pairs(BRIDGED).map(([a, b]) => esc(a) + (a === b ? '' : '-' + esc(b))).join('') + ']',
  'gu');

function pairs(r: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) out.push([r[i], r[i + 1]]);
  return out;
}

function esc(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

/** Whether `cp` is one of the characters Unicode 14 leaves inert and the engine does not. */
export function isBridged(cp: number): boolean {
  if (cp < BRIDGED[0]) return false;
  let lo = 0;
  let hi = BRIDGED.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (cp < BRIDGED[2 * mid]) hi = mid - 1;
    else if (cp > BRIDGED[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** NFKC of `s`, Unicode 14 as Python 3.11 (lone surrogates pass through unchanged). */
export function nfkc(s: string): string {
  BRIDGED_RE.lastIndex = 0;
  if (!BRIDGED_RE.test(s)) return s.normalize('NFKC');
  BRIDGED_RE.lastIndex = 0;
  let out = '';
  let from = 0;
  for (let m = BRIDGED_RE.exec(s); m !== null; m = BRIDGED_RE.exec(s)) {
    out += s.slice(from, m.index).normalize('NFKC') + m[0];
    from = m.index + m[0].length;
  }
  return out + s.slice(from).normalize('NFKC');
}

const bmpCache: (string | undefined)[] = new Array(0x10000);

/** NFKC of the single code point `cp` (memoised for the BMP). */
export function nfkcChar(cp: number): string {
  if (cp >= 0x10000) return isBridged(cp) ? String.fromCodePoint(cp) : String.fromCodePoint(cp).normalize('NFKC');
  let r = bmpCache[cp];
  if (r === undefined) bmpCache[cp] = r = nfkc(String.fromCharCode(cp));
  return r;
}

const joinsBmp = new Uint8Array(0x10000);     // 0 unknown, 1 no, 2 yes

/**
 * Whether `cp` may join the text before it under NFKC: its NFKD starts with a non-starter
 * (canonical combining class != 0) or a Hangul medial vowel / final consonant -- the test of
 * `normalize.py`'s `_char`. JS has no combining-class API; U+0345 (class 240, the highest, held by
 * no other character) reveals it: NFD moves a mark of class 1..239 before it and leaves a starter
 * after it.
 */
export function joinsPrevious(cp: number): boolean {
  if (cp < 0x300) return false;              // Latin-1 and spacing letters: NFKD starts with a starter
  if (cp < 0x10000) {
    const known = joinsBmp[cp];
    if (known !== 0) return known === 2;
    const r = computeJoins(cp);
    joinsBmp[cp] = r ? 2 : 1;
    return r;
  }
  return computeJoins(cp);
}

function computeJoins(cp: number): boolean {
  if (isBridged(cp) || (cp >= 0xD800 && cp < 0xE000)) return false;
  const first = String.fromCodePoint(cp).normalize('NFKD').codePointAt(0);
  if (first === undefined) return false;
  if ((first >= 0x1161 && first <= 0x1175) || (first >= 0x11A8 && first <= 0x11C2)) return true;
  if (first === 0x345) return true;
  if (first < 0x300) return false;
  return ('\u0345' + String.fromCodePoint(first)).normalize('NFD').codePointAt(0) !== 0x345;
}
