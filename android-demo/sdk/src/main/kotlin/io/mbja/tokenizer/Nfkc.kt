package io.mbja.tokenizer

import java.text.Normalizer

/**
 * NFKC as Python 3.11's `unicodedata` computes it (Unicode 14.0), on top of `java.text.Normalizer`.
 *
 * The reference tokenizer normalises with Python's `unicodedata`, Unicode 14.0; JDK 17's
 * `Normalizer` implements Unicode 13.0. Comparing the two on every code point (NFKC of each, and
 * the canonical combining class of its NFKD's first character) gives exactly 99 differences, all
 * characters new in Unicode 14, which JDK 17 treats as unassigned (no decomposition, class 0):
 *
 * * 59 compatibility decompositions ([COMPAT]: U+A7F2..U+A7F4 and Latin Extended-F
 *   U+10781..U+107BA, each to one starter). We replace them by their decomposition first; NFKC
 *   then composes and reorders around them as Unicode 14 does.
 * * 40 combining marks with a non-zero combining class ([MARKS]: Arabic, Telugu, Tagalog,
 *   Balinese, Latin, Old Uyghur, Brahmi, Toto). As "unassigned" they would block canonical
 *   reordering and composition. We swap each for a Unicode 13 placeholder mark of the same class
 *   that never composes and that no other character decomposes to ([PLACEHOLDER]), normalise, and
 *   swap back: marks of one class keep their relative order under NFKC, so the n-th placeholder
 *   of a class in the output is the n-th mark of that class (placeholder itself included) of the
 *   input.
 *
 * On a JVM or Android release with Unicode 14 data both steps are no-ops. On Unicode 15+ data
 * (JDK 20+, recent Android) the characters new in 15 would be normalised where Python 3.11 keeps
 * them; none of them is Japanese. `NfkcTest` checks every code point against Python (`nfkc.jsonl.gz`).
 */
internal object Nfkc {
    /** (code point, its Unicode 14 compatibility decomposition), ascending. */
    private val COMPAT = intArrayOf(
        0xA7F2, 0x43, 0xA7F3, 0x46, 0xA7F4, 0x51, 0x10781, 0x2D0, 0x10782, 0x2D1, 0x10783, 0xE6, 0x10784, 0x299,
        0x10785, 0x253, 0x10787, 0x2A3, 0x10788, 0xAB66, 0x10789, 0x2A5, 0x1078A, 0x2A4, 0x1078B, 0x256, 0x1078C, 0x257,
        0x1078D, 0x1D91, 0x1078E, 0x258, 0x1078F, 0x25E, 0x10790, 0x2A9, 0x10791, 0x264, 0x10792, 0x262, 0x10793, 0x260,
        0x10794, 0x29B, 0x10795, 0x127, 0x10796, 0x29C, 0x10797, 0x267, 0x10798, 0x284, 0x10799, 0x2AA, 0x1079A, 0x2AB,
        0x1079B, 0x26C, 0x1079C, 0x1DF04, 0x1079D, 0xA78E, 0x1079E, 0x26E, 0x1079F, 0x1DF05, 0x107A0, 0x28E, 0x107A1,
        0x1DF06, 0x107A2, 0xF8, 0x107A3, 0x276, 0x107A4, 0x277, 0x107A5, 0x71, 0x107A6, 0x27A, 0x107A7, 0x1DF08, 0x107A8,
        0x27D, 0x107A9, 0x27E, 0x107AA, 0x280, 0x107AB, 0x2A8, 0x107AC, 0x2A6, 0x107AD, 0xAB67, 0x107AE, 0x2A7, 0x107AF,
        0x288, 0x107B0, 0x2C71, 0x107B2, 0x28F, 0x107B3, 0x2A1, 0x107B4, 0x2A2, 0x107B5, 0x298, 0x107B6, 0x1C0, 0x107B7,
        0x1C1, 0x107B8, 0x1C2, 0x107B9, 0x1DF0A, 0x107BA, 0x1DF1E,
    )

    /** (code point, canonical combining class) of the marks new in Unicode 14, ascending. */
    private val MARKS = intArrayOf(
        0x898, 230, 0x899, 220, 0x89A, 220, 0x89B, 220, 0x89C, 230, 0x89D, 230, 0x89E, 230, 0x89F, 230, 0x8CA, 230,
        0x8CB, 230, 0x8CC, 230, 0x8CD, 230, 0x8CE, 230, 0x8CF, 220, 0x8D0, 220, 0x8D1, 220, 0x8D2, 220, 0xC3C, 7,
        0x1715, 9, 0x1AC1, 230, 0x1AC2, 230, 0x1AC3, 220, 0x1AC4, 220, 0x1AC5, 230, 0x1AC6, 230, 0x1AC7, 230,
        0x1AC8, 230, 0x1AC9, 230, 0x1ACA, 220, 0x1ACB, 230, 0x1ACC, 230, 0x1ACD, 230, 0x1ACE, 230, 0x1DFA, 218,
        0x10F82, 230, 0x10F83, 220, 0x10F84, 230, 0x10F85, 220, 0x11070, 9, 0x1E2AE, 230,
    )

    /** Combining class -> a Unicode 13 mark of that class: no decomposition, never composes,
     *  in no other character's NFKD (checked against Python's unicodedata). */
    private val PLACEHOLDER = mapOf(7 to 0xABC, 9 to 0x94D, 218 to 0x302A, 220 to 0x316, 230 to 0x30D)

    private val compatKeys = IntArray(COMPAT.size / 2) { COMPAT[2 * it] }
    private val markKeys = IntArray(MARKS.size / 2) { MARKS[2 * it] }
    private val placeholderClass: Map<Int, Int> = PLACEHOLDER.entries.associate { (k, v) -> v to k }
    private const val LOWEST = 0x898

    /** Cheap pre-test: the patched code points lie in U+0898..U+1DFA, U+A7F2..U+A7F4 and above U+10780. */
    private fun mayDiffer(cp: Int): Boolean = cp in LOWEST..0x1DFA || cp in 0xA7F2..0xA7F4 || cp > 0x10780

    private fun compat(cp: Int): Int = compatKeys.binarySearch(cp).let { if (it >= 0) COMPAT[2 * it + 1] else -1 }
    private fun markClass(cp: Int): Int = markKeys.binarySearch(cp).let { if (it >= 0) MARKS[2 * it + 1] else 0 }

    private val bmpCache = arrayOfNulls<String>(DictionaryFormat.BMP)

    /** NFKC of the single code point [cp] (memoised for the BMP; a racy cache of immutable strings is safe). */
    fun normalizeChar(cp: Int): String {
        if (cp >= DictionaryFormat.BMP) return normalize(String(Character.toChars(cp)))
        bmpCache[cp]?.let { return it }
        val r = normalize(cp.toChar().toString())
        bmpCache[cp] = r
        return r
    }

    /** NFKC of [s], Unicode 14 as Python 3.11 (lone surrogates pass through unchanged). */
    fun normalize(s: String): String {
        var special = false
        var i = 0
        while (i < s.length) {
            val cp = s.codePointAt(i)
            if (mayDiffer(cp) && (compat(cp) >= 0 || markClass(cp) != 0)) { special = true; break }
            i += Character.charCount(cp)
        }
        if (!special) return Normalizer.normalize(s, Normalizer.Form.NFKC)
        // swap: Unicode 14 decompositions in, new marks (and existing placeholders) to placeholders
        val queues = HashMap<Int, ArrayDeque<Int>>()
        val sb = StringBuilder(s.length)
        i = 0
        while (i < s.length) {
            val cp = s.codePointAt(i)
            i += Character.charCount(cp)
            val c = compat(cp)
            val k = if (cp >= LOWEST) markClass(cp) else 0
            val ph = placeholderClass[cp]
            when {
                c >= 0 -> sb.appendCodePoint(c)
                k != 0 -> { queues.getOrPut(k) { ArrayDeque() }.addLast(cp); sb.appendCodePoint(PLACEHOLDER.getValue(k)) }
                ph != null -> { queues.getOrPut(ph) { ArrayDeque() }.addLast(cp); sb.appendCodePoint(cp) }
                else -> sb.appendCodePoint(cp)
            }
        }
        val norm = Normalizer.normalize(sb, Normalizer.Form.NFKC)
        val out = StringBuilder(norm.length)
        i = 0
        while (i < norm.length) {
            val cp = norm.codePointAt(i)
            i += Character.charCount(cp)
            val ph = placeholderClass[cp]
            out.appendCodePoint(if (ph != null) queues[ph]?.removeFirstOrNull() ?: cp else cp)
        }
        return out.toString()
    }

    /**
     * Whether [cp] may join the text before it under NFKC: its NFKD starts with a non-starter
     * (canonical combining class != 0) or a Hangul medial vowel / final consonant -- the test of
     * `normalize.py`'s `_char`. Java has no public combining-class API; U+0345 (class 240, the
     * highest but one and held by no other mark) reveals it: NFD moves a mark of class 1..239
     * before it, and leaves a starter after it.
     */
    fun joinsPrevious(cp: Int): Boolean {
        if (cp < 0x300) return false             // Latin-1 and spacing letters: NFKD starts with a starter
        if (cp < DictionaryFormat.BMP) {
            val known = joinsBmp[cp].toInt()     // racy cache: every writer writes the same value
            if (known != 0) return known == 2
            val r = computeJoins(cp)
            joinsBmp[cp] = if (r) 2 else 1
            return r
        }
        return computeJoins(cp)
    }

    private val joinsBmp = ByteArray(DictionaryFormat.BMP)    // 0 unknown, 1 no, 2 yes

    private fun computeJoins(cp: Int): Boolean {
        val d = Normalizer.normalize(String(Character.toChars(cp)), Normalizer.Form.NFKD)
        if (d.isEmpty()) return false
        val first = d.codePointAt(0)
        if (first in 0x1161..0x1175 || first in 0x11A8..0x11C2) return true
        if (first == 0x345 || markClass(first) != 0) return true
        if (first < 0x300) return false
        val probe = Normalizer.normalize("\u0345" + String(Character.toChars(first)), Normalizer.Form.NFD)
        return probe.codePointAt(0) != 0x345
    }
}
