package io.mbja.tokenizer

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.text.Normalizer

/**
 * [Nfkc] equals Python 3.11's `unicodedata` (Unicode 14) on every one of the 1,112,064 code
 * points -- NFKC and the "joins the text before it" flag of the offset chunking -- using
 * `nfkc.jsonl.gz`, which `mbja-build vectors` writes from Python. Also shows that the patch is
 * needed: plain `java.text.Normalizer` (Unicode 13 on JDK 17) differs on the new characters.
 */
class NfkcTest {
    @Test
    fun everyCodePointAsPython() {
        val (head, records) = TestSupport.vectors("nfkc.jsonl.gz")
        assertEquals("14.0.0", head["unicode"], "Nfkc patches the JDK up to Unicode 14 exactly; the vectors come from another Python")
        val listed = HashMap<Int, Pair<String, Boolean>>()
        for (r in records) listed[(r["cp"] as Long).toInt()] = (r["nfkc"] as String) to (r["joins"] as Boolean)
        val bad = ArrayList<String>()
        var plainJdkDiffers = 0
        for (cp in 0 until 0x110000) {
            if (cp in 0xD800..0xDFFF) continue
            val s = String(Character.toChars(cp))
            val (want, joins) = listed[cp] ?: (s to false)
            val got = Nfkc.normalize(s)
            if (got != want || Nfkc.joinsPrevious(cp) != joins) bad.add("U+%04X: '%s'/%s, Python '%s'/%s".format(cp, got, Nfkc.joinsPrevious(cp), want, joins))
            if (Normalizer.normalize(s, Normalizer.Form.NFKC) != want) plainJdkDiffers++
        }
        assertTrue(bad.isEmpty(), "${bad.size} code points differ, e.g. ${bad.take(5)}")
        println("[mbja nfkc] plain java.text.Normalizer differs from Python on $plainJdkDiffers single code points; Nfkc on 0")
    }

    @Test
    fun marksNewInUnicode14ReorderAndBlockAsInPython() {
        // expected values from Python 3.11 unicodedata.normalize("NFKC", ...)
        assertEquals("\u0229\u1AC1", Nfkc.normalize("e\u1AC1\u0327"))             // reordered below the cedilla, then composed
        assertEquals("\u0C48\u0C3C", Nfkc.normalize("\u0C46\u0C3C\u0C56"))       // nukta (class 7) does not block the length mark
        assertEquals("\u00C7", Nfkc.normalize("\uA7F2\u0327"))                   // compatibility C, then composed
        assertEquals("e\u030D\u1AC1\u0301\u030D", Nfkc.normalize("e\u030D\u1AC1\u0301\u030D"))   // the placeholder itself in the text
    }
}
