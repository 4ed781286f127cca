package io.mbja.tokenizer

/**
 * WordPiece exactly as transformers' `WordpieceTokenizer` (and `wordpiece.py`): a MeCab surface
 * is split on Python's whitespace (`str.split()`, which also splits on characters MeCab keeps
 * inside surfaces, such as U+2028 or U+0085); a word of more than [maxChars] code points becomes
 * [unkToken]; otherwise greedy longest match first, continuation pieces prefixed with `##`, and
 * [unkToken] for the whole word when some position has no match.
 *
 * Lengths and spans are in code points, as in Python. Immutable, thread-safe.
 */
internal class WordPiece(private val vocab: Map<String, Int>, private val unkToken: String, private val maxChars: Int) {
    private val unkId: Int = vocab.getValue(unkToken)
    /** No vocabulary entry is longer (in code points), so longer candidates need no lookup. */
    private val longest: Int = vocab.keys.maxOfOrNull { it.codePointCount(0, it.length) } ?: 0

    /** Receives each piece: token, id, and its span (code points, relative to the surface). */
    fun interface Sink {
        fun piece(token: String, id: Int, start: Int, end: Int)
    }

    /** Pieces of the surface `cps[from until to]`. */
    fun surface(cps: IntArray, from: Int, to: Int, sink: Sink) {
        var i = from
        while (i < to) {
            while (i < to && isPythonSpace(cps[i])) i++
            if (i == to) break
            var j = i
            while (j < to && !isPythonSpace(cps[j])) j++
            word(cps, i, j, i - from, sink)
            i = j
        }
    }

    private fun word(cps: IntArray, from: Int, to: Int, base: Int, sink: Sink) {
        val n = to - from
        if (n > maxChars) { sink.piece(unkToken, unkId, base, base + n); return }
        val word = String(cps, from, n)
        val u16 = IntArray(n + 1)             // code point index -> UTF-16 index in `word`
        for (k in 0 until n) u16[k + 1] = u16[k] + Character.charCount(cps[from + k])
        // collect first: an unmatchable position turns the whole word into [UNK]
        var count = 0
        val tokStart = IntArray(n)
        val tokEnd = IntArray(n)
        val toks = arrayOfNulls<String>(n)
        val ids = IntArray(n)
        var start = 0
        while (start < n) {
            var end = minOf(n, start + longest)
            var hit: String? = null
            var id = -1
            while (end > start) {
                val sub = word.substring(u16[start], u16[end])
                val cand = if (start == 0) sub else "##$sub"
                val v = vocab[cand]
                if (v != null) { hit = cand; id = v; break }
                end--
            }
            if (hit == null) { sink.piece(unkToken, unkId, base, base + n); return }
            toks[count] = hit; ids[count] = id; tokStart[count] = start; tokEnd[count] = end; count++
            start = end
        }
        for (k in 0 until count) sink.piece(toks[k]!!, ids[k], base + tokStart[k], base + tokEnd[k])
    }

    internal companion object {
        /** Python's `str.isspace()` (and `str.split()`'s separators): stable since Unicode 6.3. */
        fun isPythonSpace(cp: Int): Boolean = when (cp) {
            in 0x09..0x0D, in 0x1C..0x20, 0x85, 0xA0, 0x1680, in 0x2000..0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
            0x3000 -> true
            else -> false
        }
    }
}
