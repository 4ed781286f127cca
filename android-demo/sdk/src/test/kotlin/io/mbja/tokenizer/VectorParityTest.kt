package io.mbja.tokenizer

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * The Kotlin tokenizer against the Python runtime's output on the same bundle: identical input
 * ids, token type ids, tokens and offsets for every vector (all 5,343 ner.json sentences, the
 * adversarial set, long inputs around MeCab's look-ahead window, 1,000 seeded random texts, pairs,
 * truncation, padding), and
 * a [TokenizerException] wherever Python refused the text.
 */
class VectorParityTest {
    private fun check(file: String, expected: Int? = null) {
        val (head, records) = TestSupport.vectors(file)
        assertEquals("mbja-token-vectors", head["format"])
        assertEquals(1L, head["version"])
        assertEquals(head["vocab_sha256"], TestSupport.sha256(TestSupport.bundle.resolve("vocab.txt")),
            "the vectors were written with another vocabulary than ${TestSupport.bundle}'s; regenerate them " +
                "(mbja-build vectors --bundle build/demo-bundle) or point -Dmbja.bundle at the right bundle")
        assertEquals((head["records"] as Long).toInt(), records.size)
        expected?.let { assertEquals(it, records.size) }
        val tok = TestSupport.tokenizer
        val bad = ArrayList<String>()
        for (r in records) {
            val text = r["text"] as String
            val pair = r["pair"] as String?
            val maxLength = (r["max_length"] as Long?)?.toInt()
            val what = "${text.take(40)}${if (pair != null) " | ${pair.take(20)}" else ""} (${text.length} chars, " +
                "max_length=$maxLength, truncation=${r["truncation"]}, padding=${r["padding"]})"
            val got = try {
                tok.encode(text, pair, maxLength, r["truncation"] as Boolean, r["padding"] as Boolean)
            } catch (e: TokenizerException) {
                if (r["error"] == null) bad.add("$what: unexpected $e")
                continue
            }
            if (r["error"] != null) { bad.add("$what: Python refused it (${r["error"]}), Kotlin did not"); continue }
            val ids = (r["ids"] as List<*>).map { (it as Long).toInt() }
            val types = (r["type_ids"] as List<*>).map { (it as Long).toInt() }
            val u16a = TestSupport.utf16Index(text)
            val u16b = pair?.let { TestSupport.utf16Index(it) }
            val offsets = (r["offsets"] as List<*>).mapIndexed { i, o ->
                (o as List<*>?)?.let {
                    val m = if (types[i] == 1) u16b!! else u16a
                    Span(m[(it[0] as Long).toInt()], m[(it[1] as Long).toInt()])
                }
            }
            when {
                got.inputIds.toList() != ids -> bad.add("$what: ids ${got.tokens} != ${r["tokens"]}")
                got.tokens != r["tokens"] -> bad.add("$what: tokens ${got.tokens} != ${r["tokens"]}")
                got.tokenTypeIds.toList() != types -> bad.add("$what: token types differ")
                got.attentionMask.toList() != (r["mask"] as List<*>).map { (it as Long).toInt() } -> bad.add("$what: attention mask")
                got.offsets != offsets -> bad.add("$what: offsets ${got.offsets} != $offsets")
            }
        }
        assertTrue(bad.isEmpty(), "${bad.size} of ${records.size} vectors differ, e.g.:\n" + bad.take(5).joinToString("\n"))
    }

    @Test
    fun everyNerSentenceMatchesPython(): Unit = check("tokens_ner.jsonl.gz", 5343)

    @Test
    fun adversarialLongPairAndTruncationCasesMatchPython(): Unit = check("tokens_adversarial.jsonl.gz")
}
