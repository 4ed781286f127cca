package io.mbja.tokenizer

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.util.concurrent.Executors

/** Inputs that are easy to get wrong: each gives a correct result or a clear [TokenizerException]. */
class BadInputTest {
    private val tok get() = TestSupport.tokenizer

    /** Every span lies inside the text, in order, and covers the characters the token came from. */
    private fun assertSane(text: String, enc: Encoding) {
        assertEquals(enc.inputIds.size, enc.tokens.size)
        assertEquals(enc.inputIds.size, enc.offsets.size)
        var last = 0
        for ((t, s) in enc.tokens.zip(enc.offsets)) {
            if (s == null) continue
            assertTrue(s.start in last..s.end && s.end <= text.length, "$t $s in ${text.length} chars")
            assertTrue(!Character.isLowSurrogate(text.getOrElse(s.start) { 'x' }), "span starts inside a pair: $t $s")
            last = s.start
        }
    }

    @Test
    fun emptyAndWhitespaceOnlyTextGiveClsSep() {
        for (t in listOf("", " ", "\u3000", "\t\n ", "\u0000", "\u0000abc")) {
            val enc = tok.encode(t)
            assertEquals(listOf("[CLS]", "[SEP]"), enc.tokens, "'$t'")
            assertEquals(listOf(null, null), enc.offsets)
            assertEquals(listOf(1, 1), enc.attentionMask.toList())
        }
    }

    @Test
    fun nulEndsTheTextForMeCabAsInTheReference() {
        assertEquals(tok.encode("東京都").tokens, tok.encode("東京都\u0000大阪").tokens)
        assertEquals(listOf("[CLS]", "a", "[MASK]", "c", "[SEP]"), tok.encode("a\u0000b[MASK]c\u0000d").tokens)
    }

    @Test
    fun loneSurrogatesAreRefusedWithTheirIndex() {
        for (t in listOf("a\uD800b", "\uDFFF", "x\u0000\uD83D", "😀\uDE00")) {
            val e = assertThrows(TokenizerException::class.java) { tok.encode(t) }
            assertTrue("surrogate" in e.message!!, e.message)
        }
        assertThrows(TokenizerException::class.java) { tok.encode("fine", "bad\uDC00") }
        // the one error root an app catches (the Android README's promise)
        assertThrows(io.mbja.MbjaException::class.java) { tok.encode("fine", "bad\uDC00") }
    }

    @Test
    fun emojiAndAstralCharactersGetUtf16Spans() {
        val text = "😀家族👍🏽いいね𠮷野家"
        val enc = tok.encode(text)
        assertSane(text, enc)
        val first = enc.offsets[1]!!
        assertEquals(Span(0, 2), first, "the emoji is two UTF-16 chars")
        assertTrue(enc.tokens.contains("[UNK]"))
    }

    @Test
    fun controlCharactersAndOddWhitespace() {
        for (t in listOf("\u0001\u0002\u001f\u007f\u0080\u009f制御文字", "a\u2028b\u0085c\u001cd\u200be\uFEFF", "\uFFFF", "\uFFFE\uFFFE")) {
            assertSane(t, tok.encode(t))
        }
    }

    @Test
    fun hundredThousandCharactersWork() {
        val ner = TestSupport.vectors("tokens_ner.jsonl.gz").second.map { it["text"] as String }
        val sb = StringBuilder()
        var i = 0
        while (sb.length < 100_000) sb.append(ner[(i++ * 7919) % ner.size])
        val text = sb.substring(0, 100_000)
        val full = tok.encode(text, truncation = false)
        assertSane(text, full)
        assertTrue(full.size > 30_000, "${full.size} tokens")
        assertEquals(512, tok.encode(text).size, "truncated to the bundle's model_max_length")
        // the first sentence tokenizes as on its own unless MeCab joins across the boundary
        assertEquals(full.tokens.subList(0, 5), tok.encode(text.substring(0, 200), truncation = false).tokens.subList(0, 5))
        // MeCab's 16-bit wrap after 65,535 bytes of whitespace: everything after it is dropped
        assertEquals(listOf("[CLS]", "[SEP]"), tok.encode(" ".repeat(70_000) + "x").tokens)
        assertThrows(TokenizerException::class.java) { tok.encode(" ".repeat(65_533) + "あいう") }
    }

    @Test
    fun argumentsAndApiShape() {
        assertThrows(IllegalArgumentException::class.java) { tok.encode("a", maxLength = -1) }
        assertEquals(512, tok.maxLength)
        val v = tok.vocab
        for (s in listOf("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")) assertEquals(s, tok.idToToken(v.getValue(s)))
        assertEquals("[UNK]", tok.idToToken(-1))
        val enc = tok.encode("東京都に住む", "彼は", maxLength = 16, padding = true)
        assertEquals(16, enc.size)
        assertEquals("[PAD]", enc.tokens.last())
        assertEquals(null, enc.offsets.last())
        assertEquals(0, enc.attentionMask.last())
        val mask = tok.encode("東京[MASK]都")
        assertEquals(listOf(null, Span(0, 2), Span(2, 8), Span(8, 9), null), mask.offsets)
    }

    @Test
    fun encodeIsThreadSafe() {
        val texts = TestSupport.vectors("tokens_ner.jsonl.gz").second.map { it["text"] as String }.take(1500)
        val tok = TestSupport.tokenizer
        val want = texts.map { tok.encode(it).inputIds.toList() }
        val pool = Executors.newFixedThreadPool(4)
        try {
            val futures = (0 until 4).map { k -> pool.submit<List<List<Int>>> { texts.indices.reversed().map { tok.encode(texts[(it + k * 97) % texts.size]).inputIds.toList() } } }
            for ((k, f) in futures.withIndex()) {
                val got = f.get()
                val expect = texts.indices.reversed().map { want[(it + k * 97) % texts.size] }
                assertEquals(expect, got)
            }
        } finally {
            pool.shutdown()
        }
    }

    @Test
    fun closedTokenizerRefusesWork() {
        val t = Tokenizer.fromBundle(TestSupport.bundle)
        t.encode("a")
        t.close()
        assertThrows(IllegalStateException::class.java) { t.encode("a") }
    }
}
