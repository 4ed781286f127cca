package io.mbja

import io.mbja.TestData.assertClose
import io.mbja.TestData.f32
import io.mbja.TestData.num
import io.mbja.bundle.Bundles
import io.mbja.tasks.Pooling
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import java.nio.file.Files
import java.nio.file.Path

/**
 * [MobileBertJa.fillMask] and [MobileBertJa.embed] end to end on a real model: the demo NER
 * bundle with its manifest's task rewritten, exactly as `retasked_vectors` in
 * toolchain/mbja_build/vectors/outputs.py does (its (tokens, 17) output read as a 17-token
 * vocabulary / a 17-dim hidden state). Tokens and sequences must be identical, scores and vectors
 * within 1e-4, and texts Python refuses must throw [MbjaException].
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RetaskedBundleTest {
    private val v = TestData.vectors("model_token_classification.json.gz")
    private val root: Path = Files.createTempDirectory("mbja-retasked")
    private val fillMask = open("fill-mask")
    private val features = open("feature-extraction")

    private fun open(task: String): MobileBertJa {
        val dir = root.resolve(task)
        Bundles.install({ name -> Files.newInputStream(TestData.bundleDir.resolve(name)) }, dir)
        val manifest = dir.resolve("manifest.json")
        Files.writeString(manifest, Files.readString(manifest).replace("\"task\": \"token-classification\"", "\"task\": \"$task\""))
        return MobileBertJa.open(dir, MobileBertJa.Options(numThreads = 1)).also { assertEquals(task, it.task.id) }
    }

    @AfterAll
    fun close() {
        fillMask.close()
        features.close()
        Bundles.deleteTree(root)
    }

    @Test
    fun fillMaskEqualsPython() {
        val cases = (v["fill_mask"] as List<*>).map { it as Map<*, *> }
        assertEquals(2, cases.count { it["error"] == true })
        for (c in cases) {
            val text = c["text"] as String
            val topK = (c["top_k"] as Long).toInt()
            if (c["error"] == true) {
                assertThrows<MbjaException>(text) { fillMask.fillMask(text, topK) }
                continue
            }
            val want = (c["results"] as List<*>).map { m -> (m as List<*>).map { it as Map<*, *> } }
            val got = fillMask.fillMask(text, topK)
            assertEquals(want.map { m -> m.map { listOf((it["token"] as Long).toInt(), it["token_str"], it["sequence"]) } },
                got.map { m -> m.map { listOf(it.tokenId, it.token, it.sequence) } }, text)
            for ((wm, gm) in want.zip(got)) for ((w, g) in wm.zip(gm)) assertEquals(num(w["score"]), g.score, 1e-4)
        }
        assertThrows<TaskMismatchException> { fillMask.ner("東京") }
    }

    @Test
    fun embedEqualsPython() {
        for (c in (v["feature_extraction"] as List<*>).map { it as Map<*, *> }) {
            val text = c["text"] as String
            val pooling = Pooling.entries.single { it.id == c["pooling"] }
            val normalize = c["normalize"] as Boolean
            assertClose(f32(c["result"]), features.embed(text, pooling, normalize), 1e-4, "$pooling $normalize ${text.take(20)}")
        }
        assertThrows<TaskMismatchException> { features.classify("東京") }
    }
}
