import { TokenizerError } from '../errors.js';
import type { Dictionary } from './dictionary.js';
import { Lattice } from './lattice.js';

/** Lattices up to this many nodes (~2.5 MB, texts of ~10,000 characters) are kept for the next call. */
const KEEP_NODES = 1 << 16;
/** Where MeCab would cut a character in half: fugashi then fails on invalid UTF-8, we raise this. */
const CUT = "MeCab's 65,535-byte look-ahead (reached after a very long run of whitespace) cuts a character in " +
  'half here and the reference tokenizer fails on it (invalid UTF-8)';

/**
 * MeCab-compatible word segmentation over a compiled dictionary: the surfaces fugashi + unidic-lite
 * output, span for span. The rules -- visited positions, whitespace skipping, dictionary and
 * unknown words, the 65,535-byte look-ahead window and Viterbi's tie order -- are those of
 * docs/dictionary-format.md ("Segmentation rules"), in the one sequential design every runtime
 * shares (`_segment.c`, `pure_python.py`, `Segmenter.kt`): one pass over the positions in order,
 * each node's best predecessor computed as it is created (every node ending at a position exists
 * before any lookup there). Loops only, no recursion, so text length is bounded by memory alone.
 */
export class Segmenter {
  private readonly spaceMask: number;
  /** What a character cut by the window reads as. */
  private readonly nulMask: number;
  private readonly maxLength: number;
  private lattice = new Lattice();

  constructor(private readonly d: Dictionary) {
    this.spaceMask = d.classMask[d.charClass(0x20)];
    this.nulMask = d.classMask[d.charClass(0)];
    this.maxLength = d.classLength.reduce((m, v) => Math.max(m, v), 0);
  }

  /**
   * Best path of `cps` (code points of NUL-free, NFKC-normalised text, `n` of them): surface spans
   * as `[begin0, end0, begin1, end1, ...]`, code-point indices into `cps`.
   * @throws TokenizerError where MeCab's look-ahead window would cut a character in half.
   */
  spans(cps: Int32Array, n: number): Int32Array {
    if (n === 0) return new Int32Array(0);
    const d = this.d;
    const lat = this.lattice;
    lat.reset(n);
    try {
      this.prepare(lat, cps, n);
      const bos = lat.addNode(0, 0, 0, d.bosRight, false);
      lat.total[bos] = 0;
      lat.prev[bos] = -1;
      lat.link(bos, bos + 1);
      let window = 0;       // last character boundary inside the look-ahead window, moves forward
      let maxAt = 0;
      const bo = lat.byteOff;
      for (let pos = 0; pos < n; pos++) {
        if (!lat.visited[pos]) continue;
        // MeCab's look-ahead: a lookup sees at most maxLookupBytes bytes from pos
        const capped = bo[n] - bo[pos] > d.maxLookupBytes;
        let e = n;
        let cut = 0;
        if (capped) {
          const limit = bo[pos] + d.maxLookupBytes;
          if (window < pos) window = pos;
          while (bo[window + 1] <= limit) window++;
          e = window;
          cut = limit - bo[e];
        }
        const from = lat.nodeCount;
        this.lookup(lat, pos, e, cut, capped, n);
        for (let i = from; i < lat.nodeCount; i++) if (lat.at[i] > maxAt) maxAt = lat.at[i];
        lat.link(from, lat.nodeCount);
      }
      return this.bestPath(lat, maxAt);
    } finally {
      // don't keep a huge text's buffers alive
      if (lat.capacity > KEEP_NODES || lat.positions > KEEP_NODES / 4) this.lattice = new Lattice();
    }
  }

  private prepare(lat: Lattice, cps: Int32Array, n: number): void {
    const d = this.d;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const cp = cps[i];
      lat.code[i] = d.code(cp);
      const c = d.charClass(cp);
      lat.cls[i] = c;
      lat.mask[i] = d.classMask[c];
      lat.byteOff[i] = bytes;
      bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }
    lat.byteOff[n] = bytes;
    lat.runEnd[n] = n;
    for (let k = n - 1; k >= 1; k--) lat.runEnd[k] = (lat.mask[k - 1] & lat.mask[k]) === 0 ? k : lat.runEnd[k + 1];
    lat.runEnd[0] = 0;
  }

  /** All nodes of the lookup at `pos` (`e`: window end, `cut`: bytes of a character it cuts). */
  private lookup(lat: Lattice, pos: number, e: number, cut: number, capped: boolean, n: number): void {
    const d = this.d;
    const mask = lat.mask;
    // 1. whitespace: skip the chained run of SPACE-compatible characters
    const b2 = (mask[pos] & this.spaceMask) !== 0 ? Math.min(lat.runEnd[pos + 1], e) : pos;
    if (b2 >= n) return;
    if (b2 === e && cut > 0) throw new TokenizerError(CUT);
    if (b2 === e && capped) {           // MeCab's 16-bit wrap: a 1-byte node at the window's end
      this.wrapNode(lat, pos, e, n);
      return;
    }
    lat.startLookup(pos);
    // 2. dictionary words, shortest first, entries in order
    const base = d.base;
    const check = d.check;
    let found = false;
    let s = 0;
    let j = b2;
    while (j < e) {
      const c = lat.code[j];
      if (c === 0) break;
      const t = base[s] + c;
      if (check[t] !== s) break;
      s = t;
      j++;
      const bs = base[s];
      const value = bs < 0 ? -bs - 1 : bs > 0 && check[bs] === s ? -base[bs] - 1 : -1;
      if (value >= 0) {
        found = true;
        this.addEntries(lat, b2, j, value >>> 8, value & 0xFF, j, false);
      }
      if (bs < 0) break;
    }
    // 3. unknown words of the first character's category
    const c0 = lat.cls[b2];
    if (found && !d.classInvoke[c0]) return;
    const cat = d.classCategory[c0];
    const uf = d.nLexicon + d.unknownOffsets[cat];
    const uc = d.unknownOffsets[cat + 1] - d.unknownOffsets[cat];
    let any = false;
    let groupEnd = -1;
    if (d.classGroup[c0]) {
      const q = Math.min(lat.runEnd[b2 + 1], e);
      const into = cut > 0 && q === e && (mask[e - 1] & this.nulMask) !== 0;
      if (into) {
        if (e - b2 - 1 + cut <= d.maxGroupingSize) throw new TokenizerError(CUT);
      } else {
        if (q - b2 - 1 <= d.maxGroupingSize) {
          this.addEntries(lat, b2, q, uf, uc, q, false);
          any = true;
        }
        groupEnd = q;
      }
    }
    const len = d.classLength[c0];
    let b3 = b2 + 1;
    for (let i = 1; i <= len && i <= this.maxLength && b3 !== groupEnd; i++, b3++) {
      this.addEntries(lat, b2, b3, uf, uc, b3, false);
      any = true;
      if (b3 >= e) {
        if (cut > 0 && (mask[b2] & this.nulMask) !== 0 && i < len) throw new TokenizerError(CUT);
        break;
      }
      if ((mask[b2] & mask[b3]) === 0) break;
    }
    if (!found && !any) this.addEntries(lat, b2, b2 + 1, uf, uc, b2 + 1, false);
  }

  /** MeCab's wrapped node: span `e..e+1`, joins `pos`'s own end list (only EOS follows it). */
  private wrapNode(lat: Lattice, pos: number, e: number, n: number): void {
    const d = this.d;
    const cat = d.classCategory[lat.cls[e - 1]];
    const off = d.unknownOffsets;
    if (off[cat + 1] - off[cat] !== 1) {
      throw new TokenizerError('65,535+ bytes of whitespace with a dictionary that has several SPACE unknown-word ' +
        'entries is not supported');
    }
    const bo = lat.byteOff;
    if (bo[e] - bo[e - 1] !== 1 || (e < n && bo[e + 1] - bo[e] !== 1)) {
      throw new TokenizerError('text has a run of 65,535+ bytes of whitespace next to a multi-byte character; ' +
        'MeCab would cut that character in half and the reference tokenizer fails on it');
    }
    lat.startLookup(pos);
    this.addEntries(lat, e, e + 1, d.nLexicon + off[cat], 1, pos, true);
  }

  private addEntries(lat: Lattice, b: number, e: number, first: number, count: number, atPos: number,
    wrap: boolean): void {
    const d = this.d;
    for (let k = first; k < first + count; k++) {
      const i = lat.addNode(atPos, b, e, d.right(k), wrap);
      this.connect(lat, i, d.left(k), d.cost(k));
    }
  }

  /**
   * Best cost of a node of the current lookup: nodes of one lookup that share a left class share
   * their best predecessor, so it is searched once per class ({@link Lattice.startLookup} resets
   * the memo). Predecessors are the end list of the lookup position, scanned in MeCab's order; the
   * first minimum wins (MeCab keeps a candidate only when strictly cheaper).
   */
  private connect(lat: Lattice, node: number, row: number, wordCost: number): void {
    const conn = this.d.connector;
    let r = lat.findRow(row, conn.nLeft);
    if (r < 0) {
      if (lat.nPred < 0) lat.gatherPreds();
      const costs = lat.predCost;
      const cols = lat.predCol;
      const high = conn.high;
      const low = conn.low;
      const rowBase = row * conn.nRight;
      let bestCost = Infinity;
      let best = -1;
      for (let k = 0; k < lat.nPred; k++) {
        const cell = rowBase + cols[k];
        const c = costs[k] + high[cell] * 256 + low[cell];
        if (c < bestCost) { bestCost = c; best = k; }
      }
      r = lat.addRow(row, bestCost, lat.predId[best]);
    }
    lat.total[node] = lat.rowBest[r] + wordCost;
    lat.prev[node] = lat.rowArg[r];
  }

  /** EOS joins the last position that has nodes; follow the best predecessors back to BOS. */
  private bestPath(lat: Lattice, last: number): Int32Array {
    const conn = this.d.connector;
    const eos = this.d.eosLeft;
    let bestCost = Infinity;
    let bestNode = -1;
    for (let i = 0; i < lat.nodeCount; i++) {          // wrapped nodes at `last` are scanned first
      if (lat.wrapped[i] && lat.at[i] === last) {
        const c = lat.total[i] + conn.cost(eos, lat.col[i]);
        if (c < bestCost) { bestCost = c; bestNode = i; }
      }
    }
    for (let p = lat.endHead[last]; p >= 0; p = lat.next[p]) {
      const c = lat.total[p] + conn.cost(eos, lat.col[p]);
      if (c < bestCost) { bestCost = c; bestNode = p; }
    }
    let len = 0;
    for (let p = bestNode; p > 0; p = lat.prev[p]) len++;
    const out = new Int32Array(2 * len);
    for (let p = bestNode; p > 0; p = lat.prev[p]) {
      len--;
      out[2 * len] = lat.beg[p];
      out[2 * len + 1] = lat.end[p];
    }
    return out;
  }
}
