/**
 * Per-call scratch space of the segmenter: per-position and per-node typed arrays that grow to the
 * longest text seen and are then reused, so segmenting a sentence allocates little but its result.
 * JavaScript runs one call at a time per realm, so one instance per {@link Segmenter} suffices.
 *
 * Nodes are stored column-wise (struct of arrays). Node 0 is BOS. Path costs are doubles: they
 * need more than 32 bits, and stay exact integers far beyond any text (2^53).
 */
export class Lattice {
  // per position 0..n (index n: text end)
  code = new Int32Array(0);      // trie code of the character
  mask = new Int32Array(0);      // category mask of its class
  cls = new Int32Array(0);       // its character class
  byteOff = new Int32Array(0);   // UTF-8 byte offset of the character
  runEnd = new Int32Array(0);    // first k >= j where mask[k-1] and mask[k] share no bit (or n)
  endHead = new Int32Array(0);   // newest node ending here (end list), -1: none
  visited = new Uint8Array(0);

  // per node
  nodeCount = 0;
  at = new Int32Array(0);        // position whose end list the node joins
  beg = new Int32Array(0);       // surface span
  end = new Int32Array(0);
  col = new Int32Array(0);       // right context class
  total = new Float64Array(0);   // best path cost up to and including the node
  prev = new Int32Array(0);      // best predecessor
  next = new Int32Array(0);      // next (older) node of the same end list
  wrapped = new Uint8Array(0);

  // the current lookup: its position and, per matrix row seen, the best predecessor. A row's slot
  // is valid when its stamp is the lookup's (O(1), no clearing between lookups).
  lookupPos = 0;
  private stamp = 0;
  private rowStamp = new Int32Array(0);
  private rowSlot = new Int32Array(0);
  rowBest = new Float64Array(16);
  rowArg = new Int32Array(16);
  private nRows = 0;

  // the lookup position's end list copied into flat arrays on first use (scan order kept): the
  // search reads them once per distinct row, which a linked list would make cache-unfriendly
  nPred = -1;
  predCost = new Float64Array(64);
  predCol = new Int32Array(64);
  predId = new Int32Array(64);

  gatherPreds(): void {
    let k = 0;
    let p = this.endHead[this.lookupPos];
    while (p >= 0) {
      if (k === this.predCost.length) {
        this.predCost = grow(this.predCost, 2 * k);
        this.predCol = grow(this.predCol, 2 * k);
        this.predId = grow(this.predId, 2 * k);
      }
      this.predCost[k] = this.total[p];
      this.predCol[k] = this.col[p];
      this.predId[k] = p;
      k++;
      p = this.next[p];
    }
    this.nPred = k;
  }

  startLookup(pos: number): void {
    this.lookupPos = pos;
    this.nPred = -1;
    this.nRows = 0;
    if (++this.stamp === 0x7FFFFFFF) {
      this.stamp = 1;
      this.rowStamp.fill(0);
    }
  }

  /** Slot of `row` in this lookup, or -1. `nLeft` sizes the table on first use. */
  findRow(row: number, nLeft: number): number {
    if (this.rowStamp.length < nLeft) {
      this.rowStamp = new Int32Array(nLeft);
      this.rowSlot = new Int32Array(nLeft);
    }
    return this.rowStamp[row] === this.stamp ? this.rowSlot[row] : -1;
  }

  addRow(row: number, best: number, arg: number): number {
    const r = this.nRows;
    if (r === this.rowBest.length) {
      this.rowBest = grow(this.rowBest, 2 * r);
      this.rowArg = grow(this.rowArg, 2 * r);
    }
    this.rowBest[r] = best;
    this.rowArg[r] = arg;
    this.rowStamp[row] = this.stamp;
    this.rowSlot[row] = r;
    this.nRows = r + 1;
    return r;
  }

  /** Position slots allocated. */
  get positions(): number { return this.code.length; }

  /** Node slots allocated (grows by doubling). */
  get capacity(): number { return this.at.length; }

  /** Make room for a text of `n` characters and reset the end lists. */
  reset(n: number): void {
    if (this.code.length < n + 2) {
      const m = Math.max(n + 2, this.code.length * 2, 64);
      this.code = new Int32Array(m); this.mask = new Int32Array(m); this.cls = new Int32Array(m);
      this.byteOff = new Int32Array(m); this.runEnd = new Int32Array(m); this.endHead = new Int32Array(m);
      this.visited = new Uint8Array(m);
    }
    this.endHead.fill(-1, 0, n + 2);
    this.visited.fill(0, 0, n + 2);
    this.nodeCount = 0;
    if (this.at.length < 256) this.growNodes(256);
  }

  /** Append a node; returns its index. Its cost and predecessor are set by the caller. */
  addNode(atPos: number, b: number, e: number, right: number, isWrap: boolean): number {
    if (this.nodeCount === this.at.length) this.growNodes(this.at.length * 2);
    const i = this.nodeCount++;
    this.at[i] = atPos; this.beg[i] = b; this.end[i] = e; this.col[i] = right; this.wrapped[i] = isWrap ? 1 : 0;
    return i;
  }

  private growNodes(m: number): void {
    this.at = grow(this.at, m); this.beg = grow(this.beg, m); this.end = grow(this.end, m);
    this.col = grow(this.col, m); this.total = grow(this.total, m); this.prev = grow(this.prev, m);
    this.next = grow(this.next, m); this.wrapped = grow(this.wrapped, m);
  }

  /**
   * Put nodes `from` .. `to - 1` (created by one lookup) into their end lists. Lists are scanned
   * newest lookup first and, within one lookup, in generation order -- MeCab's order, which decides
   * ties -- so the lookup's nodes are prepended last to first. MeCab's wrapped node (see
   * {@link Segmenter}) joins no list: only EOS may follow it.
   */
  link(from: number, to: number): void {
    for (let i = to - 1; i >= from; i--) {
      if (this.wrapped[i]) continue;
      const p = this.at[i];
      this.next[i] = this.endHead[p];
      this.endHead[p] = i;
      this.visited[p] = 1;
    }
  }
}

type Typed = Int32Array | Float64Array | Uint8Array;

/** A copy of `a` with room for `m` elements. */
function grow<T extends Typed>(a: T, m: number): T {
  const b = new (a.constructor as new (n: number) => T)(m);
  b.set(a.subarray(0, Math.min(a.length, m)) as never);
  return b;
}
