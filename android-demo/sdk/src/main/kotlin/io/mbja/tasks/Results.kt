package io.mbja.tasks

/**
 * A named entity. [start]/[end] are UTF-16 indices into the ORIGINAL text passed to
 * [io.mbja.MobileBertJa.ner] (`text.substring(start, end) == this.text`), ready for Android
 * spans. [score] is the mean of the entity's token (or word) probabilities.
 *
 * The Python runtime returns the same entities as dicts `{"type", "text", "start", "end",
 * "score"}` with code-point offsets; the two agree except after astral characters (emoji).
 */
public data class Entity(
    public val type: String,
    public val text: String,
    public val start: Int,
    public val end: Int,
    public val score: Double,
)

/**
 * One token's best label, for [Aggregation.NONE] (Python: `{"entity", "score", "index", "word",
 * "start", "end"}`). [index] is the token's position in the encoding ([CLS] = 0).
 */
public data class TokenTag(
    public val label: String,
    public val score: Double,
    public val index: Int,
    public val token: String,
    public val start: Int,
    public val end: Int,
)

/** A sequence-classification label with its probability (softmax, or sigmoid for multi-label models). */
public data class ScoredLabel(public val label: String, public val score: Double)

/**
 * One candidate for a `[MASK]`: the vocabulary [tokenId] and [token] (`##` kept, as in the
 * vocabulary), its probability, and the ORIGINAL text with this `[MASK]` replaced by the token
 * without `##` (other masks left in place).
 */
public data class MaskFill(
    public val tokenId: Int,
    public val token: String,
    public val score: Double,
    public val sequence: String,
)

/**
 * How token predictions become entities (Python: `aggregation=`; transformers' definitions).
 * A "word" is a token plus its `##` continuations. Grouping is transformers': `B-X` starts an
 * entity, `I-X` continues an `X` entity (or starts one), a label without prefix counts as
 * `I-label`; entities of type `O` are dropped.
 */
public enum class Aggregation(public val id: String) {
    /** Per token, no grouping: use [io.mbja.MobileBertJa.tagTokens]. */
    NONE("none"),

    /** Each token takes its best label, then IOB2 grouping; the default. */
    SIMPLE("simple"),

    /** A word takes the label of its first token. */
    FIRST("first"),

    /** A word takes the label of its tokens' mean probabilities. */
    AVERAGE("average"),

    /** A word takes the label of its most confident token. */
    MAX("max"),
}

/** How [io.mbja.MobileBertJa.embed] turns token vectors into one vector. */
public enum class Pooling(public val id: String) {
    /** The [CLS] token's hidden state. */
    CLS("cls"),

    /** Mean over every real token, [CLS] and [SEP] included (sentence-transformers' rule). */
    MEAN("mean"),
}
