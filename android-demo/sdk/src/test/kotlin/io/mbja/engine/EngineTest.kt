package io.mbja.engine

import io.mbja.BundleException
import io.mbja.MbjaException
import io.mbja.TestData
import io.mbja.bundle.Bundle
import io.mbja.bundle.Signature
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

class EngineTest {
    private val buckets = listOf(32, 64, 128, 256, 512).map { Signature("seq_$it", it) }

    @Test
    fun picksTheSmallestBucketThatFits() {
        assertEquals("seq_32", pickBucket(buckets, 1).name)
        assertEquals("seq_32", pickBucket(buckets, 32).name)
        assertEquals("seq_64", pickBucket(buckets, 33).name)
        assertEquals("seq_512", pickBucket(buckets, 512).name)
        val e = assertThrows<MbjaException> { pickBucket(buckets, 513) }
        assertTrue(e.message!!.contains("513") && e.message!!.contains("512"), e.message)
    }

    @Test
    fun selectionRefusesABackendTheBundleLacks() {
        val bundle = Bundle.open(TestData.bundleDir, verify = false)
        val e = assertThrows<BundleException> { Engines.open(bundle, EngineKind.LITERT, 0) }
        assertTrue(e.message!!.contains("no tflite model") && e.message!!.contains("onnx"), e.message)
    }

    @Test
    fun onnxEngineChecksItsInputs() {
        val bundle = Bundle.open(TestData.bundleDir, verify = false)
        Engines.open(bundle, EngineKind.AUTO, 1).use { engine ->
            assertThrows<MbjaException> { engine.run(IntArray(0), IntArray(0), IntArray(0)) }
            assertThrows<MbjaException> { engine.run(intArrayOf(2, 3), intArrayOf(1), intArrayOf(0, 0)) }
            val out = engine.run(intArrayOf(2, 3), intArrayOf(1, 1), intArrayOf(0, 0))
            assertEquals(2, out.rows)
            assertEquals(bundle.labels!!.size, out.cols)
            engine.close()
            assertThrows<IllegalStateException> { engine.run(intArrayOf(2, 3), intArrayOf(1, 1), intArrayOf(0, 0)) }
        }
    }

    @Test
    fun liteRtOnTheJvmFailsClearlyWithoutLoadingNatives() {
        val dir = java.nio.file.Files.createTempDirectory("mbja-tflite")
        try {
            val model = "not a flatbuffer".toByteArray()
            val files = mapOf("model.tflite" to model)
            val manifest = io.mbja.bundle.FakeBundle.manifest(files).replace(
                """"backend": "onnx", "file": "model.onnx"""",
                """"backend": "tflite", "file": "model.tflite", "signatures": [{"name": "seq_32", "length": 32}]""",
            ).replace(""""labels": "labels.json",""", "")
            val bundle = Bundle.open(io.mbja.bundle.FakeBundle.write(dir, manifest, files))
            val e = assertThrows<MbjaException> { Engines.open(bundle, EngineKind.AUTO, 0) }
            assertTrue(e.message!!.contains("LiteRT is not available") && e.message!!.contains("EngineKind.ONNX"), e.message)
        } finally {
            io.mbja.bundle.Bundles.deleteTree(dir)
        }
    }

    @Test
    fun aBrokenModelFileIsABundleError() {
        val dir = java.nio.file.Files.createTempDirectory("mbja-broken")
        try {
            val f = dir.resolve("model.onnx")
            java.nio.file.Files.writeString(f, "not an onnx model")
            val spec = io.mbja.bundle.ModelSpec("onnx", "model.onnx", "fp32", "logits", emptyList())
            val e = assertThrows<BundleException> { OnnxEngine(f, spec, 0) }
            assertTrue(e.message!!.contains("model.onnx"), e.message)
        } finally {
            io.mbja.bundle.Bundles.deleteTree(dir)
        }
    }
}
