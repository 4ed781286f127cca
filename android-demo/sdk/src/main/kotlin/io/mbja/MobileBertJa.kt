package io.mbja

import io.mbja.bundle.Bundle
import io.mbja.bundle.Json
import io.mbja.engine.Engine
import io.mbja.engine.EngineKind
import io.mbja.engine.Engines
import io.mbja.engine.ModelOutput
import io.mbja.tasks.Aggregation
import io.mbja.tasks.Entity
import io.mbja.tasks.FeatureExtraction
import io.mbja.tasks.FillMask
import io.mbja.tasks.MaskFill
import io.mbja.tasks.Pooling
import io.mbja.tasks.ScoredLabel
import io.mbja.tasks.TextClassification
import io.mbja.tasks.TokenClassification
import io.mbja.tasks.TokenTag
import io.mbja.tasks.Windows
import io.mbja.tokenizer.Encoding
import io.mbja.tokenizer.Tokenizer
import java.io.IOException
import java.nio.file.Files
import java.nio.file.Path

/**
 * A fine-tuned Japanese MobileBERT bundle, opened: tokenizer, labels and one inference engine.
 *
 * ```
 * MobileBertJa.open(bundleDir).use { m -> m.ner("レッドフォックス株式会社は東京都千代田区にある。") }
 * ```
 *
 * Each task method checks that the bundle was built for that task and throws
 * [TaskMismatchException] otherwise. Results equal the Python runtime's pipelines
 * (`mbja_runtime.load(dir)(text)`), checked by shared test vectors; offsets are UTF-16 indices.
 *
 * Thread-safety: all methods may be called from several threads at once. The tokenizer is
 * immutable; the ONNX engine runs concurrently, the LiteRT engine serialises calls (open one
 * instance per thread for parallel LiteRT inference). Calls are blocking: run them off the
 * Android main thread. [close] waits for the engine runs in flight; calls after it throw
 * [IllegalStateException].
 *
 * Owns its tokenizer and engine: [close] releases both (native memory of the model).
 */
public class MobileBertJa private constructor(
    /** The opened bundle (manifest, labels). */
    public val bundle: Bundle,
    private val tokenizer: Tokenizer,
    /** The engine in use; owned by this object. */
    public val engine: Engine,
) : AutoCloseable {
    /**
     * @property engine which model of the bundle to run; [EngineKind.AUTO] takes the first the
     *   manifest lists (the Python runtime's rule).
     * @property numThreads inference threads, 0 (the engine's default) to [MAX_THREADS].
     * @property verify check every file's size and sha256 before loading (~72 MB to hash
     *   for the demo bundle); turn off only right after [io.mbja.bundle.Bundles.install] verified it.
     */
    public data class Options @JvmOverloads constructor(
        public val engine: EngineKind = EngineKind.AUTO,
        public val numThreads: Int = 0,
        public val verify: Boolean = true,
    ) {
        init {
            require(numThreads in 0..MAX_THREADS) { "numThreads must be 0 (the engine's default) to $MAX_THREADS, not $numThreads" }
        }

        public companion object {
            /**
             * Most inference threads one may ask for: each is an OS thread with its own buffers
             * (a typo such as 100000 grew one process past 10,000 threads); the Python and
             * TypeScript runtimes have the same ceiling (Python's default is None, not 0).
             */
            public const val MAX_THREADS: Int = 256
        }
    }

    /** The task the bundle's model was built for. */
    public val task: Task get() = bundle.task

    /**
     * Longest input in tokens ([CLS] and [SEP] included): the manifest's `max_length`, capped by
     * the largest TFLite bucket when the bundle has one (as the Python runtime's `max_length`).
     */
    public val maxLength: Int = bundle.manifest.models.filter { it.backend == "tflite" && it.signatures.isNotEmpty() }
        .fold(bundle.manifest.maxLength) { acc, m -> minOf(acc, m.signatures.maxOf { it.length }) }

    /**
     * Named entities (token-classification bundles). Texts longer than [maxLength] are covered by
     * overlapping windows of [stride] tokens overlap (default `min(32, (maxLength - 2) / 2)`), never cut.
     * An empty text gives an empty list.
     */
    @JvmOverloads
    @Throws(MbjaException::class)
    public fun ner(text: String, aggregation: Aggregation = Aggregation.SIMPLE, stride: Int? = null): List<Entity> {
        require(aggregation != Aggregation.NONE) { "Aggregation.NONE gives per-token tags: call tagTokens()" }
        val (enc, logits) = tokenLogits(text, stride)
        return TokenClassification.entities(logits, enc.tokens, enc.offsets, text, labels(logits.cols), aggregation)
    }

    /** Per-token best labels other than `O` (token-classification bundles; Python's `aggregation="none"`). */
    @JvmOverloads
    @Throws(MbjaException::class)
    public fun tagTokens(text: String, stride: Int? = null): List<TokenTag> {
        val (enc, logits) = tokenLogits(text, stride)
        return TokenClassification.tags(logits, enc.tokens, enc.offsets, labels(logits.cols))
    }

    /**
     * The [topK] best labels with probabilities, best first (sequence-classification bundles); null
     * [topK] returns every label. Softmax, or sigmoid for multi-label checkpoints (config.json).
     * Texts (and pairs) longer than [maxLength] are truncated, as transformers does for this task.
     */
    @JvmOverloads
    @Throws(MbjaException::class)
    public fun classify(text: String, topK: Int? = 1, textPair: String? = null): List<ScoredLabel> {
        require(topK == null || topK >= 1) { "topK must be positive or null, not $topK" }
        expect(Task.SEQUENCE_CLASSIFICATION)
        val enc = encode(text, textPair, maxLength, truncation = true)
        val out = run(enc)
        if (!out.pooled) throw MbjaException("sequence-classification output must be one row per text, not $out")
        return TextClassification.labels(out.data, labels(out.cols), topK, scoreFunction)
    }

    /**
     * For every `[MASK]` in [text], the [topK] most likely tokens (fill-mask bundles): one list per
     * mask, in text order. A text without `[MASK]`, or with one beyond [maxLength], is an error.
     */
    @JvmOverloads
    @Throws(MbjaException::class)
    public fun fillMask(text: String, topK: Int = 5): List<List<MaskFill>> {
        require(topK >= 1) { "topK must be positive, not $topK" }
        expect(Task.FILL_MASK)
        val maskId = tokenizer.vocab[maskToken] ?: throw BundleException("the vocabulary has no $maskToken", bundle.directory)
        var enc = encode(text, null, null, truncation = false)
        val positions = enc.inputIds.indices.filter { enc.inputIds[it] == maskId }
        if (positions.isEmpty()) throw MbjaException("no $maskToken in the text: fill-mask needs at least one")
        if (positions.last() >= maxLength - 1) {
            throw MbjaException("$maskToken at token ${positions.last()} lies beyond the model's $maxLength tokens; shorten the text before it")
        }
        if (enc.size > maxLength) enc = encode(text, null, maxLength, truncation = true)
        return FillMask.masks(run(enc), enc.inputIds, enc.offsets, text, maskId, tokenizer::idToToken, topK)
    }

    /**
     * One vector for [text] (feature-extraction bundles): the [CLS] hidden state or the mean over
     * all tokens, optionally L2-normalised. Texts longer than [maxLength] are truncated.
     */
    @JvmOverloads
    @Throws(MbjaException::class)
    public fun embed(text: String, pooling: Pooling = Pooling.CLS, normalize: Boolean = false): FloatArray {
        expect(Task.FEATURE_EXTRACTION)
        return FeatureExtraction.pool(run(encode(text, null, maxLength, truncation = true)), pooling, normalize)
    }

    /**
     * The raw model output for [text], without padding: (tokens x labels/vocab/hidden), or one
     * pooled row for sequence-classification. Token-classification bundles cover long texts with
     * windows (as [ner]); other tasks truncate to [maxLength]. Works for every task.
     */
    @Throws(MbjaException::class)
    public fun logits(text: String): ModelOutput =
        if (task == Task.TOKEN_CLASSIFICATION) tokenLogits(text, null).second
        else run(encode(text, null, maxLength, truncation = true))

    /** Tokenizes [text] as the model sees it (no truncation). */
    @Throws(MbjaException::class)
    public fun encode(text: String): Encoding = encode(text, null, null, truncation = false)

    /** Closes the engine and the tokenizer. Idempotent. */
    override fun close() {
        try {
            engine.close()
        } finally {
            tokenizer.close()
        }
    }

    override fun toString(): String = "MobileBertJa(${bundle.directory}, ${task.id}, ${engine.backend} ${engine.precision})"

    // ------------------------------------------------------------------ internals
    private val maskToken: String by lazy { tokenizerSetting("mask_token") ?: "[MASK]" }
    private val scoreFunction: String by lazy { TextClassification.scoreFunction(readConfig(bundle)) }

    private fun tokenizerSetting(key: String): String? = try {
        (Json.parse(Bundle.readUtf8(bundle.resolve(bundle.manifest.tokenizer))) as? Map<*, *>)?.get(key) as? String
    } catch (e: Json.JsonException) {
        throw BundleException("corrupt ${bundle.manifest.tokenizer}: ${e.message}", bundle.resolve(bundle.manifest.tokenizer), e)
    }

    private fun expect(t: Task) {
        if (task != t) throw TaskMismatchException(t, task)
    }

    /**
     * The bundle's labels for a model output of [scored] labels (checked at [open] already where
     * the engine declares its output width). (Open already refused a classification bundle without labels.)
     */
    private fun labels(scored: Int): List<String> = checkScored(bundle, scored)

    private fun tokenLogits(text: String, stride: Int?): Pair<Encoding, ModelOutput> {
        expect(Task.TOKEN_CLASSIFICATION)
        val s = stride ?: Windows.defaultStride(maxLength)
        Windows.checkStride(s, maxLength - 2) // a short text, which needs no window, is refused the same
        val enc = encode(text, null, null, truncation = false)
        val types = enc.tokenTypeIds
        val out = Windows.windowed(enc.inputIds, maxLength, s) { ids ->
            engine.run(ids, IntArray(ids.size) { 1 }, types.copyOf(ids.size))
        }
        return enc to out
    }

    private fun run(enc: Encoding): ModelOutput = engine.run(enc.inputIds, enc.attentionMask, enc.tokenTypeIds)

    private fun encode(text: String, pair: String?, max: Int?, truncation: Boolean): Encoding = try {
        tokenizer.encode(text, pair, max, truncation)
    } catch (e: IOException) { // TokenizerException: e.g. a lone surrogate, as in Python
        throw e as? MbjaException ?: MbjaException("cannot tokenize the text: ${e.message}", e)
    }

    public companion object {
        /**
         * Opens the bundle in [bundleDir] (checking every file's sha256 unless [Options.verify] is
         * off), its tokenizer and the engine [Options.engine] selects. The caller closes the result.
         * Everything a text needs besides the model is checked here, as the Python runtime's `load`:
         * the manifest's keys, labels.json (token- and sequence-classification), config.json
         * (sequence-classification), the tokenizer settings and the vocabulary.
         *
         * @throws BundleException naming the missing, corrupt or unsupported file (or manifest key).
         * @throws MbjaException when the engine cannot start (e.g. LiteRT on the JVM).
         */
        @JvmStatic
        @JvmOverloads
        @Throws(MbjaException::class)
        public fun open(bundleDir: Path, options: Options = Options()): MobileBertJa {
            val bundle = Bundle.open(bundleDir, options.verify)
            // what the task needs besides the model, read now: an unusable bundle fails here, not at every text
            if (bundle.task in LABELLED) requireLabels(bundle)
            if (bundle.task == Task.SEQUENCE_CLASSIFICATION) readConfig(bundle)
            val m = bundle.manifest
            val tokenizer = try {
                Tokenizer.fromFiles(bundle.resolve(m.tokenizer), bundle.resolve(m.vocab), bundle.resolve(m.dictionary ?: "dictionary"))
            } catch (e: IOException) { // TokenizerException names the file
                throw BundleException("cannot load the tokenizer of $bundleDir: ${e.message}", bundleDir, e)
            }
            val engine = try {
                Engines.open(bundle, options.engine, options.numThreads)
            } catch (e: Throwable) {
                tokenizer.close()
                throw e
            }
            try { // where the model declares its output width, a wrong label count fails here, not at every text
                val width = engine.outputWidth
                if (bundle.task in LABELLED && width != null) checkScored(bundle, width)
            } catch (e: Throwable) {
                engine.close()
                tokenizer.close()
                throw e
            }
            return MobileBertJa(bundle, tokenizer, engine)
        }

        /** Tasks whose bundles need labels.json. */
        private val LABELLED = setOf(Task.TOKEN_CLASSIFICATION, Task.SEQUENCE_CLASSIFICATION)

        /**
         * The labels of a model scoring [scored] of them: fewer than labels.json names is fine (the
         * rest are never chosen), more is an unusable bundle (the Python runtime's check), not
         * LABEL_n names or an index error.
         */
        private fun checkScored(bundle: Bundle, scored: Int): List<String> {
            val labels = requireLabels(bundle)
            if (scored > labels.size) {
                throw BundleException("the model scores $scored labels, ${bundle.manifest.labels ?: "labels.json"} names ${labels.size}",
                    bundle.manifest.labels?.let { bundle.resolve(it) } ?: bundle.directory)
            }
            return labels
        }

        private fun requireLabels(bundle: Bundle): List<String> = bundle.labels
            ?: throw BundleException("bundle ${bundle.directory} has no labels.json; a ${bundle.task.id} bundle needs one", bundle.directory)

        /** The source checkpoint's config.json (a JSON object), empty when the bundle has none. */
        private fun readConfig(bundle: Bundle): Map<*, *> {
            val path = bundle.directory.resolve("config.json")
            if (!Files.isRegularFile(path)) return emptyMap<String, Any>()
            val config = try {
                Json.parse(Bundle.readUtf8(path))
            } catch (e: Json.JsonException) {
                throw BundleException("corrupt config file $path: ${e.message}", path, e)
            }
            return config as? Map<*, *> ?: throw BundleException("$path is not a JSON object", path)
        }

        /** [open] for a [java.io.File] (Android's `filesDir`). */
        @JvmStatic
        @JvmOverloads
        @Throws(MbjaException::class)
        public fun open(bundleDir: java.io.File, options: Options = Options()): MobileBertJa = open(bundleDir.toPath(), options)
    }
}
