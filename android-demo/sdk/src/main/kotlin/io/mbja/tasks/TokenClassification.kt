package io.mbja.tasks

import io.mbja.BundleException
import io.mbja.MbjaException
import io.mbja.engine.ModelOutput
import io.mbja.tokenizer.Span
import kotlin.math.exp

/**
 * NER decoding: a port of `decode_entities` (runtime_py/mbja_runtime/pipelines/token_classification.py)
 * and `split_tag` / `decode_iob2` (runtime_py/mbja_runtime/iob.py). Pure functions of the logits and the
 * encoding, so the shared vectors test them without a model. Probabilities are computed in
 * double precision, as NumPy does there.
 */
internal object TokenClassification {
    /** Softmax of row [row] of [out], in double precision. */
    fun softmaxRow(out: ModelOutput, row: Int): DoubleArray = softmax(out.data, row * out.cols, out.cols)

    fun entities(
        logits: ModelOutput,
        tokens: List<String>,
        offsets: List<Span?>,
        text: String,
        labels: List<String>,
        aggregation: Aggregation,
        ignoreLabels: Set<String> = setOf("O"),
    ): List<Entity> {
        require(aggregation != Aggregation.NONE) { "Aggregation.NONE gives token tags, not entities" }
        checkShape(logits, offsets.size, labels.size)
        val probs = Array(logits.rows) { softmaxRow(logits, it) }
        val units: List<IntArray>
        val unitLabels: IntArray
        val unitScores: DoubleArray
        if (aggregation == Aggregation.SIMPLE) {
            units = offsets.indices.filter { offsets[it] != null }.map { intArrayOf(it) }
            unitLabels = IntArray(units.size) { argmax(probs[units[it][0]]) }
            unitScores = DoubleArray(units.size) { probs[units[it][0]][unitLabels[it]] }
        } else {
            units = words(tokens, offsets)
            unitLabels = IntArray(units.size)
            unitScores = DoubleArray(units.size)
            for ((k, u) in units.withIndex()) {
                val p = when (aggregation) {
                    Aggregation.FIRST -> probs[u[0]]
                    Aggregation.AVERAGE -> DoubleArray(logits.cols) { c -> u.sumOf { probs[it][c] } / u.size }
                    else -> probs[u[argmax(DoubleArray(u.size) { probs[u[it]].max() })]]
                }
                unitLabels[k] = argmax(p)
                unitScores[k] = p[unitLabels[k]]
            }
        }
        val tags = unitLabels.map { labels[it] }
        val spans = units.map { u -> Span(offsets[u[0]]!!.start, offsets[u[u.size - 1]]!!.end) }
        return decodeIob2(tags, spans, ignoreLabels).map { e ->
            var sum = 0.0
            for (k in e.first..e.last) sum += unitScores[k]
            Entity(e.type, text.substring(e.start, e.end), e.start, e.end, sum / (e.last - e.first + 1))
        }
    }

    /** [Aggregation.NONE]: one tag per text token whose best label is not ignored. */
    fun tags(
        logits: ModelOutput,
        tokens: List<String>,
        offsets: List<Span?>,
        labels: List<String>,
        ignoreLabels: Set<String> = setOf("O"),
    ): List<TokenTag> {
        checkShape(logits, offsets.size, labels.size)
        val out = ArrayList<TokenTag>()
        for ((i, span) in offsets.withIndex()) {
            val p = softmaxRow(logits, i)
            val best = argmax(p)
            val label = labels[best]
            if (span == null || label in ignoreLabels) continue
            out.add(TokenTag(label, p[best], i, tokens[i], span.start, span.end))
        }
        return out
    }

    /** A model scoring fewer labels than labels.json names is fine (as in Python); more is an unusable bundle. */
    private fun checkShape(logits: ModelOutput, tokens: Int, labels: Int) {
        if (logits.pooled || logits.rows != tokens) {
            throw MbjaException("logits cover ${logits.rows} tokens, the encoding has $tokens")
        }
        if (logits.cols > labels) throw BundleException("the model scores ${logits.cols} labels, labels.json names $labels")
    }

    /** Token indices of each word (a token and its `##` continuations); special tokens excluded. */
    fun words(tokens: List<String>, offsets: List<Span?>): List<IntArray> {
        val words = ArrayList<MutableList<Int>>()
        for (i in tokens.indices) {
            if (offsets[i] == null) continue
            if (tokens[i].startsWith("##") && words.isNotEmpty() && words.last().last() == i - 1) {
                words.last().add(i)
            } else {
                words.add(mutableListOf(i))
            }
        }
        return words.map { it.toIntArray() }
    }

    /** An IOB2 entity over units [first]..[last] (inclusive). */
    class Raw(val type: String, val start: Int, var end: Int, val first: Int, var last: Int)

    /**
     * ("B"|"I", type): `B-X` and `I-X` as written; any other label counts as `I-label`
     * (`split_tag` in iob.py, transformers' `get_tag`), so runs of an unprefixed label group.
     */
    fun splitTag(tag: String): Pair<String, String> = when {
        tag.startsWith("B-") -> "B" to tag.substring(2)
        tag.startsWith("I-") -> "I" to tag.substring(2)
        else -> "I" to tag
    }

    /**
     * Groups tags into entities, `decode_iob2` in iob.py (transformers' `group_entities` rule): a
     * unit continues the open entity when its type is the entity's and it is not a `B-`; otherwise
     * it starts a new one. A null span closes any open entity. Entities whose type is in [ignore]
     * are dropped afterwards (so an `O` still closes the entity before it).
     */
    fun decodeIob2(tags: List<String>, spans: List<Span?>, ignore: Set<String> = setOf("O")): List<Raw> {
        val out = ArrayList<Raw>()
        var current: Raw? = null
        for (i in tags.indices) {
            val span = spans[i]
            if (span == null) { current = null; continue }
            val (bi, type) = splitTag(tags[i])
            val cur = current
            if (cur != null && bi == "I" && cur.type == type) {
                cur.end = maxOf(cur.end, span.end)
                cur.last = i
                continue
            }
            current = Raw(type, span.start, span.end, i, i).also { out.add(it) }
        }
        return out.filter { it.type !in ignore }
    }
}

/** Softmax of [n] values of [x] from [from], in double precision (NumPy's max-shifted form). */
internal fun softmax(x: FloatArray, from: Int = 0, n: Int = x.size): DoubleArray {
    var max = Double.NEGATIVE_INFINITY
    for (j in 0 until n) max = maxOf(max, x[from + j].toDouble())
    val e = DoubleArray(n) { exp(x[from + it].toDouble() - max) }
    val sum = e.sum()
    for (j in 0 until n) e[j] /= sum
    return e
}

/** Index of the first maximum (NumPy's argmax). */
internal fun argmax(x: DoubleArray): Int {
    var best = 0
    for (i in 1 until x.size) if (x[i] > x[best]) best = i
    return best
}
