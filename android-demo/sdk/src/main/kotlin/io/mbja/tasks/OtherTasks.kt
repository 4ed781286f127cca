package io.mbja.tasks

import io.mbja.MbjaException
import io.mbja.engine.ModelOutput
import io.mbja.tokenizer.Span
import kotlin.math.exp
import kotlin.math.sqrt

/**
 * Sequence classification: a port of `score_function` and `decode_labels`
 * (runtime_py/mbja_runtime/pipelines/text_classification.py).
 */
internal object TextClassification {
    /** "sigmoid" for multi-label or single-output checkpoints (transformers' rule), else "softmax". */
    fun scoreFunction(config: Map<*, *>): String {
        if (config["problem_type"] == "multi_label_classification" || (config["num_labels"] as? Number)?.toDouble() == 1.0) return "sigmoid" // 1 or 1.0, as JSON numbers compare
        if ((config["id2label"] as? Map<*, *>)?.size == 1) return "sigmoid"
        return "softmax"
    }

    /** Labels best first (stable order on ties); [topK] null = every label. */
    fun labels(logits: FloatArray, id2label: List<String>?, topK: Int?, function: String): List<ScoredLabel> {
        val scores = when (function) {
            "softmax" -> softmax(logits)
            "sigmoid" -> DoubleArray(logits.size) { 1.0 / (1.0 + exp(-logits[it].toDouble())) }
            else -> throw MbjaException("unknown score function '$function' (softmax or sigmoid)")
        }
        val k = topK ?: scores.size
        require(k >= 1) { "topK must be positive or null, not $topK" }
        return scores.indices.sortedWith { a, b -> scores[b].compareTo(scores[a]) } // stable
            .take(k)
            .map { ScoredLabel(id2label?.getOrNull(it) ?: "LABEL_$it", scores[it]) }
    }
}

/** Fill-mask: a port of `decode_masks` (runtime_py/mbja_runtime/pipelines/fill_mask.py). */
internal object FillMask {
    /** Per `[MASK]` of the encoding (vocabulary logits, one row per token): the top [topK] candidates. */
    fun masks(
        logits: ModelOutput,
        inputIds: IntArray,
        offsets: List<Span?>,
        text: String,
        maskId: Int,
        idToToken: (Int) -> String,
        topK: Int,
    ): List<List<MaskFill>> {
        require(topK >= 1) { "topK must be positive, not $topK" }
        val out = ArrayList<List<MaskFill>>()
        for ((i, id) in inputIds.withIndex()) {
            val span = offsets[i]
            if (id != maskId || span == null) continue
            val probs = softmax(logits.data, i * logits.cols, logits.cols)
            out.add(topIndices(probs, topK).map { j ->
                val token = idToToken(j)
                MaskFill(j, token, probs[j], text.substring(0, span.start) + token.removePrefix("##") + text.substring(span.end))
            })
        }
        return out
    }

    /** Indices of the [k] largest values, best first, lower index first on ties (NumPy's stable argsort). */
    private fun topIndices(p: DoubleArray, k: Int): List<Int> {
        val n = minOf(k, p.size)
        val heap = java.util.PriorityQueue<Int>(n + 1) { a, b -> if (p[a] != p[b]) p[a].compareTo(p[b]) else b.compareTo(a) }
        for (i in p.indices) {
            heap.add(i)
            if (heap.size > n) heap.poll()
        }
        return heap.toList().sortedWith { a, b -> if (p[a] != p[b]) p[b].compareTo(p[a]) else a.compareTo(b) }
    }
}

/** Feature extraction: a port of `pool` (runtime_py/mbja_runtime/pipelines/feature_extraction.py). */
internal object FeatureExtraction {
    /** (seq, hidden) -> (hidden,): [CLS] row or mean of all rows, optionally L2-normalised; computed in double. */
    fun pool(hidden: ModelOutput, pooling: Pooling, normalize: Boolean): FloatArray {
        if (hidden.pooled || hidden.rows == 0) throw MbjaException("hidden states must be (seq, hidden), not $hidden")
        val d = hidden.cols
        val v = DoubleArray(d)
        when (pooling) {
            Pooling.CLS -> for (j in 0 until d) v[j] = hidden[0, j].toDouble()
            Pooling.MEAN -> {
                for (r in 0 until hidden.rows) for (j in 0 until d) v[j] += hidden[r, j].toDouble()
                for (j in 0 until d) v[j] /= hidden.rows.toDouble()
            }
        }
        if (normalize) {
            val norm = sqrt(v.sumOf { it * it })
            if (norm > 0) for (j in 0 until d) v[j] /= norm
        }
        return FloatArray(d) { v[it].toFloat() }
    }
}
