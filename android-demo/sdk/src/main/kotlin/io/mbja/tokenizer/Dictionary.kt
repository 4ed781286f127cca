package io.mbja.tokenizer

import java.nio.ByteBuffer
import java.nio.IntBuffer
import java.nio.ShortBuffer
import java.nio.file.Files
import java.nio.file.Path

/**
 * The four files of a compiled dictionary (docs/dictionary-format.md), memory-mapped and
 * cross-checked once at load, as `dictionary.py` does: every trie slot, entry, context class,
 * character class and unknown-word range a lookup can reach is proven in range here, so the
 * segmenter's loops index without checks and a corrupt file is refused (naming it) instead of
 * crashing or mis-segmenting later. The small per-class tables are copied to the heap; the big
 * arrays (trie, lexicon, matrix) stay mapped.
 */
internal class Dictionary private constructor(dir: Path, verifyCrc: Boolean) {
    private val files: Map<String, DictionaryFile> =
        DictionaryFormat.FILES.mapValues { (kind, name) -> DictionaryFile.open(dir.resolve(name), kind, verifyCrc) }

    // trie.bin
    val base: IntBuffer
    val check: IntBuffer
    val alphabet: Int
    private val codeBmp: ShortBuffer
    private val astralCp: IntArray
    private val astralCode: IntArray

    // lexicon.bin: entries 0 until nLexicon; unknown-word entries follow them (index nLexicon + i)
    val nLexicon: Int
    private val lexLeft: ShortBuffer
    private val lexRight: ShortBuffer
    private val lexCost: ShortBuffer

    val connector: Connector

    // chars.bin
    private val classOfBmp: ByteBuffer
    val classMask: IntArray
    val classCategory: IntArray
    val classLength: IntArray
    val classGroup: BooleanArray
    val classInvoke: BooleanArray
    val unknownOffsets: IntArray
    private val unkLeft: IntArray
    private val unkRight: IntArray
    private val unkCost: IntArray
    val maxGroupingSize: Int
    val maxLookupBytes: Int
    val bosRight: Int
    val eosLeft: Int

    init {
        val trie = files.getValue("TRIE")
        base = trie.ints("base"); check = trie.ints("check")
        alphabet = trie.param("alphabet")
        codeBmp = trie.shorts("code_bmp")
        val cps = trie.ints("astral_cp"); val codes = trie.shorts("astral_code")
        astralCp = IntArray(cps.limit()) { cps.get(it) }
        astralCode = IntArray(codes.limit()) { codes.get(it).toInt() and 0xFFFF }
        val lex = files.getValue("LEXI")
        nLexicon = lex.param("n_entries")
        lexLeft = lex.shorts("left"); lexRight = lex.shorts("right"); lexCost = lex.shorts("cost")
        connector = Connector(files.getValue("CONN"))
        val ch = files.getValue("CHAR")
        classOfBmp = ch.bytes("class_of_bmp")
        val k = ch.param("n_classes")
        classMask = ch.ints("class_mask").let { b -> IntArray(k) { b.get(it) } }
        classCategory = u8(ch.bytes("class_category"), k)
        classLength = u8(ch.bytes("class_length"), k)
        classGroup = u8(ch.bytes("class_group"), k).let { a -> BooleanArray(k) { a[it] != 0 } }
        classInvoke = u8(ch.bytes("class_invoke"), k).let { a -> BooleanArray(k) { a[it] != 0 } }
        val nCat = ch.param("n_categories")
        unknownOffsets = ch.ints("unknown_offsets").let { b -> IntArray(nCat + 1) { b.get(it) } }
        val u = ch.param("n_unknown")
        unkLeft = ch.shorts("unk_left").let { b -> IntArray(u) { b.get(it).toInt() and 0xFFFF } }
        unkRight = ch.shorts("unk_right").let { b -> IntArray(u) { b.get(it).toInt() and 0xFFFF } }
        unkCost = ch.shorts("unk_cost").let { b -> IntArray(u) { b.get(it).toInt() } }
        maxGroupingSize = ch.param("max_grouping_size")
        maxLookupBytes = ch.param("max_lookup_bytes")
        bosRight = ch.param("bos_right")
        eosLeft = ch.param("eos_left")
        validate(nCat, u)
    }

    /** Trie code of code point [cp] (0: in no surface). Astral code points: binary search. */
    fun code(cp: Int): Int {
        if (cp < DictionaryFormat.BMP) return codeBmp.get(cp).toInt() and 0xFFFF
        val i = astralCp.binarySearch(cp)
        return if (i >= 0) astralCode[i] else 0
    }

    /** Character class of [cp]; above U+FFFF MeCab reads U+0000, so such characters get its class. */
    fun charClass(cp: Int): Int = classOfBmp.get(if (cp < DictionaryFormat.BMP) cp else 0).toInt() and 0xFF

    /** Left class (matrix row) of entry [e]: lexicon entries first, then unknown-word entries. */
    fun left(e: Int): Int = if (e < nLexicon) lexLeft.get(e).toInt() and 0xFFFF else unkLeft[e - nLexicon]
    fun right(e: Int): Int = if (e < nLexicon) lexRight.get(e).toInt() and 0xFFFF else unkRight[e - nLexicon]
    fun cost(e: Int): Int = if (e < nLexicon) lexCost.get(e).toInt() else unkCost[e - nLexicon]

    private fun fail(kind: String, what: String): Nothing = throw files.getValue(kind).corrupt(what)

    private fun validate(nCat: Int, nUnknown: Int) {
        val n = base.limit()
        if (n < 1 || check.limit() != n) fail("TRIE", "empty double array")
        if (alphabet !in 1..0xFFFF) fail("TRIE", "character codes outside the alphabet")
        for (i in 0 until DictionaryFormat.BMP) if ((codeBmp.get(i).toInt() and 0xFFFF) > alphabet) {
            fail("TRIE", "character codes outside the alphabet")
        }
        if (astralCode.any { it !in 1..alphabet }) fail("TRIE", "character codes outside the alphabet")
        for (i in 1 until astralCp.size) if (astralCp[i] <= astralCp[i - 1]) fail("TRIE", "astral code points not ascending")
        // bulk reads in blocks: a cold JVM interprets per-element buffer calls slowly
        val bBlock = IntArray(BLOCK)
        val cBlock = IntArray(BLOCK)
        for (from in 0 until n step BLOCK) {
            val m = minOf(BLOCK, n - from)
            base.at(from).get(bBlock, 0, m)
            check.at(from).get(cBlock, 0, m)
            for (i in 0 until m) {
                val c = cBlock[i]
                if (c < -1 || c >= n) fail("TRIE", "check values out of range")
                val b = bBlock[i]
                if (b >= 0) {
                    if (b.toLong() + alphabet >= n) fail("TRIE", "a base points past the end of the array")
                } else {
                    val v = -(b.toLong()) - 1
                    if ((v shr 8) + (v and 0xFF) > nLexicon) fail("TRIE", "a key points past the end of the lexicon")
                }
            }
        }
        val c = connector
        val lBlock = ShortArray(BLOCK)
        val rBlock = ShortArray(BLOCK)
        for (from in 0 until nLexicon step BLOCK) {
            val m = minOf(BLOCK, nLexicon - from)
            lexLeft.at(from).get(lBlock, 0, m)
            lexRight.at(from).get(rBlock, 0, m)
            for (i in 0 until m) {
                if ((lBlock[i].toInt() and 0xFFFF) >= c.nLeft || (rBlock[i].toInt() and 0xFFFF) >= c.nRight) {
                    fail("LEXI", "context classes outside the ${c.nLeft}x${c.nRight} matrix")
                }
            }
        }
        if (unkLeft.any { it >= c.nLeft } || unkRight.any { it >= c.nRight }) {
            fail("CHAR", "context classes outside the ${c.nLeft}x${c.nRight} matrix")
        }
        val k = classMask.size
        if (k < 1) fail("CHAR", "character class index out of range")
        for (i in 0 until DictionaryFormat.BMP) if ((classOfBmp.get(i).toInt() and 0xFF) >= k) {
            fail("CHAR", "character class index out of range")
        }
        val off = unknownOffsets
        if (classCategory.any { it >= nCat } || off[0] != 0 || off[nCat] != nUnknown ||
            (0 until nCat).any { off[it + 1] < off[it] }
        ) fail("CHAR", "categories or unknown-word ranges out of range")
        if (bosRight !in 0 until c.nRight || eosLeft !in 0 until c.nLeft || maxLookupBytes < 1) {
            fail("CHAR", "BOS/EOS context or look-ahead setting out of range")
        }
    }

    companion object {
        /** Map and validate `dir` (a bundle's `dictionary/`); CRCs are checked when [verifyCrc]. */
        fun open(dir: Path, verifyCrc: Boolean): Dictionary {
            if (!Files.isDirectory(dir)) throw TokenizerException("dictionary directory not found: $dir")
            return Dictionary(dir, verifyCrc)
        }

        private const val BLOCK = 65536

        // Buffer.position via the base class: the covariant overrides (JDK 9+) are missing on older Android
        private fun IntBuffer.at(i: Int): IntBuffer = duplicate().also { (it as java.nio.Buffer).position(i) }
        private fun ShortBuffer.at(i: Int): ShortBuffer = duplicate().also { (it as java.nio.Buffer).position(i) }

        private fun u8(b: ByteBuffer, n: Int): IntArray = IntArray(n) { b.get(it).toInt() and 0xFF }
    }
}
