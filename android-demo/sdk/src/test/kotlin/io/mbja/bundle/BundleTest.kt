package io.mbja.bundle

import io.mbja.BundleException
import io.mbja.Task
import io.mbja.TestData
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Files
import java.nio.file.Path
import java.security.MessageDigest

/** A small hand-made bundle: bundle checks need no model. */
internal object FakeBundle {
    val files = linkedMapOf(
        "model.onnx" to "not really a model".toByteArray(),
        "labels.json" to """{"0": "O", "1": "B-人名", "2": "I-人名"}""".toByteArray(),
        "dictionary/trie.bin" to ByteArray(300) { it.toByte() },
    )

    fun sha(b: ByteArray) = MessageDigest.getInstance("SHA-256").digest(b).joinToString("") { "%02x".format(it) }

    fun manifest(
        files: Map<String, ByteArray> = this.files,
        version: String = "1",
        names: Map<String, String> = files.keys.associateWith { it },
    ): String {
        val entries = files.entries.joinToString(",") { (k, v) -> """"${names[k]}": {"sha256": "${sha(v)}", "size": ${v.size}}""" }
        // a manifest names only files it lists (labels.json, vocab.txt, tokenizer.json where present)
        val named = listOf("labels" to "labels.json", "vocab" to "vocab.txt", "tokenizer" to "tokenizer.json")
            .filter { it.second in files }.joinToString("") { (k, f) -> """"$k": "${names[f]}", """ }
        return """{"format": "mbja-bundle", "format_version": $version, "task": "token-classification",
            "max_length": 512, "buckets": [32, 64], $named"models": [{"backend": "onnx", "file": "model.onnx", "precision": "fp32",
            "outputs": [{"name": "logits"}]}], "files": {$entries}}"""
    }

    fun write(dir: Path, manifest: String = manifest(), files: Map<String, ByteArray> = this.files): Path {
        for ((name, bytes) in files) {
            val p = dir.resolve(name)
            Files.createDirectories(p.parent)
            Files.write(p, bytes)
        }
        Files.writeString(dir.resolve("manifest.json"), manifest)
        return dir
    }
}

class BundleTest {
    @TempDir
    lateinit var tmp: Path

    private fun refused(dir: Path): BundleException = assertThrows { Bundle.open(dir) }

    @Test
    fun opensAndVerifiesAFakeBundle() {
        val b = Bundle.open(FakeBundle.write(tmp))
        assertEquals(Task.TOKEN_CLASSIFICATION, b.task)
        assertEquals(listOf("O", "B-人名", "I-人名"), b.labels)
        assertEquals(listOf(32, 64), b.manifest.buckets)
        assertEquals("logits", b.manifest.models.single().output)
    }

    @Test
    fun opensTheDemoBundle() {
        val b = Bundle.open(TestData.bundleDir)
        assertEquals(Task.TOKEN_CLASSIFICATION, b.task)
        assertEquals("O", b.labels!![0])
        assertTrue(b.manifest.files.keys.any { it.startsWith("dictionary/") })
    }

    @Test
    fun refusesAFlippedByte() {
        FakeBundle.write(tmp)
        val f = tmp.resolve("dictionary/trie.bin")
        val bytes = Files.readAllBytes(f).also { it[123] = (it[123].toInt() xor 1).toByte() }
        Files.write(f, bytes)
        val e = refused(tmp)
        assertTrue(e.message!!.contains("trie.bin") && e.message!!.contains("sha256"), e.message)
        assertEquals(f, e.file)
        Bundle.open(tmp, verify = false) // the caller's choice: no hashing
    }

    @Test
    fun refusesAMissingFile() {
        FakeBundle.write(tmp)
        Files.delete(tmp.resolve("model.onnx"))
        val e = refused(tmp)
        assertTrue(e.message!!.contains("missing") && e.message!!.contains("model.onnx"), e.message)
    }

    @Test
    fun refusesATruncatedFile() {
        FakeBundle.write(tmp)
        Files.write(tmp.resolve("model.onnx"), "not really".toByteArray())
        val e = refused(tmp)
        assertTrue(e.message!!.contains("model.onnx") && e.message!!.contains("size"), e.message)
    }

    @Test
    fun refusesOtherFormatVersions() {
        for (v in listOf("2", "0", "\"1\"", "1.0", "null")) {
            FakeBundle.write(tmp, FakeBundle.manifest(version = v))
            val e = refused(tmp)
            assertTrue(e.message!!.contains("manifest.json") && e.message!!.contains("version"), e.message)
        }
    }

    @Test
    fun refusesPathsOutsideTheBundle() {
        // as written in manifest.json (JSON-escaped): ../model.onnx, /etc/passwd, a/../../b, C:\x, a//b, \x
        for (bad in listOf("../model.onnx", "/etc/passwd", "a/../../b", "C:\\\\x", "a//b", "\\\\x")) {
            FakeBundle.write(tmp, FakeBundle.manifest(names = FakeBundle.files.keys.associateWith { if (it == "model.onnx") bad else it }))
            val e = refused(tmp)
            assertTrue(e.message!!.contains("outside the bundle"), "$bad: ${e.message}")
        }
    }

    @Test
    fun refusesBrokenManifests() {
        Files.writeString(tmp.resolve("manifest.json"), "{\"format\": \"mbja-bundle\",")
        assertTrue(refused(tmp).message!!.contains("corrupt manifest"))
        Files.writeString(tmp.resolve("manifest.json"), "{\"format\": \"other\", \"format_version\": 1}")
        assertTrue(refused(tmp).message!!.contains("not an mbja-bundle manifest"))
        Files.write(tmp.resolve("manifest.json"), byteArrayOf(0xff.toByte(), 0xfe.toByte()))
        assertTrue(refused(tmp).message!!.contains("not UTF-8"))
        Files.writeString(tmp.resolve("manifest.json"), FakeBundle.manifest().replace("token-classification", "translation"))
        assertTrue(refused(tmp).message!!.contains("unknown task"))
    }

    @Test
    fun refusesMissingDirectoryAndManifest() {
        assertTrue(refused(tmp.resolve("nope")).message!!.contains("not found"))
        assertTrue(refused(tmp).message!!.contains("manifest.json is missing"))
        val file = Files.writeString(tmp.resolve("manifest.json"), "{}")
        assertEquals("$file is a file, not a bundle directory", refused(file).message) // was "not found"
    }

    @Test
    fun refusesBadLabels() {
        val files = FakeBundle.files + ("labels.json" to """{"0": "O", "2": "B-X"}""".toByteArray())
        FakeBundle.write(tmp, FakeBundle.manifest(files), files)
        assertTrue(refused(tmp).message!!.contains("labels.json must map the ids 0..n-1"))
    }

    @Test
    fun labelsAreOptional() {
        val files = FakeBundle.files - "labels.json"
        FakeBundle.write(tmp, FakeBundle.manifest(files).replace("\"labels\": \"labels.json\",", ""), files)
        assertNull(Bundle.open(tmp).labels)
    }
}
