package io.mbja.bundle

/**
 * A small strict JSON reader (RFC 8259) for manifest.json, labels.json and tokenizer.json.
 *
 * Why not a library: Android apps already carry org.json (with different behaviour from the JVM
 * artifact of the same name), and Gson/Moshi/kotlinx.serialization would force a version choice
 * on every app that embeds the SDK. Bundles hold three small JSON files, so ~150 lines are cheaper
 * than a dependency. Values map to: object -> [Map] (insertion order kept), array -> [List],
 * string -> [String], integer -> [Long], other number -> [Double], true/false -> [Boolean], null -> null.
 */
internal object Json {
    /** Parses [text]; throws [JsonException] with the character position of the first error. */
    fun parse(text: String): Any? {
        val p = Parser(text)
        p.skipWs()
        val v = p.value(0)
        p.skipWs()
        if (p.i != text.length) p.fail("unexpected trailing characters")
        return v
    }

    /** A JSON value as a bundle file spells it, for messages (cut short: a message, not a dump). */
    fun show(value: Any?): String {
        val sb = StringBuilder()
        fun put(v: Any?) {
            if (sb.length > 200) return
            when (v) {
                null -> sb.append("null")
                is String -> sb.append('"').append(v.replace("\\", "\\\\").replace("\"", "\\\"")).append('"')
                is Map<*, *> -> {
                    sb.append('{')
                    v.entries.forEachIndexed { i, (k, x) -> if (i > 0) sb.append(", "); put(k); sb.append(": "); put(x) }
                    sb.append('}')
                }
                is List<*> -> {
                    sb.append('[')
                    v.forEachIndexed { i, x -> if (i > 0) sb.append(", "); put(x) }
                    sb.append(']')
                }
                else -> sb.append(v)
            }
        }
        put(value)
        return if (sb.length > 200) sb.substring(0, 200) + "..." else sb.toString()
    }

    class JsonException(message: String) : Exception(message)

    private class Parser(val s: String) {
        var i = 0

        fun fail(msg: String): Nothing = throw JsonException("$msg at character $i")

        fun skipWs() {
            while (i < s.length && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++
        }

        fun value(depth: Int): Any? {
            if (depth > 64) fail("nesting deeper than 64")
            if (i >= s.length) fail("unexpected end of input")
            return when (val c = s[i]) {
                '{' -> obj(depth)
                '[' -> arr(depth)
                '"' -> str()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> if (c == '-' || c in '0'..'9') num() else fail("unexpected character '$c'")
            }
        }

        fun literal(word: String, v: Any?): Any? {
            if (!s.startsWith(word, i)) fail("invalid literal")
            i += word.length
            return v
        }

        fun obj(depth: Int): Map<String, Any?> {
            val m = LinkedHashMap<String, Any?>()
            i++
            skipWs()
            if (i < s.length && s[i] == '}') { i++; return m }
            while (true) {
                skipWs()
                if (i >= s.length || s[i] != '"') fail("expected a string key")
                val k = str()
                skipWs()
                if (i >= s.length || s[i] != ':') fail("expected ':'")
                i++
                skipWs()
                if (m.containsKey(k)) fail("duplicate key \"$k\"")
                m[k] = value(depth + 1)
                skipWs()
                if (i >= s.length) fail("unterminated object")
                when (s[i++]) {
                    ',' -> continue
                    '}' -> return m
                    else -> { i--; fail("expected ',' or '}'") }
                }
            }
        }

        fun arr(depth: Int): List<Any?> {
            val l = ArrayList<Any?>()
            i++
            skipWs()
            if (i < s.length && s[i] == ']') { i++; return l }
            while (true) {
                skipWs()
                l.add(value(depth + 1))
                skipWs()
                if (i >= s.length) fail("unterminated array")
                when (s[i++]) {
                    ',' -> continue
                    ']' -> return l
                    else -> { i--; fail("expected ',' or ']'") }
                }
            }
        }

        fun str(): String {
            i++ // opening quote
            val sb = StringBuilder()
            while (true) {
                if (i >= s.length) fail("unterminated string")
                val c = s[i++]
                when {
                    c == '"' -> return sb.toString()
                    c == '\\' -> {
                        if (i >= s.length) fail("unterminated escape")
                        when (val e = s[i++]) {
                            '"', '\\', '/' -> sb.append(e)
                            'b' -> sb.append('\b')
                            'f' -> sb.append('\u000C')
                            'n' -> sb.append('\n')
                            'r' -> sb.append('\r')
                            't' -> sb.append('\t')
                            'u' -> {
                                if (i + 4 > s.length) fail("truncated \\u escape")
                                val hex = s.substring(i, i + 4)
                                val code = (if (hex.all { it in '0'..'9' || it in 'a'..'f' || it in 'A'..'F' }) hex.toIntOrNull(16) else null)
                                    ?: fail("invalid \\u escape") // four hex digits, no sign (toIntOrNull took one)
                                sb.append(code.toChar())
                                i += 4
                            }
                            else -> fail("invalid escape '\\$e'")
                        }
                    }
                    c < ' ' -> { i--; fail("control character in string") }
                    else -> sb.append(c)
                }
            }
        }

        fun num(): Any {
            val start = i
            if (s[i] == '-') i++
            if (i < s.length && s[i] == '0') i++ else digits()
            var integer = true
            if (i < s.length && s[i] == '.') { i++; integer = false; digits() }
            if (i < s.length && (s[i] == 'e' || s[i] == 'E')) {
                i++; integer = false
                if (i < s.length && (s[i] == '+' || s[i] == '-')) i++
                digits()
            }
            val t = s.substring(start, i)
            return if (integer) t.toLongOrNull() ?: t.toDouble() else t.toDouble()
        }

        fun digits() {
            val start = i
            while (i < s.length && s[i] in '0'..'9') i++
            if (i == start) fail("expected a digit")
        }
    }
}
