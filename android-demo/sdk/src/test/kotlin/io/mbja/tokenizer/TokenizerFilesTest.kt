package io.mbja.tokenizer

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.nio.file.Files

/** vocab.txt and tokenizer.json are read as the Python runtime reads them. */
class TokenizerFilesTest {
    @Test
    fun vocabularyLinesAsPythonsLoadVocab() {
        val f = Files.createTempFile("vocab", ".txt")
        try {
            Files.write(f, "[PAD]\r\na\rb\n\nc\u2028d\na\n\uFEFFx".toByteArray(Charsets.UTF_8))
            // expected: mbja_runtime.tokenize.wordpiece.load_vocab on the same bytes
            assertEquals(mapOf("[PAD]" to 0, "a" to 5, "b" to 2, "" to 3, "c\u2028d" to 4, "\uFEFFx" to 6),
                TokenizerSettings.readVocab(f))
        } finally {
            Files.delete(f)
        }
    }

    @Test
    fun settingsOverDefaultsAndRefusals() {
        val f = Files.createTempFile("tokenizer", ".json")
        try {
            Files.writeString(f, """{"do_lower_case": 0, "model_max_length": 128, "unk_token": "[UNK]"}""")
            val s = TokenizerSettings.read(f)
            assertEquals(128L, s.int("model_max_length", f))
            assertEquals("[MASK]", s.string("mask_token", f))
            for (bad in listOf("""{"word_tokenizer": "sudachi"}""", """{"normalization": "NFC"}""", "[1]", "{\"a\": tru}")) {
                Files.writeString(f, bad)
                val e = assertThrows(TokenizerException::class.java) { TokenizerSettings.read(f) }
                assertTrue(f.fileName.toString() in e.message!!, e.message)
            }
        } finally {
            Files.delete(f)
        }
    }

    @Test
    fun jsonReader() {
        assertEquals(mapOf("a" to listOf(1L, -2.5, true, null, "x\u00e9\uD83D\uDE00\n")),
            TokenizerSettings.parseJson("""{"a": [1, -2.5e0, true, null, "x\u00e9\ud83d\ude00\n"]}""", "t"))
        for (bad in listOf("", "{", "[1,]", "{\"a\" 1}", "\"\u0001\"", "1 2", "{\"a\": 01x}")) {
            assertThrows(TokenizerException::class.java, { TokenizerSettings.parseJson(bad, "t") }, bad)
        }
    }
}
