package io.mbja.tokenizer

import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Test
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.nio.file.Path

/**
 * Missing, truncated, foreign and corrupt files are refused at load with a [TokenizerException]
 * that names the file -- never a crash or a silently wrong segmentation later. Each case links the
 * bundle's intact files into a temporary bundle and replaces one.
 */
class CorruptFilesTest {
    // not @TempDir: JUnit warns about every symbolic link it deletes
    private val tmp: Path = Files.createTempDirectory("mbja-corrupt")

    @AfterEach
    fun cleanUp() = tmp.toFile().deleteRecursively().let { }   // File.delete removes links, not targets

    private val files = listOf("trie.bin", "lexicon.bin", "matrix.bin", "chars.bin")

    /** A bundle in [tmp] whose files link to the real ones, except the one [edit] rewrites. */
    private fun bundle(name: String? = null, edit: ((ByteArray) -> ByteArray?)? = null): Path {
        val src = TestSupport.bundle
        val dst = Files.createDirectories(tmp.resolve("b"))
        Files.createDirectories(dst.resolve("dictionary"))
        for (f in listOf("tokenizer.json", "vocab.txt") + files.map { "dictionary/$it" }) {
            val target = dst.resolve(f)
            if (f.substringAfterLast('/') == name && edit != null) {
                val bytes = edit(Files.readAllBytes(src.resolve(f)))
                if (bytes != null) Files.write(target, bytes)
            } else {
                Files.createSymbolicLink(target, src.resolve(f))
            }
        }
        return dst
    }

    private fun refused(dir: Path, vararg words: String, verify: Boolean = false) {
        val e = assertThrows(TokenizerException::class.java) { Tokenizer.fromBundle(dir, verify) }
        for (w in words) assertTrue(w in e.message!!, "'$w' not in: ${e.message}")
    }

    private fun le(b: ByteArray): ByteBuffer = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN)

    @Test
    fun intactBundleLoadsWithAndWithoutCrc() {
        Tokenizer.fromBundle(bundle(), verifyChecksums = true).use { it.encode("東京") }
    }

    @Test fun missingFile() = files.forEach { f -> tmp.resolve("b").toFile().deleteRecursively(); refused(bundle(f) { null }, f, "missing") }

    @Test fun truncatedHeader() = refused(bundle("chars.bin") { it.copyOf(40) }, "chars.bin", "truncated")

    @Test fun truncatedPayload() = refused(bundle("lexicon.bin") { it.copyOf(it.size - 8) }, "lexicon.bin", "truncated")

    @Test fun wrongMagic() = refused(bundle("trie.bin") { it.also { b -> b[0] = 'X'.code.toByte() } }, "trie.bin", "magic")

    @Test fun wrongKind() = refused(bundle("chars.bin") { it.also { b -> "TRIE".forEachIndexed { i, c -> b[4 + i] = c.code.toByte() } } }, "chars.bin", "TRIE")

    @Test fun wrongVersion() = refused(bundle("matrix.bin") { it.also { b -> le(b).putShort(8, 99) } }, "matrix.bin", "version 99")

    @Test fun headerDescribesAnotherSize() =
        refused(bundle("chars.bin") { it.also { b -> le(b).putInt(24 + 8, le(b).getInt(24 + 8) + 100) } }, "chars.bin", "header")

    @Test
    fun payloadCorruptionFailsTheCrc() {
        val dir = bundle("chars.bin") { it.also { b -> b[b.size / 2] = (b[b.size / 2] + 1).toByte() } }
        refused(dir, "chars.bin", "CRC", verify = true)
    }

    @Test
    fun characterClassOutOfRange() =
        refused(bundle("chars.bin") { it.also { b -> b[64 + 0x41] = 0x7F } }, "chars.bin", "inconsistent")

    @Test
    fun contextClassOutOfRange() =
        refused(bundle("lexicon.bin") { it.also { b -> le(b).putShort(64, -1) } }, "lexicon.bin", "matrix")

    @Test
    fun trieBaseOutOfRange() = refused(bundle("trie.bin") { it.also { b -> le(b).putInt(64, Int.MAX_VALUE - 3) } }, "trie.bin", "inconsistent")

    @Test
    fun missingOrCorruptSettingsAndVocabulary() {
        refused(tmp.resolve("nowhere"), "nowhere")
        val noDict = Files.createDirectories(tmp.resolve("nodict"))
        Files.copy(TestSupport.bundle.resolve("tokenizer.json"), noDict.resolve("tokenizer.json"))
        Files.copy(TestSupport.bundle.resolve("vocab.txt"), noDict.resolve("vocab.txt"))
        refused(noDict, "dictionary")
        Files.delete(noDict.resolve("vocab.txt"))
        refused(noDict, "vocab.txt", "missing")
        Files.write(noDict.resolve("vocab.txt"), byteArrayOf('a'.code.toByte(), 0xFF.toByte(), '\n'.code.toByte()))
        refused(noDict, "vocab.txt", "UTF-8")
        Files.writeString(noDict.resolve("tokenizer.json"), "{not json")
        refused(noDict, "tokenizer.json")
        Files.writeString(noDict.resolve("tokenizer.json"), "{\"do_lower_case\": true}")
        refused(noDict, "do_lower_case")
    }
}
