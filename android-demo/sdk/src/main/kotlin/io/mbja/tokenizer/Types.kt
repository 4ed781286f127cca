package io.mbja.tokenizer

/**
 * A token's span in the text it came from: UTF-16 `Char` indices into the ORIGINAL Kotlin
 * `String` passed to [Tokenizer.encode] (the pair's own string for tokens of the second
 * segment), `start` inclusive, `end` exclusive -- directly usable with `substring` and Android
 * `Spannable`s.
 *
 * The Python runtime reports the same spans in Unicode code points (Python string indices);
 * the two agree after converting indices (they differ only after astral characters such as
 * emoji, which take two `Char`s here). Spans of tokens made from NFKC-expanded text (`㍻` ->
 * `平成`) cover the whole original character; neighbouring tokens may then share a span.
 */
public data class Span(val start: Int, val end: Int)

/**
 * One encoded text or text pair: `[CLS] text [SEP] (pair [SEP])`, truncated and padded as asked.
 *
 * All lists have the same length. [offsets] is `null` for the tokens the tokenizer adds itself
 * (`[CLS]`, `[SEP]`, `[PAD]`); special tokens written in the text (`"東京[MASK]都"`) keep their
 * span. [tokenTypeIds] is 1 for the pair's tokens (and its `[SEP]`), else 0.
 */
public class Encoding(
    public val inputIds: IntArray,
    public val attentionMask: IntArray,
    public val tokenTypeIds: IntArray,
    public val tokens: List<String>,
    public val offsets: List<Span?>,
) {
    /** Number of tokens, padding included. */
    public val size: Int get() = inputIds.size

    override fun toString(): String = "Encoding(tokens=$tokens, offsets=$offsets)"
}

/**
 * A dictionary, vocabulary or settings file that is missing, corrupt or inconsistent (the
 * message names the file), or a text the reference tokenizer cannot process either (a lone
 * surrogate; a character MeCab's 65,535-byte look-ahead would cut in half).
 *
 * It is an [io.mbja.MbjaException] (an [java.io.IOException]), like every error the SDK raises on
 * purpose: it nearly always means a damaged or mismatched bundle on disk, which callers already
 * handle as I/O failure, and an app catches the one root type.
 */
public open class TokenizerException(message: String) : io.mbja.MbjaException(message)
