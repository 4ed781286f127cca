package io.mbja.tasks

import io.mbja.MbjaException
import io.mbja.engine.ModelOutput

/**
 * Sliding windows over a token sequence longer than the model takes: a port of
 * runtime_py/mbja_runtime/pipelines/windows.py. The content tokens (between [CLS] and [SEP]) are
 * covered by overlapping windows of the largest length the model takes; each token keeps the
 * prediction of the window in which it has the most context on both sides (the SQuAD rule).
 */
internal object Windows {
    /** Overlap between neighbouring windows, in tokens (capped at half a window for short models). */
    const val DEFAULT_STRIDE: Int = 32

    fun defaultStride(maxLength: Int): Int = minOf(DEFAULT_STRIDE, (maxLength - 2) / 2)

    /** A [stride] windows of [size] content tokens can take: checked before any text, whatever its length. */
    fun checkStride(stride: Int, size: Int) {
        if (size < 1) throw MbjaException("the model takes no content tokens (max length < 3)")
        if (stride < 0 || stride >= size) {
            throw MbjaException("stride must be >= 0 and < the window's $size content tokens, not $stride")
        }
    }

    /** Starts of windows of [size] tokens covering [n] tokens, overlapping by at least [stride]; the last ends at [n]. */
    fun starts(n: Int, size: Int, stride: Int): List<Int> {
        checkStride(stride, size)
        if (n <= size) return listOf(0)
        val step = size - stride
        val out = ArrayList<Int>()
        var s = 0
        while (s < n - size) { out.add(s); s += step }
        out.add(n - size)
        return out
    }

    /** For each of [n] tokens, the window where it is farthest from an edge (the earliest on ties). */
    fun best(n: Int, size: Int, starts: List<Int>): IntArray = IntArray(n) { i ->
        var bestW = 0
        var bestC = Int.MIN_VALUE
        for ((w, s) in starts.withIndex()) {
            val c = if (i >= s && i < s + size) minOf(i - s, s + size - 1 - i) else -1
            if (c > bestC) { bestC = c; bestW = w }
        }
        bestW
    }

    /**
     * Token-level output for `[CLS] content [SEP]` [ids] of any length. [run] runs the model on one
     * window (starting with [CLS], ending with [SEP]). Rows 0 and last come from the first and the
     * last window.
     */
    fun windowed(ids: IntArray, maxLength: Int, stride: Int, run: (IntArray) -> ModelOutput): ModelOutput {
        if (ids.size <= maxLength) return run(ids)
        val cls = ids[0]
        val sep = ids[ids.size - 1]
        val content = ids.copyOfRange(1, ids.size - 1)
        val size = maxLength - 2
        val starts = starts(content.size, size, stride)
        val outs = starts.map { s ->
            val w = IntArray(size + 2)
            w[0] = cls
            content.copyInto(w, 1, s, s + size)
            w[size + 1] = sep
            run(w).also { if (it.pooled || it.rows != w.size) throw MbjaException("windows need token-level output, got $it") }
        }
        val pick = best(content.size, size, starts)
        val cols = outs[0].cols
        val data = FloatArray(ids.size * cols)
        System.arraycopy(outs[0].data, 0, data, 0, cols)
        for (i in content.indices) {
            val w = pick[i]
            System.arraycopy(outs[w].data, (1 + i - starts[w]) * cols, data, (1 + i) * cols, cols)
        }
        val last = outs.last()
        System.arraycopy(last.data, (last.rows - 1) * cols, data, (ids.size - 1) * cols, cols)
        return ModelOutput(data, ids.size, cols, pooled = false)
    }
}
