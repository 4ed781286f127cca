package io.mbja.tasks

import io.mbja.TestData
import io.mbja.TestData.assertClose
import io.mbja.TestData.f32
import io.mbja.TestData.ints
import io.mbja.TestData.num
import io.mbja.TestData.output
import io.mbja.TestData.shape
import io.mbja.TestData.spans
import io.mbja.TestData.strings
import io.mbja.TestData.utf16
import io.mbja.engine.ModelOutput
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

/**
 * The Kotlin decoders against the Python pipelines' postprocess functions on seeded synthetic
 * logits (vectors/postprocess.json.gz): labels, spans and tokens exactly, scores within 1e-9
 * (both compute in double; only exp/sum rounding may differ).
 */
class PostprocessVectorsTest {
    private val v = TestData.vectors("postprocess.json.gz")
    private fun cases(key: String) = (v[key] as List<*>).map { it as Map<*, *> }

    @Test
    fun tokenClassificationAllAggregations() {
        for (c in cases("token_classification")) {
            val text = c["text"] as String
            val results = c["results"] as Map<*, *>
            val logits = output(c["logits"])
            val labels = strings(c["labels"])
            val offsets = spans(text, c["offsets"])
            val tokens = strings(c["tokens"])
            for (agg in Aggregation.entries) {
                val expected = results[agg.id] as List<*>
                if (agg == Aggregation.NONE) {
                    assertTags(text, expected, TokenClassification.tags(logits, tokens, offsets, labels), "$text/none")
                } else {
                    assertEntities(text, expected, TokenClassification.entities(logits, tokens, offsets, text, labels, agg), "$text/${agg.id}")
                }
            }
        }
    }

    @Test
    fun textClassification() {
        for (c in cases("text_classification")) {
            val topK = (c["top_k"] as Long?)?.toInt()
            val got = TextClassification.labels(f32(c["logits"]), strings(c["labels"]), topK, c["function"] as String)
            val expected = (c["results"] as List<*>).map { it as Map<*, *> }
            assertEquals(expected.map { it["label"] }, got.map { it.label }, "$c")
            for ((e, g) in expected.zip(got)) assertEquals(num(e["score"]), g.score, 1e-9)
        }
        for (c in cases("score_functions")) {
            assertEquals(c["function"], TextClassification.scoreFunction(c["config"] as Map<*, *>), "${c["config"]}")
        }
        run { // JSON numbers compare by value (Python: 1.0 == 1); a boolean is no label count (Python and TypeScript alike)
            assertEquals("sigmoid", TextClassification.scoreFunction(mapOf("num_labels" to 1.0)))
            assertEquals("softmax", TextClassification.scoreFunction(mapOf("num_labels" to true)))
        }
    }

    @Test
    fun fillMask() {
        for (c in cases("fill_mask")) {
            val text = c["text"] as String
            val vocab = strings(c["vocab"])
            val got = FillMask.masks(
                output(c["logits"]), ints(c["input_ids"]), spans(text, c["offsets"]), text,
                (c["mask_id"] as Long).toInt(), vocab::get, (c["top_k"] as Long).toInt(),
            )
            val expected = (c["results"] as List<*>).map { m -> (m as List<*>).map { it as Map<*, *> } }
            assertEquals(expected.size, got.size, text)
            for ((em, gm) in expected.zip(got)) {
                assertEquals(em.map { (it["token"] as Long).toInt() }, gm.map { it.tokenId }, text)
                assertEquals(em.map { it["token_str"] }, gm.map { it.token })
                assertEquals(em.map { it["sequence"] }, gm.map { it.sequence })
                for ((e, g) in em.zip(gm)) assertEquals(num(e["score"]), g.score, 1e-9)
            }
        }
    }

    @Test
    fun featureExtraction() {
        for (c in cases("feature_extraction")) {
            val s = shape(c["hidden"])
            val hidden = ModelOutput(f32(c["hidden"]), s[0], s[1], pooled = false)
            val pooling = Pooling.entries.single { it.id == c["pooling"] }
            val got = FeatureExtraction.pool(hidden, pooling, c["normalize"] as Boolean)
            assertClose(f32(c["result"]), got, 1e-6, "$pooling normalize=${c["normalize"]} $s")
        }
    }

    @Test
    fun windows() {
        for (c in cases("windows")) {
            val n = (c["n"] as Long).toInt()
            val size = (c["size"] as Long).toInt()
            val starts = Windows.starts(n, size, (c["stride"] as Long).toInt())
            assertEquals(ints(c["starts"]).toList(), starts, "$c")
            assertEquals(ints(c["best"]).toList(), Windows.best(n, size, starts).toList(), "$c")
        }
    }

    companion object {
        /** Python entity dicts (code-point spans) vs Kotlin entities (UTF-16 spans). */
        fun assertEntities(text: String, expected: List<*>, got: List<Entity>, what: String, scoreTol: Double = 1e-9) {
            val want = expected.map { it as Map<*, *> }
            assertEquals(
                want.map { listOf(it["type"], it["text"], utf16(text, (it["start"] as Long).toInt()), utf16(text, (it["end"] as Long).toInt())) },
                got.map { listOf(it.type, it.text, it.start, it.end) },
                what,
            )
            for ((e, g) in want.zip(got)) assertEquals(num(e["score"]), g.score, scoreTol, "$what: score of $g")
        }

        fun assertTags(text: String, expected: List<*>, got: List<TokenTag>, what: String, scoreTol: Double = 1e-9) {
            val want = expected.map { it as Map<*, *> }
            assertEquals(
                want.map {
                    listOf(it["entity"], (it["index"] as Long).toInt(), it["word"], utf16(text, (it["start"] as Long).toInt()),
                        utf16(text, (it["end"] as Long).toInt()))
                },
                got.map { listOf(it.label, it.index, it.token, it.start, it.end) },
                what,
            )
            for ((e, g) in want.zip(got)) assertEquals(num(e["score"]), g.score, scoreTol, "$what: score of $g")
        }
    }
}
