package io.mbja.tokenizer

/**
 * MeCab-compatible word segmentation over a compiled dictionary: the surfaces fugashi +
 * unidic-lite output, span for span. The rules -- visited positions, whitespace skipping,
 * dictionary and unknown words, the 65,535-byte look-ahead window and Viterbi's tie order -- are
 * those of docs/dictionary-format.md ("Segmentation rules"), in the one sequential design the
 * Python runtime's engines share (`_segment.c`, `pure_python.py`): one pass over the positions in
 * order, each node's best predecessor computed as it is created (every node ending at a position
 * exists before any lookup there).
 *
 * Immutable and thread-safe: per-call state lives in a per-thread [Lattice].
 */
internal class Segmenter(private val d: Dictionary) {
    private val conn = d.connector
    private val spaceMask = d.classMask[d.charClass(0x20)]
    private val nulMask = d.classMask[d.charClass(0)]     // what a character cut by the window reads as
    private val maxLength = d.classLength.maxOrNull() ?: 0
    private val workspace = ThreadLocal.withInitial { Lattice() }

    /**
     * Best path of [cps] (code points of NUL-free, NFKC-normalised text, [n] of them): surface
     * spans as `[begin0, end0, begin1, end1, ...]`, code-point indices into [cps].
     */
    fun spans(cps: IntArray, n: Int): IntArray {
        if (n == 0) return IntArray(0)
        val lat = workspace.get()
        lat.reset(n)
        prepare(lat, cps, n)
        val bos = lat.addNode(0, 0, 0, d.bosRight, false)
        lat.total[bos] = 0; lat.prev[bos] = -1
        lat.link(bos, bos + 1)
        var window = 0        // last character boundary inside the look-ahead window, moves forward
        var maxAt = 0
        for (pos in 0 until n) {
            if (!lat.visited[pos]) continue
            // MeCab's look-ahead: a lookup sees at most maxLookupBytes bytes from pos
            val bo = lat.byteOff
            val capped = bo[n].toLong() - bo[pos] > d.maxLookupBytes
            var e = n
            var cut = 0
            if (capped) {
                val limit = bo[pos].toLong() + d.maxLookupBytes
                if (window < pos) window = pos
                while (bo[window + 1] <= limit) window++
                e = window
                cut = (limit - bo[e]).toInt()
            }
            val from = lat.nodeCount
            lookup(lat, pos, e, cut, capped, n)
            for (i in from until lat.nodeCount) if (lat.at[i] > maxAt) maxAt = lat.at[i]
            lat.link(from, lat.nodeCount)
        }
        val path = bestPath(lat, maxAt)
        if (lat.capacity > KEEP_NODES || lat.positions > KEEP_NODES / 4) workspace.remove()   // don't pin a huge text's buffers to the thread
        return path
    }

    private fun prepare(lat: Lattice, cps: IntArray, n: Int) {
        var bytes = 0
        for (i in 0 until n) {
            val cp = cps[i]
            lat.code[i] = d.code(cp)
            val c = d.charClass(cp)
            lat.cls[i] = c
            lat.mask[i] = d.classMask[c]
            lat.byteOff[i] = bytes
            bytes += if (cp < 0x80) 1 else if (cp < 0x800) 2 else if (cp < 0x10000) 3 else 4
        }
        lat.byteOff[n] = bytes
        lat.runEnd[n] = n
        for (k in n - 1 downTo 1) lat.runEnd[k] = if (lat.mask[k - 1] and lat.mask[k] == 0) k else lat.runEnd[k + 1]
        lat.runEnd[0] = 0
    }

    /** All nodes of the lookup at [pos] ([e]: window end, [cut]: bytes of a character it cuts). */
    private fun lookup(lat: Lattice, pos: Int, e: Int, cut: Int, capped: Boolean, n: Int) {
        val mask = lat.mask
        // 1. whitespace: skip the chained run of SPACE-compatible characters
        val b2 = if (mask[pos] and spaceMask != 0) minOf(lat.runEnd[pos + 1], e) else pos
        if (b2 >= n) return
        if (b2 == e && cut > 0) throw TokenizerException(CUT)
        if (b2 == e && capped) {       // MeCab's 16-bit wrap: a 1-byte node at the window's end
            wrapNode(lat, pos, e, n)
            return
        }
        lat.startLookup(pos)
        // 2. dictionary words, shortest first, entries in order
        var found = false
        var s = 0
        var j = b2
        while (j < e) {
            val c = lat.code[j]
            if (c == 0) break
            val t = d.base.get(s) + c
            if (d.check.get(t) != s) break
            s = t
            j++
            val bs = d.base.get(s)
            val value = if (bs < 0) -bs - 1 else if (bs > 0 && d.check.get(bs) == s) -d.base.get(bs) - 1 else -1
            if (value >= 0) {
                found = true
                addEntries(lat, b2, j, value ushr 8, value and 0xFF)
            }
            if (bs < 0) break
        }
        // 3. unknown words of the first character's category
        val c0 = lat.cls[b2]
        if (found && !d.classInvoke[c0]) return
        val cat = d.classCategory[c0]
        val uf = d.nLexicon + d.unknownOffsets[cat]
        val uc = d.unknownOffsets[cat + 1] - d.unknownOffsets[cat]
        var any = false
        var groupEnd = -1
        if (d.classGroup[c0]) {
            val q = minOf(lat.runEnd[b2 + 1], e)
            val into = cut > 0 && q == e && (mask[e - 1] and nulMask) != 0
            if (into) {
                if (e - b2 - 1 + cut <= d.maxGroupingSize) throw TokenizerException(CUT)
            } else {
                if (q - b2 - 1 <= d.maxGroupingSize) {
                    addEntries(lat, b2, q, uf, uc)
                    any = true
                }
                groupEnd = q
            }
        }
        val len = d.classLength[c0]
        var b3 = b2 + 1
        var i = 1
        while (i <= len && i <= maxLength && b3 != groupEnd) {
            addEntries(lat, b2, b3, uf, uc)
            any = true
            if (b3 >= e) {
                if (cut > 0 && (mask[b2] and nulMask) != 0 && i < len) throw TokenizerException(CUT)
                break
            }
            if (mask[b2] and mask[b3] == 0) break
            b3++
            i++
        }
        if (!found && !any) addEntries(lat, b2, b2 + 1, uf, uc)
    }

    /** MeCab's wrapped node: span `e..e+1`, joins [pos]'s own end list (only EOS follows it). */
    private fun wrapNode(lat: Lattice, pos: Int, e: Int, n: Int) {
        val cat = d.classCategory[lat.cls[e - 1]]
        val off = d.unknownOffsets
        if (off[cat + 1] - off[cat] != 1) {
            throw TokenizerException("65,535+ bytes of whitespace with a dictionary that has several SPACE " +
                "unknown-word entries is not supported")
        }
        val bo = lat.byteOff
        if (bo[e] - bo[e - 1] != 1 || (e < n && bo[e + 1] - bo[e] != 1)) {
            throw TokenizerException("text has a run of 65,535+ bytes of whitespace next to a multi-byte character; " +
                "MeCab would cut that character in half and the reference tokenizer fails on it")
        }
        lat.startLookup(pos)
        addEntries(lat, e, e + 1, d.nLexicon + off[cat], 1, atPos = pos, wrap = true)
    }

    private fun addEntries(lat: Lattice, b: Int, e: Int, first: Int, count: Int,
                           atPos: Int = e, wrap: Boolean = false) {
        for (k in first until first + count) {
            val i = lat.addNode(atPos, b, e, d.right(k), wrap)
            connect(lat, i, d.left(k), d.cost(k))
        }
    }

    /**
     * Best cost of a node of the current lookup: nodes of one lookup that share a left class
     * share their best predecessor, so it is searched once per class ([Lattice.startLookup]
     * resets the memo). Predecessors are the end list of the lookup position, scanned in MeCab's
     * order; the first minimum wins (MeCab keeps a candidate only when strictly cheaper).
     */
    private fun connect(lat: Lattice, node: Int, row: Int, wordCost: Int) {
        var r = lat.findRow(row, conn.nLeft)
        if (r < 0) {
            if (lat.nPred < 0) lat.gatherPreds()
            val costs = lat.predCost
            val cols = lat.predCol
            var bestCost = Long.MAX_VALUE
            var best = -1
            for (k in 0 until lat.nPred) {
                val c = costs[k] + conn.cost(row, cols[k])
                if (c < bestCost) { bestCost = c; best = k }
            }
            r = lat.addRow(row, bestCost, lat.predId[best])
        }
        lat.total[node] = lat.rowBest[r] + wordCost
        lat.prev[node] = lat.rowArg[r]
    }

    /** EOS joins the last position that has nodes; follow the best predecessors back to BOS. */
    private fun bestPath(lat: Lattice, last: Int): IntArray {
        var bestCost = Long.MAX_VALUE
        var bestNode = -1
        val eos = d.eosLeft
        for (i in 0 until lat.nodeCount) {            // wrapped nodes at `last` are scanned first
            if (lat.wrapped[i] && lat.at[i] == last) {
                val c = lat.total[i] + conn.cost(eos, lat.col[i])
                if (c < bestCost) { bestCost = c; bestNode = i }
            }
        }
        var p = lat.endHead[last]
        while (p >= 0) {
            val c = lat.total[p] + conn.cost(eos, lat.col[p])
            if (c < bestCost) { bestCost = c; bestNode = p }
            p = lat.next[p]
        }
        var len = 0
        p = bestNode
        while (p > 0) { len++; p = lat.prev[p] }
        val out = IntArray(2 * len)
        p = bestNode
        while (p > 0) {
            len--
            out[2 * len] = lat.beg[p]; out[2 * len + 1] = lat.end[p]
            p = lat.prev[p]
        }
        return out
    }

    private companion object {
        /** Lattices up to this many nodes (~2.5 MB, texts of ~10,000 characters) stay cached per thread. */
        const val KEEP_NODES = 1 shl 16
        const val CUT = "MeCab's 65,535-byte look-ahead (reached after a very long run of whitespace) cuts a " +
            "character in half here and the reference tokenizer fails on it (invalid UTF-8)"
    }
}
