package io.mbja.engine

import io.mbja.MbjaException

/**
 * One inference runtime behind the SDK: takes the un-padded token arrays of ONE text and returns
 * the model output for the real tokens only, so callers never see bucket padding (the contract of
 * `Backend.run` in runtime_py/mbja_runtime/backends.py).
 *
 * Implementations in the SDK ([OnnxEngine], [LiteRtEngine]) are safe to call from several threads;
 * whoever creates an engine closes it ([io.mbja.MobileBertJa] closes its own).
 */
public interface Engine : AutoCloseable {
    /** `onnx` or `tflite`, as the manifest's `backend`. */
    public val backend: String

    /** `fp32`, `dynamic-int8`, `static-int8` (TFLite) or `fp16`, from the manifest. */
    public val precision: String

    /** Most tokens one [run] accepts ([CLS] and [SEP] included), or null when only the manifest limits it. */
    public val maxTokens: Int?

    /**
     * The output's last axis (labels, vocabulary or hidden size) where the model declares it when
     * it opens, or null when only a [run] tells (then [io.mbja.MobileBertJa] checks it per text).
     */
    public val outputWidth: Int? get() = null

    /**
     * Runs the model on one sequence. The three arrays have the same non-zero length.
     * @throws MbjaException when the runtime fails or the sequence is longer than [maxTokens].
     */
    @Throws(MbjaException::class)
    public fun run(inputIds: IntArray, attentionMask: IntArray, tokenTypeIds: IntArray): ModelOutput

    /** Releases native resources. Idempotent; [run] after close throws [IllegalStateException]. */
    override fun close()
}

/**
 * A float32 model output for one sequence, row-major: [rows] x [cols]. Token-level outputs
 * (token-classification, fill-mask, feature-extraction) have one row per token; pooled outputs
 * (sequence-classification) have [pooled] set and one row.
 */
public class ModelOutput(
    /** Row-major values; owned by this object, do not modify. */
    public val data: FloatArray,
    public val rows: Int,
    public val cols: Int,
    public val pooled: Boolean,
) {
    init {
        require(rows >= 0 && cols >= 0 && data.size == rows * cols) { "data has ${data.size} values, not $rows x $cols" }
    }

    public operator fun get(row: Int, col: Int): Float = data[row * cols + col]

    /** A copy of row [row]. */
    public fun row(row: Int): FloatArray = data.copyOfRange(row * cols, (row + 1) * cols)

    /** The shape as the Python runtime reports it: `[rows, cols]`, or `[cols]` when [pooled]. */
    public val shape: IntArray get() = if (pooled) intArrayOf(cols) else intArrayOf(rows, cols)

    override fun toString(): String = "ModelOutput(${shape.joinToString("x")})"
}

/** Which engine [io.mbja.MobileBertJa] opens. */
public enum class EngineKind(internal val backend: String?) {
    /** The first model the bundle lists that this SDK can run (the Python runtime's `backend="first"`; its default, `"auto"`, times each model at load). */
    AUTO(null),

    /** ONNX Runtime (`model.onnx`): JVM and Android. */
    ONNX("onnx"),

    /** LiteRT / TensorFlow Lite (`model.tflite`): Android only (its native library is Android-only). */
    LITERT("tflite"),
}

internal fun checkInputs(inputIds: IntArray, attentionMask: IntArray, tokenTypeIds: IntArray) {
    if (inputIds.isEmpty()) throw MbjaException("input_ids must be a non-empty sequence of token ids")
    if (attentionMask.size != inputIds.size || tokenTypeIds.size != inputIds.size) {
        throw MbjaException("input_ids, attention_mask and token_type_ids must have the same length")
    }
}
