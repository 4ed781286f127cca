package io.mbja.tokenizer

import java.nio.ByteBuffer
import java.nio.charset.CharacterCodingException
import java.nio.charset.CodingErrorAction
import java.nio.file.Files
import java.nio.file.Path

/**
 * The tokenizer's settings and vocabulary files of a bundle (docs/bundle-format.md), read the
 * way the Python runtime reads them: `tokenizer.json` over transformers' defaults, and
 * `vocab.txt` as transformers' `load_vocab` (universal newlines, id = line number, a later
 * duplicate wins).
 */
internal class TokenizerSettings(val values: Map<String, Any?>) {
    fun string(key: String, file: Path): String =
        values[key] as? String ?: throw TokenizerException("$file: setting $key must be a string")

    fun int(key: String, file: Path): Long? = when (val v = values[key]) {
        null -> null
        is Long -> v
        is Double -> v.toLong()
        else -> throw TokenizerException("$file: setting $key must be a number")
    }

    companion object {
        /** What the bundle format requires; any other value cannot be mirrored. */
        private val SUPPORTED: Map<String, Any> = mapOf(
            "normalization" to "NFKC", "word_tokenizer" to "mecab", "dictionary" to "unidic-lite",
            "subword_tokenizer" to "wordpiece", "do_lower_case" to false,
        )
        private val DEFAULTS: Map<String, Any?> = mapOf(
            "unk_token" to "[UNK]", "sep_token" to "[SEP]", "pad_token" to "[PAD]", "cls_token" to "[CLS]",
            "mask_token" to "[MASK]", "max_input_chars_per_word" to 100L, "model_max_length" to 512L,
        )

        fun read(file: Path): TokenizerSettings {
            if (!Files.isRegularFile(file)) throw TokenizerException("tokenizer settings file missing: $file")
            val parsed = parseJson(decodeUtf8(file), file.toString()) as? Map<*, *>
                ?: throw TokenizerException("$file is not a JSON object")
            val values = LinkedHashMap(DEFAULTS)
            for ((k, v) in parsed) values[k as String] = v
            for ((k, want) in SUPPORTED) {
                if (k in values && !pyEquals(values[k], want)) {
                    throw TokenizerException("$file: tokenizer setting $k=${values[k]} is not supported (only $want)")
                }
            }
            checkTypes(values, file)
            return TokenizerSettings(values)
        }

        private val SPECIAL_KEYS = listOf("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")

        /**
         * The settings' types, as the Python runtime's `Tokenizer.__init__` checks them: special
         * tokens are non-empty strings, `max_input_chars_per_word` a positive integer,
         * `model_max_length` a positive number or null (transformers writes 1e30 for "no limit").
         */
        private fun checkTypes(values: Map<String, Any?>, file: Path) {
            fun show(v: Any?) = io.mbja.bundle.Json.show(v)
            for (k in SPECIAL_KEYS) {
                val v = values[k]
                if (v !is String || v.isEmpty()) {
                    throw TokenizerException("$file: tokenizer setting $k must be a token (a non-empty string), not ${show(v)}")
                }
            }
            val chars = values["max_input_chars_per_word"]
            if (chars !is Long || chars < 1) {
                throw TokenizerException("$file: tokenizer setting max_input_chars_per_word must be a positive integer, not ${show(chars)}")
            }
            val mml = values["model_max_length"]
            if (mml != null && !(mml is Long && mml >= 1) && !(mml is Double && mml >= 1.0)) {
                throw TokenizerException("$file: tokenizer setting model_max_length must be a positive number or null, not ${show(mml)}")
            }
        }

        /** The SDK's one JSON reader ([io.mbja.bundle.Json]), its errors as [TokenizerException]s naming [source]. */
        internal fun parseJson(text: String, source: String): Any? = try {
            io.mbja.bundle.Json.parse(text)
        } catch (e: io.mbja.bundle.Json.JsonException) {
            throw TokenizerException("corrupt JSON in $source: ${e.message}")
        }

        /** Python's `==` for the JSON values involved (`False == 0`). */
        private fun pyEquals(a: Any?, b: Any): Boolean = when {
            b is Boolean && a is Long -> a == if (b) 1L else 0L
            b is Boolean && a is Double -> a == if (b) 1.0 else 0.0
            else -> a == b
        }

        /** token -> id as transformers' `load_vocab`: lines split at \n, \r\n or \r; the last duplicate wins. */
        fun readVocab(file: Path): Map<String, Int> {
            if (!Files.isRegularFile(file)) throw TokenizerException("vocabulary file missing: $file")
            val text = decodeUtf8(file)
            val vocab = LinkedHashMap<String, Int>()
            var id = 0
            var i = 0
            while (i < text.length) {
                var j = i
                while (j < text.length && text[j] != '\n' && text[j] != '\r') j++
                vocab[text.substring(i, j)] = id++
                i = if (j < text.length && text[j] == '\r' && j + 1 < text.length && text[j + 1] == '\n') j + 2 else j + 1
            }
            if (vocab.isEmpty()) throw TokenizerException("$file: the vocabulary is empty")
            return vocab
        }

        private fun decodeUtf8(file: Path): String {
            val bytes = try { Files.readAllBytes(file) } catch (e: java.io.IOException) {
                throw TokenizerException("cannot read $file: $e")
            }
            return try {
                Charsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString()
            } catch (e: CharacterCodingException) {
                throw TokenizerException("$file is not UTF-8: $e")
            }
        }
    }
}
