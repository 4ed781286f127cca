package io.mbja

import io.mbja.TestData.ints
import io.mbja.bundle.Bundles
import io.mbja.engine.EngineKind
import io.mbja.tasks.Aggregation
import io.mbja.tasks.PostprocessVectorsTest.Companion.assertEntities
import io.mbja.tasks.PostprocessVectorsTest.Companion.assertTags
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import java.nio.file.Files

/**
 * The facade end to end on the demo bundle: Kotlin tokenizer + ONNX Runtime Java + decoders give
 * the Python runtime's entities for every vector text (spans exactly; scores within 1e-4, since
 * logits differ by up to ~1e-5 between the two ONNX Runtimes), plus the bad-input cases.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MobileBertJaTest {
    private val m = MobileBertJa.open(TestData.bundleDir, MobileBertJa.Options(numThreads = 2))
    private val cases = (TestData.vectors("model_token_classification.json.gz")["cases"] as List<*>).map { it as Map<*, *> }

    @AfterAll
    fun close() = m.close()

    @Test
    fun nerEqualsPythonForEveryVectorText() {
        for (c in cases) {
            val text = c["text"] as String
            assertArrayEquals(ints(c["input_ids"]), m.encode(text).inputIds, "token ids of '$text'")
            val results = c["results"] as Map<*, *>
            for (agg in Aggregation.entries) {
                if (agg == Aggregation.NONE) {
                    assertTags(text, results["none"] as List<*>, m.tagTokens(text), "none: $text", 1e-4)
                } else {
                    assertEntities(text, results[agg.id] as List<*>, m.ner(text, agg), "${agg.id}: $text", 1e-4)
                }
            }
        }
    }

    @Test
    fun entitiesPointIntoTheOriginalText() {
        val text = "😀レッドフォックス株式会社は東京都千代田区にある。"
        val entities = m.ner(text)
        assertTrue(entities.isNotEmpty(), "the demo found no entity: nothing was checked")
        for (e in entities) assertEquals(e.text, text.substring(e.start, e.end))
        assertEquals(emptyList<Any>(), m.ner(""))
        assertEquals(emptyList<Any>(), m.ner(" \n\t"))
    }

    @Test
    fun closeWaitsForTheRunsInFlight() {
        // a session freed under a running call crashed the JVM (SIGSEGV in libonnxruntime); now close
        // waits for the engine runs in flight and the calls after it throw IllegalStateException
        val text = "山田太郎は東京都千代田区に住む。".repeat(60) // several windows: many engine runs per call
        repeat(3) { round ->
            val mine = MobileBertJa.open(TestData.bundleDir, MobileBertJa.Options(numThreads = 1, verify = false))
            val want = mine.ner(text)
            val failures = java.util.concurrent.ConcurrentLinkedQueue<Throwable>()
            val done = java.util.concurrent.atomic.AtomicInteger()
            val threads = (0 until 4).map {
                Thread {
                    try {
                        while (true) { assertEquals(want, mine.ner(text)); done.incrementAndGet() }
                    } catch (e: IllegalStateException) { // closed: the way out
                    } catch (e: Throwable) { failures.add(e) }
                }.apply { start() }
            }
            Thread.sleep(150L + 100L * round)
            mine.close()
            threads.forEach { it.join(60_000) }
            assertTrue(failures.isEmpty(), "round $round: $failures")
            assertTrue(threads.none { it.isAlive }, "round $round: a call is still running after close")
        }
    }

    @Test
    fun longTextsAreWindowedNotCut() {
        val long = cases.first { it["kind"] == "long" }
        val text = long["text"] as String
        val logits = m.logits(text)
        assertEquals(ints(long["input_ids"]).size, logits.rows)
        assertTrue(logits.rows > m.maxLength)
        val lastEntityEnd = m.ner(text).maxOfOrNull { it.end } ?: 0
        assertTrue(lastEntityEnd > text.length / 2, "entities only in the first half of a long text")
        assertThrows<MbjaException> { m.ner(text, stride = m.maxLength) }
        // whatever the text's length: a short one needs no window but is refused the same (was: ignored)
        for (stride in listOf(-1, m.maxLength - 2, m.maxLength)) {
            val e = assertThrows<MbjaException> { m.ner("東京", stride = stride) }
            assertTrue("stride must be >= 0 and < the window's ${m.maxLength - 2} content tokens, not $stride" in e.message!!, e.message)
            assertThrows<MbjaException> { m.tagTokens("東京", stride = stride) }
        }
        assertEquals(m.ner("東京"), m.ner("東京", stride = 0))
    }

    @Test
    fun otherTasksAreRefusedClearly() {
        val e = assertThrows<TaskMismatchException> { m.classify("テスト") }
        assertTrue(e.message!!.contains("token-classification") && e.message!!.contains("sequence-classification"), e.message)
        assertEquals(Task.SEQUENCE_CLASSIFICATION, e.requested)
        assertThrows<TaskMismatchException> { m.fillMask("東京は[MASK]です") }
        assertThrows<TaskMismatchException> { m.embed("テスト") }
        assertThrows<IllegalArgumentException> { m.ner("x", Aggregation.NONE) }
        assertThrows<IllegalArgumentException> { m.classify("x", topK = 0) }
    }

    @Test
    fun badOptionsAndEngines() {
        assertThrows<IllegalArgumentException> { MobileBertJa.Options(numThreads = -1) }
        assertThrows<IllegalArgumentException> { MobileBertJa.Options(numThreads = 100_000) }
        assertEquals(MobileBertJa.Options.MAX_THREADS, MobileBertJa.Options(numThreads = MobileBertJa.Options.MAX_THREADS).numThreads)
        val e = assertThrows<BundleException> { MobileBertJa.open(TestData.bundleDir, MobileBertJa.Options(engine = EngineKind.LITERT)) }
        assertTrue(e.message!!.contains("no tflite model"), e.message)
        assertEquals(Task.TOKEN_CLASSIFICATION, m.task)
        assertEquals(512, m.maxLength)
    }

    @Test
    fun aFlippedByteInTheModelIsRefusedBeforeLoading() {
        val copy = Files.createTempDirectory("mbja-corrupt")
        try {
            val b = Bundles.install({ name -> Files.newInputStream(TestData.bundleDir.resolve(name)) }, copy.resolve("b"))
            val model = b.directory.resolve("model.onnx")
            val bytes = Files.readAllBytes(model)
            bytes[bytes.size / 2] = (bytes[bytes.size / 2].toInt() xor 0x10).toByte()
            Files.write(model, bytes)
            val e = assertThrows<BundleException> { MobileBertJa.open(b.directory) }
            assertTrue(e.message!!.contains("model.onnx") && e.message!!.contains("sha256"), e.message)
            assertEquals(model, e.file)
            Files.delete(b.directory.resolve("vocab.txt"))
            val missing = assertThrows<BundleException> { MobileBertJa.open(b.directory, MobileBertJa.Options(verify = false)) }
            assertTrue(missing.message!!.contains("vocab.txt"), missing.message)
        } finally {
            Bundles.deleteTree(copy)
        }
    }

    @Test
    fun oddUnicodeIsHandledOrRefusedAsMbjaException() {
        var checked = 0
        for (text in listOf("\u0000", "\uFEFF東京", "a\u0301", "🇯🇵🇯🇵", "\u3000".repeat(5), "ｶﾞｷﾞｸﾞ", "x".repeat(3000),
                            "\uFEFF東京都千代田区の🇯🇵山田太郎")) {
            for (e in m.ner(text)) {
                assertEquals(e.text, text.substring(e.start, e.end), text)
                checked++
            }
        }
        assertTrue(checked > 0, "no entity in any odd text: nothing was checked")
        // a lone surrogate cannot be tokenized (Python rejects it too): an MbjaException, not a crash
        assertThrows<MbjaException> { m.ner("東京\uD800都") }
    }

    @Test
    fun isSafeToShareBetweenThreads() {
        val texts = cases.take(8).map { it["text"] as String }
        val serial = texts.map { m.ner(it) }
        val parallel = texts.parallelStream().map { m.ner(it) }.toList()
        assertEquals(serial, parallel)
    }

    @Test
    fun opensAFileToo() {
        MobileBertJa.open(TestData.bundleDir.toFile(), MobileBertJa.Options(verify = false)).use {
            assertEquals("onnx", it.engine.backend)
        }
    }
}
