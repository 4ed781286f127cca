package io.mbja.bundle

import io.mbja.BundleException
import io.mbja.MobileBertJa
import io.mbja.Task
import io.mbja.TestData
import io.mbja.engine.EngineKind
import io.mbja.tasks.Aggregation
import io.mbja.tasks.TokenClassification
import io.mbja.tokenizer.Tokenizer
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.Arguments
import org.junit.jupiter.params.provider.MethodSource
import java.nio.file.Files
import java.nio.file.Path

/** An edit of the parsed manifest.json. */
typealias Edit = (MutableMap<String, Any?>) -> Unit

/**
 * A malformed bundle is refused when it is opened, with a [BundleException] naming the key or
 * file -- never a ClassCastException, a silent default or a wrong result at the first text. The
 * rules are the Python runtime's (`check_manifest` in runtime_py/mbja_runtime/bundle.py, the
 * labels / tokenizer checks; docs/bundle-format.md "What a reader requires").
 *
 * Each case is a copy of the demo bundle in a temporary directory (its files linked, not copied:
 * the model is 72 MB) whose manifest.json is edited, or one of whose files is rewritten and
 * re-hashed into the manifest (sha256 and size), so only the rule under test is broken.
 */
class MalformedBundleTest {
    // not @TempDir: JUnit warns about every symbolic link it deletes
    private val tmp: Path = Files.createTempDirectory("mbja-malformed")

    @AfterEach
    fun cleanUp() = Bundles.deleteTree(tmp) // Files.walk does not follow the links: the demo bundle stays

    private val options = MobileBertJa.Options(EngineKind.ONNX, numThreads = 1)

    /** The demo bundle, with the files of [rewrite] replaced (and re-hashed) and [edit] applied to its manifest. */
    private fun bundle(rewrite: Map<String, String> = emptyMap(), edit: Edit = {}): Path {
        val src = TestData.bundleDir
        Bundles.deleteTree(tmp.resolve("bundle"))
        val dst = Files.createDirectories(tmp.resolve("bundle"))
        Files.walk(src).use { s -> s.filter { Files.isRegularFile(it) }.toList() }.forEach { f ->
            val name = src.relativize(f).toString().replace('\\', '/')
            if (name == Manifest.FILE_NAME || name in rewrite) return@forEach
            val target = dst.resolve(name)
            Files.createDirectories(target.parent)
            Files.createSymbolicLink(target, f)
        }
        @Suppress("UNCHECKED_CAST")
        val manifest = Json.parse(Files.readString(src.resolve(Manifest.FILE_NAME))) as MutableMap<String, Any?>
        @Suppress("UNCHECKED_CAST")
        val files = manifest["files"] as MutableMap<String, Any?>
        for ((name, text) in rewrite) {
            val bytes = text.toByteArray()
            Files.write(dst.resolve(name), bytes)
            files[name] = mutableMapOf<String, Any?>("sha256" to FakeBundle.sha(bytes), "size" to bytes.size.toLong())
        }
        edit(manifest)
        Files.writeString(dst.resolve(Manifest.FILE_NAME), toJson(manifest))
        return dst
    }

    /** Opening [dir] throws a [BundleException] whose message holds every one of [words]. */
    private fun refused(dir: Path, vararg words: String): BundleException {
        val e = assertThrows<BundleException> { MobileBertJa.open(dir, options).close() }
        for (w in words) assertTrue(w in e.message!!, "'$w' not in: ${e.message}")
        return e
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("manifestCases")
    fun refusesMalformedManifests(case: String, key: String, edit: Edit) {
        val dir = bundle(edit = edit)
        refused(dir, "manifest.json", "$key must be")
        // the check is the manifest parser's: a plain Bundle.open (hashing or not) refuses it too
        val e = assertThrows<BundleException> { Bundle.open(dir, verify = false) }
        assertTrue("$key must be" in e.message!!, e.message)
    }

    @ParameterizedTest(name = "labels.json {0}")
    @MethodSource("labelCases")
    fun refusesMalformedLabels(labels: String) {
        val e = refused(bundle(mapOf("labels.json" to labels)), "labels.json must map the ids 0..n-1 (decimal strings)")
        assertEquals("labels.json", e.file!!.fileName.toString())
    }

    @Test
    fun aClassificationBundleNeedsLabelsAtOpen() {
        val dir = bundle { m -> m.remove("labels"); files(m).remove("labels.json") }
        refused(dir, "has no labels.json", "token-classification")
        assertEquals(null, Bundle.open(dir).labels) // the bundle itself may have none (fill-mask, feature-extraction)
    }

    @Test
    fun aSequenceClassificationBundleNeedsAJsonObjectConfig() {
        refused(bundle(mapOf("config.json" to "[1, 2]")) { it["task"] = Task.SEQUENCE_CLASSIFICATION.id }, "config.json", "not a JSON object")
        refused(bundle(mapOf("config.json" to "{\"num_labels\": ")) { it["task"] = Task.SEQUENCE_CLASSIFICATION.id }, "corrupt config file")
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("tokenizerCases")
    fun refusesMalformedTokenizerSettings(key: String, value: String) {
        val settings = Files.readString(TestData.bundleDir.resolve("tokenizer.json"))
        val edited = Regex("\"$key\": [^,\\n]*").replace(settings, "\"$key\": $value".replace("$", "\\$"))
        check(edited != settings) { "$key is not in tokenizer.json" }
        refused(bundle(mapOf("tokenizer.json" to edited)), "tokenizer.json", "tokenizer setting $key must be")
    }

    @Test
    fun refusesAnEmptyVocabulary() {
        refused(bundle(mapOf("vocab.txt" to "")), "vocab.txt", "the vocabulary is empty")
    }

    @Test
    fun aModelScoringMoreLabelsThanLabelsJsonNamesIsABundleError() {
        val names = Bundle.open(TestData.bundleDir, verify = false).labels!!
        assertEquals(17, names.size)
        val labels = (0 until 16).joinToString(", ", "{", "}") { "\"$it\": \"${names[it]}\"" }
        // ONNX Runtime declares the output's width, so open refuses it (before: the first text did)
        val e = assertThrows<BundleException> { MobileBertJa.open(bundle(mapOf("labels.json" to labels)), options) }
        assertTrue("the model scores 17 labels, labels.json names 16" in e.message!!, e.message)
        // a model that does not declare its width is checked on its first output, by the decoders
        val logits = MobileBertJa.open(TestData.bundleDir, options).use { it.logits(TEXT) }
        val enc = Tokenizer.fromBundle(TestData.bundleDir).use { it.encode(TEXT) }
        val short = names.take(16)
        for (call in listOf<() -> Any>(
            { TokenClassification.entities(logits, enc.tokens, enc.offsets, TEXT, short, Aggregation.SIMPLE) },
            { TokenClassification.entities(logits, enc.tokens, enc.offsets, TEXT, short, Aggregation.FIRST) },
            { TokenClassification.tags(logits, enc.tokens, enc.offsets, short) },
        )) {
            val thrown = assertThrows<BundleException> { call() }
            assertTrue("the model scores 17 labels, labels.json names 16" in thrown.message!!, thrown.message)
        }
        assertTrue(TokenClassification.entities(logits, enc.tokens, enc.offsets, TEXT, names, Aggregation.SIMPLE).isNotEmpty())
    }

    @Test
    fun aModelScoringFewerLabelsThanLabelsJsonNamesIsFine() {
        // as in Python: labels the model never scores are never chosen
        val original = Files.readString(TestData.bundleDir.resolve("labels.json")).trim().removeSuffix("}")
        val expected = MobileBertJa.open(TestData.bundleDir, options).use { it.ner(TEXT) }
        MobileBertJa.open(bundle(mapOf("labels.json" to "$original, \"17\": \"B-extra\"}")), options).use { m ->
            assertEquals(18, m.bundle.labels!!.size)
            assertEquals(expected, m.ner(TEXT))
        }
    }

    @Test
    fun theUneditedCopyAndValidVariantsOpen() {
        val expected = MobileBertJa.open(bundle(), options).use { it.ner(TEXT) }
        assertTrue(expected.isNotEmpty())
        // optional keys absent: today's defaults; upper-case hex digits; no limit on model_max_length
        val settings = Files.readString(TestData.bundleDir.resolve("tokenizer.json")).replace(Regex("\"model_max_length\": [^,\\n]*"), "\"model_max_length\": null")
        val dir = bundle(mapOf("tokenizer.json" to settings)) { m ->
            for (k in listOf("tokenizer", "vocab", "dictionary")) m.remove(k)
            @Suppress("UNCHECKED_CAST")
            val meta = files(m)["model.onnx"] as MutableMap<String, Any?>
            meta["sha256"] = (meta["sha256"] as String).uppercase()
        }
        MobileBertJa.open(dir, options).use { assertEquals(expected, it.ner(TEXT)) }
    }

    @Test
    fun anOutputTheModelLacksIsABundleException() {
        // was an IllegalStateException: the message asked the session it had just closed for its outputs
        val dir = bundle { m -> ((model(m, 0)["outputs"] as MutableList<Any?>)[0] as MutableMap<String, Any?>)["name"] = "nope" }
        val e = refused(dir, "has no output 'nope' (it has [logits])")
        assertTrue(e.file.toString().endsWith("model.onnx"), "${e.file}")
    }

    @Test
    fun modelsOfUnknownBackendsAreCheckedNoFurther() {
        val dir = bundle { m ->
            models(m).add(0, mutableMapOf<String, Any?>("backend" to "coreml", "file" to "model.onnx", "signatures" to listOf(5), "outputs" to 7))
        }
        MobileBertJa.open(dir, MobileBertJa.Options(numThreads = 1)).use { m ->
            assertEquals("onnx", m.engine.backend) // skipped by engine selection, as in Python
            assertTrue(m.ner(TEXT).isNotEmpty())
        }
    }

    companion object {
        private const val TEXT = "山田太郎は東京都千代田区の株式会社レッドフォックスで働いている。"

        @Suppress("UNCHECKED_CAST")
        private fun files(m: MutableMap<String, Any?>) = m["files"] as MutableMap<String, Any?>

        @Suppress("UNCHECKED_CAST")
        private fun models(m: MutableMap<String, Any?>) = m["models"] as MutableList<Any?>

        @Suppress("UNCHECKED_CAST")
        private fun model(m: MutableMap<String, Any?>, i: Int) = models(m)[i] as MutableMap<String, Any?>

        private fun case(name: String, key: String, edit: Edit): Arguments = Arguments.of(name, key, edit)

        private fun set(key: String, value: Any?): Edit = { it[key] = value }

        private fun onnxFile(edit: (MutableMap<String, Any?>) -> Unit): Edit = { m ->
            @Suppress("UNCHECKED_CAST")
            edit(files(m)["model.onnx"] as MutableMap<String, Any?>)
        }

        /** A TFLite entry after the ONNX one (so the old reader, picking the first, would never look at it). */
        private fun tflite(signatures: Any?, present: Boolean = true): Edit = { m ->
            val entry = mutableMapOf<String, Any?>("backend" to "tflite", "file" to "model.onnx", "precision" to "fp32")
            if (present) entry["signatures"] = signatures
            models(m).add(entry)
        }

        private fun sig(name: Any?, length: Any?) = mapOf("name" to name, "length" to length)

        @JvmStatic
        fun manifestCases(): List<Arguments> = listOf(
            case("task empty", "'task'", set("task", "")),
            case("task a number", "'task'", set("task", 5L)),
            case("task null", "'task'", set("task", null)),
            case("max_length 1", "'max_length'", set("max_length", 1L)),
            case("max_length 0", "'max_length'", set("max_length", 0L)),
            case("max_length negative", "'max_length'", set("max_length", -512L)),
            case("max_length a float", "'max_length'", set("max_length", 512.0)),
            case("max_length a string", "'max_length'", set("max_length", "512")),
            case("max_length true", "'max_length'", set("max_length", true)),
            case("max_length missing", "'max_length'") { it.remove("max_length") },
            case("sha256 not hex", "files['model.onnx']", onnxFile { it["sha256"] = "z".repeat(64) }),
            case("sha256 too short", "files['model.onnx']", onnxFile { it["sha256"] = (it["sha256"] as String).drop(1) }),
            case("sha256 a number", "files['model.onnx']", onnxFile { it["sha256"] = 5L }),
            case("sha256 missing", "files['model.onnx']", onnxFile { it.remove("sha256") }),
            case("size negative", "files['model.onnx']", onnxFile { it["size"] = -1L }),
            case("size a float", "files['model.onnx']", onnxFile { it["size"] = 1.5 }),
            case("size a string", "files['model.onnx']", onnxFile { it["size"] = "12" }),
            case("size missing", "files['model.onnx']", onnxFile { it.remove("size") }),
            case("file entry not an object", "files['model.onnx']") { files(it)["model.onnx"] = "abc" },
            case("tokenizer null", "'tokenizer'", set("tokenizer", null)),
            case("tokenizer a number", "'tokenizer'", set("tokenizer", 5L)),
            case("tokenizer not listed", "'tokenizer'", set("tokenizer", "tokenizer2.json")),
            case("vocab a list", "'vocab'", set("vocab", listOf("vocab.txt"))),
            case("vocab not listed", "'vocab'", set("vocab", "vocab2.txt")),
            case("labels a number", "'labels'", set("labels", 5L)),
            case("labels null", "'labels'", set("labels", null)),
            case("labels not listed", "'labels'", set("labels", "labels2.json")),
            case("dictionary empty", "'dictionary'", set("dictionary", "")),
            case("dictionary a number", "'dictionary'", set("dictionary", 5L)),
            case("dictionary null", "'dictionary'", set("dictionary", null)),
            case("models an object", "'models'") { it["models"] = mapOf("backend" to "onnx", "file" to "model.onnx") },
            case("models a string", "'models'", set("models", "onnx")),
            case("models null", "'models'", set("models", null)),
            case("model not an object", "models[0]") { models(it)[0] = 5L },
            case("model without backend", "models[0]") { model(it, 0).remove("backend") },
            case("backend a number", "models[0]") { model(it, 0)["backend"] = 5L },
            case("model file not listed", "models[0].file") { model(it, 0)["file"] = "model2.onnx" },
            case("model file missing", "models[0].file") { model(it, 0).remove("file") },
            case("model file a number", "models[0].file") { model(it, 0)["file"] = 5L },
            case("tflite without signatures", "models[1].signatures", tflite(null, present = false)),
            case("tflite signatures empty", "models[1].signatures", tflite(emptyList<Any>())),
            case("tflite signatures a string", "models[1].signatures", tflite("seq_32")),
            case("signature not an object", "models[1].signatures[0]", tflite(listOf(5L))),
            case("signature without length", "models[1].signatures[0]", tflite(listOf(mapOf("name" to "seq_32")))),
            case("signature length 1", "models[1].signatures[0]", tflite(listOf(sig("seq_1", 1L)))),
            case("signature length a float", "models[1].signatures[0]", tflite(listOf(sig("seq_32", 32.0)))),
            case("signature name a number", "models[1].signatures[0]", tflite(listOf(sig(32L, 32L)))),
            case("second signature bad", "models[1].signatures[1]", tflite(listOf(sig("seq_32", 32L), mapOf("length" to 64L)))),
        )

        @JvmStatic
        fun labelCases(): List<String> = listOf(
            "{}",
            """{"0": "O", "2": "B-人名"}""",
            """{"1": "O"}""",
            """{"0": "O", "1": 5}""",
            """{"0": null}""",
            """{"a": "O"}""",
            """{"0": "O", "00": "B-人名"}""",
            """{"0": "O", "1.0": "B-人名"}""",
        )

        @JvmStatic
        fun tokenizerCases(): List<Arguments> = listOf(
            "unk_token" to "\"\"", "unk_token" to "null", "sep_token" to "\"\"", "pad_token" to "5",
            "cls_token" to "[\"[CLS]\"]", "mask_token" to "\"\"",
            "max_input_chars_per_word" to "0", "max_input_chars_per_word" to "-1", "max_input_chars_per_word" to "1.5",
            "max_input_chars_per_word" to "\"100\"", "max_input_chars_per_word" to "null",
            "model_max_length" to "0", "model_max_length" to "-512", "model_max_length" to "0.5",
            "model_max_length" to "\"512\"", "model_max_length" to "true",
        ).map { (k, v) -> Arguments.of(k, v) }

        /** The manifest back as JSON (the values [Json] reads: maps, lists, strings, numbers, booleans, null). */
        fun toJson(v: Any?): String = when (v) {
            null -> "null"
            is String -> buildString {
                append('"')
                for (c in v) when {
                    c == '"' -> append("\\\"")
                    c == '\\' -> append("\\\\")
                    c < ' ' -> append("\\u%04x".format(c.code))
                    else -> append(c)
                }
                append('"')
            }
            is Map<*, *> -> v.entries.joinToString(", ", "{", "}") { (k, x) -> "${toJson(k)}: ${toJson(x)}" }
            is List<*> -> v.joinToString(", ", "[", "]") { toJson(it) }
            is Boolean, is Long, is Int, is Double -> v.toString()
            else -> error("not a JSON value: $v")
        }
    }
}
