package io.mbja.tokenizer

import java.nio.file.Path

/**
 * The device tokenizer: transformers' `BertJapaneseTokenizer` (MeCab + unidic-lite, then
 * WordPiece) reproduced id for id over a bundle's compiled dictionary, with offsets into the
 * original text -- the Kotlin twin of the Python runtime's `mbja_runtime.tokenize.Tokenizer`,
 * which the JVM tests hold it to (same ids, tokens and spans on every ner.json sentence and an
 * adversarial set).
 *
 * Pipeline: cut the text at special tokens (`[CLS] [SEP] [MASK] [UNK] [PAD]`, kept whole), NFKC
 * each other piece ([Nfkc]), segment it like MeCab ([Segmenter]), WordPiece each surface, then
 * `[CLS] a [SEP] (b [SEP])` with transformers' truncation and padding.
 *
 * Immutable and thread-safe; the dictionary stays memory-mapped. Offsets are UTF-16 indices
 * ([Span]); the Python runtime reports code points.
 */
public class Tokenizer private constructor(
    private val dictionary: Dictionary,
    settings: TokenizerSettings,
    rawVocab: Map<String, Int>,
    file: Path,
) : AutoCloseable {
    private val vocabMap: Map<String, Int>
    private val idsToTokens: Map<Int, String>
    private val unkToken: String = settings.string("unk_token", file)
    private val clsToken: String = settings.string("cls_token", file)
    private val sepToken: String = settings.string("sep_token", file)
    private val padToken: String = settings.string("pad_token", file)
    private val specialTokens: List<String>
    private val clsId: Int
    private val sepId: Int
    private val padId: Int
    private val modelMaxLength: Int?
    private val segmenter = Segmenter(dictionary)
    private val wordPiece: WordPiece
    @Volatile private var closed = false

    init {
        val v = LinkedHashMap(rawVocab)
        val inv = HashMap<Int, String>()
        for ((t, i) in v) inv[i] = t
        // transformers' order; special tokens missing from the vocabulary get ids at the end
        specialTokens = listOf("unk_token", "sep_token", "pad_token", "cls_token", "mask_token").map { settings.string(it, file) }
        for (tok in specialTokens) if (tok !in v) { val id = inv.size; v[tok] = id; inv[id] = tok }
        vocabMap = java.util.Collections.unmodifiableMap(v)
        idsToTokens = inv
        clsId = v.getValue(clsToken); sepId = v.getValue(sepToken); padId = v.getValue(padToken)
        modelMaxLength = settings.int("model_max_length", file)?.let { if (it >= 1_000_000_000_000L) null else minOf(it, Int.MAX_VALUE.toLong()).toInt() }
        val maxChars = settings.int("max_input_chars_per_word", file) ?: 100L
        wordPiece = WordPiece(v, unkToken, minOf(maxChars, Int.MAX_VALUE.toLong()).toInt())
    }

    /** The bundle's `model_max_length` (tokens, `[CLS]`/`[SEP]` included); `Int.MAX_VALUE` when it sets none. */
    public val maxLength: Int get() = modelMaxLength ?: Int.MAX_VALUE

    /** token -> id, including special tokens the vocabulary lacked (appended as transformers does). */
    public val vocab: Map<String, Int> get() = vocabMap

    /** The token of [id]; the unknown token for an id outside the vocabulary (as transformers). */
    public fun idToToken(id: Int): String = idsToTokens[id] ?: unkToken

    /**
     * `[CLS] text [SEP]`, or `[CLS] text [SEP] pair [SEP]` (token type 1 for the pair's part).
     *
     * @param maxLength the truncation / padding limit; `null` = the bundle's [maxLength]. 0 turns
     *   truncation off, as in transformers.
     * @param truncation remove tokens from the end when longer than the limit (`longest_first`:
     *   from the longer of text and pair first, transformers 5.x's split); `false` never truncates.
     * @param padding pad with `[PAD]` (mask 0, type 0, offset null) up to the limit.
     * @throws TokenizerException for text the reference tokenizer cannot process: a lone surrogate,
     *   or a run of 65,535+ bytes of whitespace that makes MeCab cut a character in half.
     */
    @JvmOverloads
    public fun encode(text: String, pair: String? = null, maxLength: Int? = null, truncation: Boolean = true,
                      padding: Boolean = false): Encoding {
        check(!closed) { "tokenizer is closed" }
        require(maxLength == null || maxLength >= 0) { "maxLength must be >= 0, not $maxLength" }
        checkSurrogates(text)
        if (pair != null) checkSurrogates(pair)
        var a = pieces(text)
        var b = pair?.let { pieces(it) }
        val limit = maxLength ?: modelMaxLength
        val special = if (b == null) 2 else 3
        val total = a.size + (b?.size ?: 0) + special
        if (truncation && limit != null && limit != 0 && total > limit) {
            val k = total - limit
            if (b == null) {
                a = a.dropLast(k)
            } else {                                    // transformers 5.x `longest_first`
                val first = minOf(Math.abs(b.size - a.size), k)
                val second = k - first
                val ka: Int; val kb: Int
                if (a.size > b.size) { ka = first + second / 2; kb = second - second / 2 } else { ka = second / 2; kb = first + second - second / 2 }
                if (ka > 0) a = a.dropLast(ka)
                if (kb > 0) b = b.dropLast(kb)
            }
        }
        val n = a.size + (b?.size ?: 0) + special
        val pad = if (padding && limit != null && limit > n) limit - n else 0
        val ids = IntArray(n + pad) { padId }
        val mask = IntArray(n + pad)
        val types = IntArray(n + pad)
        val tokens = ArrayList<String>(n + pad)
        val offsets = ArrayList<Span?>(n + pad)
        var k = 0
        fun put(id: Int, tok: String, span: Span?, type: Int) {
            ids[k] = id; mask[k] = 1; types[k] = type; tokens.add(tok); offsets.add(span); k++
        }
        put(clsId, clsToken, null, 0)
        for (p in a) put(p.id, p.token, Span(p.start, p.end), 0)
        put(sepId, sepToken, null, 0)
        if (b != null) {
            for (p in b) put(p.id, p.token, Span(p.start, p.end), 1)
            put(sepId, sepToken, null, 1)
        }
        repeat(pad) { tokens.add(padToken); offsets.add(null) }
        return Encoding(ids, mask, types, tokens, offsets)
    }

    private class Piece(val token: String, val id: Int, val start: Int, val end: Int)

    /** Tokens of one text with UTF-16 spans in it (transformers' `tokenize` plus offsets). */
    private fun pieces(text: String): List<Piece> {
        val out = ArrayList<Piece>()
        var pos = 0
        // each special token's next occurrence, searched again only once passed: one pass over the
        // text per token (a search from every position made "東京[SEP]" x 64,000 take 38 s)
        val next = IntArray(specialTokens.size) { -2 }
        while (pos < text.length) {
            val (at, tok) = nextSpecial(text, pos, next)
            if (at > pos) plain(text.substring(pos, at), pos, out)
            if (tok == null) break
            out.add(Piece(tok, vocabMap.getValue(tok), at, at + tok.length))
            pos = at + tok.length
        }
        return out
    }

    /** Leftmost special token at or after [from], the longest one at that position. */
    private fun nextSpecial(text: String, from: Int, next: IntArray): Pair<Int, String?> {
        var best = text.length
        var bestTok: String? = null
        for ((k, t) in specialTokens.withIndex()) {
            if (t.isEmpty()) continue
            if (next[k] != -1 && next[k] < from) next[k] = text.indexOf(t, from) // -1: none left, never again
            val i = next[k]
            if (i >= 0 && (i < best || (i == best && t.length > bestTok!!.length))) { best = i; bestTok = t }
        }
        return best to bestTok
    }

    private fun plain(piece: String, off: Int, out: MutableList<Piece>) {
        val norm = NfkcOffsets.of(piece)
        val t = norm.text
        val z = t.indexOf('\u0000')                      // MeCab reads a C string: stop at NUL
        val s = if (z >= 0) t.substring(0, z) else t
        val cps = s.codePoints().toArray()
        val spans = segmenter.spans(cps, cps.size)
        val starts = norm.starts
        val ends = norm.ends
        var i = 0
        while (i < spans.size) {
            val a = spans[i]
            wordPiece.surface(cps, a, spans[i + 1]) { tok, id, x, y ->
                out.add(Piece(tok, id, off + starts[a + x], off + ends[a + y - 1]))
            }
            i += 2
        }
    }

    private fun checkSurrogates(s: String) {
        var i = 0
        while (i < s.length) {
            val c = s[i]
            if (Character.isHighSurrogate(c) && i + 1 < s.length && Character.isLowSurrogate(s[i + 1])) { i += 2; continue }
            if (Character.isSurrogate(c)) {
                throw TokenizerException("text contains a lone surrogate at index $i (U+%04X); it is not valid Unicode and MeCab cannot read it".format(c.code))
            }
            i++
        }
    }

    /**
     * Marks the tokenizer closed. The mapped dictionary is released when the tokenizer becomes
     * unreachable: the JDK offers no safe explicit unmap, and an unmap while another thread still
     * reads would crash the process.
     */
    override fun close() { closed = true }

    public companion object {
        /**
         * Load `tokenizer.json`, `vocab.txt` and `dictionary/` of a bundle directory. The manifest
         * is not read here: the caller checks it (sha256 of every file) first. With
         * [verifyChecksums] the dictionary files' own CRC-32s are checked too (~0.1 s).
         * @throws TokenizerException naming the missing or corrupt file.
         */
        @JvmStatic
        @JvmOverloads
        public fun fromBundle(bundleDir: Path, verifyChecksums: Boolean = false): Tokenizer {
            if (!java.nio.file.Files.isDirectory(bundleDir)) throw TokenizerException("bundle directory not found: $bundleDir")
            return fromFiles(bundleDir.resolve("tokenizer.json"), bundleDir.resolve("vocab.txt"), bundleDir.resolve("dictionary"), verifyChecksums)
        }

        /** [fromBundle] with the files a manifest names (`tokenizer`, `vocab`, `dictionary`). */
        internal fun fromFiles(settingsFile: Path, vocabFile: Path, dictionaryDir: Path, verifyChecksums: Boolean = false): Tokenizer {
            val settings = TokenizerSettings.read(settingsFile)
            val vocab = TokenizerSettings.readVocab(vocabFile)
            val dictionary = Dictionary.open(dictionaryDir, verifyChecksums)
            return Tokenizer(dictionary, settings, vocab, settingsFile)
        }
    }
}
