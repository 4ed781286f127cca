package io.mbja.bundle

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

class JsonTest {
    @Test
    fun parsesEveryValueKind() {
        val v = Json.parse(""" { "a": [1, -2.5e3, 0, true, false, null], "s": "x\"\\\/\n\u6771\ud83d\ude00", "o": {} } """)
        v as Map<*, *>
        assertEquals(listOf(1L, -2500.0, 0L, true, false, null), v["a"])
        assertEquals("x\"\\/\n東😀", v["s"])
        assertEquals(emptyMap<String, Any>(), v["o"])
        assertEquals(listOf("a", "s", "o"), v.keys.toList()) // insertion order
    }

    @Test
    fun keepsJapaneseKeysAndValues() {
        val v = Json.parse("""{"1": "B-人名"}""") as Map<*, *>
        assertEquals("B-人名", v["1"])
    }

    @Test
    fun bigIntegersBecomeDoubles() {
        assertEquals(1e20, Json.parse("100000000000000000000"))
        assertNull(Json.parse("null"))
    }

    @Test
    fun rejectsMalformedInput() {
        for (bad in listOf(
            "", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "1.", "-", "tru", "\"abc", "\"\\x\"",
            "\"\\u12\"", "\"\\u-001\"", "\"\\u+7FF\"", "{\"a\":1}{", "{\"a\":1,\"a\":2}", "\"a\nb\"", "[1 2]", "{1:2}", "NaN",
        )) {
            val e = assertThrows<Json.JsonException>(bad) { Json.parse(bad) }
            assertTrue(e.message!!.contains("at character"), e.message)
        }
    }

    @Test
    fun rejectsDeepNesting() {
        assertThrows<Json.JsonException> { Json.parse("[".repeat(100) + "]".repeat(100)) }
    }
}
