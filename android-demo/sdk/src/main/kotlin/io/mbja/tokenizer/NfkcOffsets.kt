package io.mbja.tokenizer

/**
 * NFKC of one piece of text and, for every code point of the result, the UTF-16 span of the
 * piece it came from -- `normalize.py`'s `nfkc_with_offsets`, step for step, so both runtimes
 * report the same spans.
 *
 * NFKC is not character-local (it composes `か` + U+3099, reorders marks, expands `㍻`), so the
 * piece is cut into chunks NFKC cannot join (a chunk ends before a character whose NFKD starts
 * with a non-starter or a Hangul vowel/final), each chunk is normalised alone, and the parts must
 * concatenate to NFKC of the whole; if not, neighbours are merged, and as a last resort the whole
 * piece becomes one chunk: offsets get coarser, never wrong.
 */
internal class NfkcOffsets private constructor(
    /** NFKC of the piece. */
    val text: String,
    /** Per code point of [text]: start and end (UTF-16, in the piece) of its source chunk. */
    val starts: IntArray,
    val ends: IntArray,
) {
    companion object {
        fun of(piece: String): NfkcOffsets {
            val norm = Nfkc.normalize(piece)
            if (norm == piece) {
                val n = piece.codePointCount(0, piece.length)
                val starts = IntArray(n)
                val ends = IntArray(n)
                var u = 0
                for (i in 0 until n) {
                    starts[i] = u
                    u += Character.charCount(piece.codePointAt(u))
                    ends[i] = u
                }
                return NfkcOffsets(norm, starts, ends)
            }
            val chunks = ArrayList<IntArray>()        // [start, end) in UTF-16 units of the piece
            var i = 0
            while (i < piece.length) {
                val cp = piece.codePointAt(i)
                val j = i + Character.charCount(cp)
                if (chunks.isNotEmpty() && Nfkc.joinsPrevious(cp)) chunks.last()[1] = j else chunks.add(intArrayOf(i, j))
                i = j
            }
            var parts = chunks.map {
                val cp = piece.codePointAt(it[0])
                if (it[1] - it[0] == Character.charCount(cp)) Nfkc.normalizeChar(cp) else Nfkc.normalize(piece.substring(it[0], it[1]))
            }
            var spans: List<IntArray> = chunks
            if (parts.joinToString("") != norm) {
                val merged = ArrayList<IntArray>()
                merged.add(chunks[0].copyOf())
                for (c in chunks.subList(1, chunks.size)) {
                    val m = merged.last()
                    val joined = Nfkc.normalize(piece.substring(m[0], c[1]))
                    val apart = Nfkc.normalize(piece.substring(m[0], m[1])) + Nfkc.normalize(piece.substring(c[0], c[1]))
                    if (joined != apart) m[1] = c[1] else merged.add(c.copyOf())
                }
                parts = merged.map { Nfkc.normalize(piece.substring(it[0], it[1])) }
                spans = merged
                if (parts.joinToString("") != norm) {
                    parts = listOf(norm)
                    spans = listOf(intArrayOf(0, piece.length))
                }
            }
            val n = norm.codePointCount(0, norm.length)
            val starts = IntArray(n)
            val ends = IntArray(n)
            var k = 0
            for ((span, part) in spans.zip(parts)) {
                repeat(part.codePointCount(0, part.length)) { starts[k] = span[0]; ends[k] = span[1]; k++ }
            }
            return NfkcOffsets(norm, starts, ends)
        }
    }
}
