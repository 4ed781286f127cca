package io.mbja.engine

import io.mbja.TestData
import io.mbja.TestData.assertClose
import io.mbja.TestData.ints
import io.mbja.TestData.output
import io.mbja.TestData.spans
import io.mbja.TestData.strings
import io.mbja.bundle.Bundle
import io.mbja.tasks.Aggregation
import io.mbja.tasks.PostprocessVectorsTest.Companion.assertEntities
import io.mbja.tasks.PostprocessVectorsTest.Companion.assertTags
import io.mbja.tasks.TokenClassification
import io.mbja.tasks.Windows
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

/**
 * The demo bundle's ONNX model through ONNX Runtime Java against the Python runtime's outputs
 * (vectors/model_token_classification.json.gz): same token ids in, logits out within the fp32 rule
 * the vectors carry (`tolerance`: max(fp32_max_abs, fp32_max_rel * max|logit|) per text, the rule
 * of `mbja-build verify`; docs/bundle-format.md says why), for 50 unseen ner.json sentences, odd
 * Unicode and two texts long enough for sliding windows; and
 * the Kotlin NER decoder on Python's exact logits gives Python's entities.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModelVectorsTest {
    private val v = TestData.vectors("model_token_classification.json.gz")
    private val cases = (v["cases"] as List<*>).map { it as Map<*, *> }
    private val bundle = Bundle.open(TestData.bundleDir)
    private val engine = Engines.open(bundle, EngineKind.ONNX, numThreads = 2)

    @AfterAll
    fun close() = engine.close()

    @Test
    fun vectorsMatchThisBundle() {
        // model_sha256 is informative only: a rebuilt export need not be byte-identical; the logits decide.
        assertEquals(strings(v["labels"]), bundle.labels)
        assertEquals((v["max_length"] as Long).toInt(), bundle.manifest.maxLength)
        assertEquals(bundle.labels!!.size, engine.outputWidth) // declared at open, as ONNX Runtime infers it
    }

    @Test
    fun onnxLogitsMatchPython() {
        val maxLength = bundle.manifest.maxLength
        val tolerance = v["tolerance"] as Map<*, *>
        val maxAbs = (tolerance["fp32_max_abs"] as Number).toDouble()
        val maxRel = (tolerance["fp32_max_rel"] as Number).toDouble()
        for (c in cases) {
            val ids = ints(c["input_ids"])
            val types = ints(c["token_type_ids"])
            val out = Windows.windowed(ids, maxLength, Windows.defaultStride(maxLength)) { w ->
                engine.run(w, IntArray(w.size) { 1 }, types.copyOf(w.size))
            }
            val want = output(c["logits"])
            assertEquals(want.rows, out.rows, "${c["kind"]}: rows")
            val scale = want.data.maxOf { Math.abs(it.toDouble()) }
            assertClose(want.data, out.data, maxOf(maxAbs, maxRel * scale), "${c["kind"]} '${(c["text"] as String).take(20)}'")
        }
        assertEquals(setOf("sample", "odd", "long"), cases.map { it["kind"] }.toSet())
        assert(cases.filter { it["kind"] == "long" }.all { ints(it["input_ids"]).size > maxLength })
    }

    @Test
    fun decoderOnPythonLogitsGivesPythonEntities() {
        val labels = bundle.labels!!
        var entities = 0
        for (c in cases) {
            val text = c["text"] as String
            val logits = output(c["logits"])
            val tokens = strings(c["tokens"])
            val offsets = spans(text, c["offsets"])
            val results = c["results"] as Map<*, *>
            for (agg in Aggregation.entries) {
                val want = results[agg.id] as List<*>
                if (agg == Aggregation.NONE) {
                    assertTags(text, want, TokenClassification.tags(logits, tokens, offsets, labels), "none: $text")
                } else {
                    val got = TokenClassification.entities(logits, tokens, offsets, text, labels, agg)
                    assertEntities(text, want, got, "${agg.id}: $text")
                    entities += got.size
                }
            }
        }
        assert(entities > 50) { "only $entities entities: the vectors exercise too little" }
    }

    @Test
    fun engineReportsItself() {
        assertEquals("onnx", engine.backend)
        assertEquals(bundle.manifest.models.first().precision, engine.precision)
        assertEquals(null, engine.maxTokens)
    }
}
