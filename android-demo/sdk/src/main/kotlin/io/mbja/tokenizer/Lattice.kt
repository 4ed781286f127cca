package io.mbja.tokenizer

/**
 * Per-call scratch space of the segmenter: per-position and per-node arrays that grow to the
 * longest text seen and are then reused, so segmenting a sentence allocates nothing but its
 * result. One instance per thread ([Segmenter] keeps them in a ThreadLocal); never shared.
 *
 * Nodes are stored column-wise (struct of arrays). Node 0 is BOS.
 */
internal class Lattice {
    // per position 0..n (index n: text end)
    var code = IntArray(0); private set      // trie code of the character
    var mask = IntArray(0); private set      // category mask of its class
    var cls = IntArray(0); private set       // its character class
    var byteOff = IntArray(0); private set   // UTF-8 byte offset of the character
    var runEnd = IntArray(0); private set    // first k >= j where mask[k-1] and mask[k] share no bit (or n)
    var endHead = IntArray(0); private set   // newest node ending here (end list), -1: none
    var visited = BooleanArray(0); private set

    // per node
    var nodeCount = 0
    var at = IntArray(0); private set        // position whose end list the node joins
    var beg = IntArray(0); private set       // surface span
    var end = IntArray(0); private set
    var col = IntArray(0); private set       // right context class
    var total = LongArray(0); private set    // best path cost up to and including the node
    var prev = IntArray(0); private set      // best predecessor
    var next = IntArray(0); private set      // next (older) node of the same end list
    var wrapped = BooleanArray(0); private set

    // the current lookup: its position and, per matrix row seen, the best predecessor. A row's
    // slot is valid when its stamp is the lookup's (O(1), no clearing between lookups).
    var lookupPos = 0; private set
    private var stamp = 0
    private var rowStamp = IntArray(0)
    private var rowSlot = IntArray(0)
    var rowBest = LongArray(16); private set
    var rowArg = IntArray(16); private set
    private var nRows = 0

    // the lookup position's end list copied into flat arrays on first use (scan order kept):
    // the search reads them once per distinct row, which a linked list would make cache-unfriendly
    var nPred = -1; private set
    var predCost = LongArray(64); private set
    var predCol = IntArray(64); private set
    var predId = IntArray(64); private set

    fun gatherPreds() {
        var k = 0
        var p = endHead[lookupPos]
        while (p >= 0) {
            if (k == predCost.size) {
                predCost = predCost.copyOf(2 * k); predCol = predCol.copyOf(2 * k); predId = predId.copyOf(2 * k)
            }
            predCost[k] = total[p]; predCol[k] = col[p]; predId[k] = p
            k++
            p = next[p]
        }
        nPred = k
    }

    fun startLookup(pos: Int) {
        lookupPos = pos
        nPred = -1
        nRows = 0
        if (++stamp == Int.MAX_VALUE) { stamp = 1; rowStamp.fill(0) }
    }

    /** Slot of [row] in this lookup, or -1. [nLeft] sizes the table on first use. */
    fun findRow(row: Int, nLeft: Int): Int {
        if (rowStamp.size < nLeft) { rowStamp = IntArray(nLeft); rowSlot = IntArray(nLeft) }
        return if (rowStamp[row] == stamp) rowSlot[row] else -1
    }

    fun addRow(row: Int, best: Long, arg: Int): Int {
        if (nRows == rowBest.size) { rowBest = rowBest.copyOf(2 * nRows); rowArg = rowArg.copyOf(2 * nRows) }
        rowBest[nRows] = best; rowArg[nRows] = arg
        rowStamp[row] = stamp; rowSlot[row] = nRows
        return nRows++
    }

    /** Position slots allocated. */
    val positions: Int get() = code.size

    /** Node slots allocated (grows by doubling). */
    val capacity: Int get() = at.size

    /** Make room for a text of [n] characters and reset the end lists. */
    fun reset(n: Int) {
        if (code.size < n + 2) {
            val m = maxOf(n + 2, code.size * 2, 64)
            code = IntArray(m); mask = IntArray(m); cls = IntArray(m); byteOff = IntArray(m)
            runEnd = IntArray(m); endHead = IntArray(m); visited = BooleanArray(m)
        }
        java.util.Arrays.fill(endHead, 0, n + 2, -1)
        java.util.Arrays.fill(visited, 0, n + 2, false)
        nodeCount = 0
        if (at.size < 256) growNodes(256)
    }

    /** Append a node; returns its index. Its cost and predecessor are set by the caller. */
    fun addNode(atPos: Int, b: Int, e: Int, right: Int, isWrap: Boolean): Int {
        if (nodeCount == at.size) growNodes(at.size * 2)
        val i = nodeCount++
        at[i] = atPos; beg[i] = b; end[i] = e; col[i] = right; wrapped[i] = isWrap
        return i
    }

    private fun growNodes(m: Int) {
        at = at.copyOf(m); beg = beg.copyOf(m); end = end.copyOf(m); col = col.copyOf(m)
        total = total.copyOf(m); prev = prev.copyOf(m); next = next.copyOf(m); wrapped = wrapped.copyOf(m)
    }

    /**
     * Put nodes [from] until [to] (created by one lookup) into their end lists. Lists are scanned
     * newest lookup first and, within one lookup, in generation order -- MeCab's order, which
     * decides ties -- so the lookup's nodes are prepended last to first. MeCab's wrapped node
     * (see [Segmenter]) joins no list: only EOS may follow it.
     */
    fun link(from: Int, to: Int) {
        for (i in to - 1 downTo from) {
            if (wrapped[i]) continue
            val p = at[i]
            next[i] = endHead[p]
            endHead[p] = i
            visited[p] = true
        }
    }
}
