package io.mbja.bundle

import io.mbja.BundleException
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.ByteArrayInputStream
import java.io.FileNotFoundException
import java.nio.file.Files
import java.nio.file.Path

class BundlesTest {
    @TempDir
    lateinit var tmp: Path

    /** What an Android app passes: a name -> stream function over its assets. */
    private fun source(files: Map<String, ByteArray>, manifest: String = FakeBundle.manifest(), opened: MutableList<String>? = null) =
        BundleSource { name ->
            opened?.add(name)
            val bytes = if (name == "manifest.json") manifest.toByteArray() else files[name] ?: throw FileNotFoundException(name)
            ByteArrayInputStream(bytes)
        }

    private fun leftovers() = Files.list(tmp).use { s -> s.map { it.fileName.toString() }.filter { it.startsWith(".") }.toList() }

    @Test
    fun installsVerifiesAndReusesAnInstalledBundle() {
        val target = tmp.resolve("bundle")
        val b = Bundles.install(source(FakeBundle.files), target)
        assertEquals(target.toAbsolutePath(), b.directory)
        assertArrayEquals(FakeBundle.files["dictionary/trie.bin"], Files.readAllBytes(target.resolve("dictionary/trie.bin")))
        Bundle.open(target) // full sha256 check passes
        val opened = mutableListOf<String>()
        Bundles.install(source(FakeBundle.files, opened = opened), target)
        assertEquals(listOf("manifest.json"), opened) // second start: nothing copied
        assertTrue(leftovers().isEmpty(), "${leftovers()}")
    }

    @Test
    fun replacesAnOlderBundle() {
        val target = tmp.resolve("bundle")
        Bundles.install(source(FakeBundle.files), target)
        val newer = FakeBundle.files + ("model.onnx" to "a newer model".toByteArray())
        Bundles.install(source(newer, FakeBundle.manifest(newer)), target)
        assertEquals("a newer model", Files.readString(target.resolve("model.onnx")))
        assertTrue(leftovers().isEmpty(), "${leftovers()}")
    }

    @Test
    fun corruptSourceLeavesThePreviousBundleInPlace() {
        val target = tmp.resolve("bundle")
        Bundles.install(source(FakeBundle.files), target)
        val newer = FakeBundle.files + ("model.onnx" to "a newer model".toByteArray())
        val tampered = newer + ("model.onnx" to "a newer modem".toByteArray())
        val e = assertThrows<BundleException> { Bundles.install(source(tampered, FakeBundle.manifest(newer)), target) }
        assertTrue(e.message!!.contains("model.onnx") && e.message!!.contains("sha256"), e.message)
        assertEquals("not really a model", Files.readString(target.resolve("model.onnx")))
        assertTrue(leftovers().isEmpty(), "${leftovers()}")
    }

    @Test
    fun aSourceFailingUncheckedLeavesNoHalfCopy() {
        // an AssetManager closed under the install, a Java source returning null: BundleExceptions, no temporary copy left
        val target = tmp.resolve("bundle")
        for (failure in listOf<() -> Nothing>({ throw IllegalStateException("asset manager closed") }, { throw NullPointerException() })) {
            val failing = BundleSource { name -> if (name == "labels.json") failure() else source(FakeBundle.files).open(name) }
            val e = assertThrows<BundleException> { Bundles.install(failing, target) }
            assertTrue(e.message!!.startsWith("installing the bundle into"), e.message)
            assertTrue(leftovers().isEmpty(), "${leftovers()}")
            assertFalse(Files.exists(target))
        }
    }

    @Test
    fun missingAndTruncatedSourceFilesAreNamed() {
        val target = tmp.resolve("bundle")
        val e1 = assertThrows<BundleException> { Bundles.install(source(FakeBundle.files - "labels.json"), target) }
        assertTrue(e1.message!!.contains("labels.json"), e1.message)
        val short = FakeBundle.files + ("model.onnx" to "not really".toByteArray())
        val e2 = assertThrows<BundleException> { Bundles.install(source(short, FakeBundle.manifest()), target) }
        assertTrue(e2.message!!.contains("model.onnx") && e2.message!!.contains("size"), e2.message)
        assertFalse(Files.exists(target))
        assertTrue(leftovers().isEmpty(), "${leftovers()}")
    }

    @Test
    fun cleansUpAfterAnInstallThatWasKilled() {
        val target = tmp.resolve("bundle")
        Files.createDirectories(tmp.resolve(".bundle.tmp-1234/dictionary"))
        Files.createDirectories(tmp.resolve(".bundle.old-5678"))
        Files.createDirectories(tmp.resolve(".other.tmp-1"))
        Bundles.install(source(FakeBundle.files), target)
        assertEquals(listOf(".other.tmp-1"), leftovers())
    }

    @Test
    fun neverOverwritesANonBundleDirectory() {
        val target = Files.createDirectories(tmp.resolve("photos"))
        Files.writeString(target.resolve("cat.jpg"), "meow")
        val e = assertThrows<BundleException> { Bundles.install(source(FakeBundle.files), target) }
        assertTrue(e.message!!.contains("not a bundle"), e.message)
        assertEquals("meow", Files.readString(target.resolve("cat.jpg")))
    }

    @Test
    fun refusesUnsafeNamesAndOtherVersionsBeforeCopying() {
        val target = tmp.resolve("bundle")
        val evil = FakeBundle.manifest(names = FakeBundle.files.keys.associateWith { if (it == "model.onnx") "../evil" else it })
        assertThrows<BundleException> { Bundles.install(source(FakeBundle.files, evil), target) }
        assertThrows<BundleException> { Bundles.install(source(FakeBundle.files, FakeBundle.manifest(version = "2")), target) }
        assertThrows<BundleException> { Bundles.install(source(emptyMap(), "{}"), target) }
        assertFalse(Files.exists(tmp.resolve("evil")))
        assertFalse(Files.exists(target))
    }
}
