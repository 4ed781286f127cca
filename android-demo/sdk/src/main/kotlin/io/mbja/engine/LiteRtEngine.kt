package io.mbja.engine

import io.mbja.BundleException
import io.mbja.MbjaException
import io.mbja.bundle.ModelSpec
import io.mbja.bundle.Signature
import org.tensorflow.lite.Interpreter
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Path

/**
 * LiteRT (TensorFlow Lite) engine over the bundle's `model.tflite`: one signature `seq_<L>` per
 * length bucket, batch 1, int32 inputs. Each text runs in the smallest bucket that fits, padded
 * with id 0 / mask 0 / type 0, and the padded rows are dropped from the output (the rule of
 * `TFLiteBackend` in runtime_py/mbja_runtime/backends.py).
 *
 * Android only: the app adds `org.tensorflow:tensorflow-lite` (its native library ships only in
 * the AAR). The SDK compiles against the AAR's classes and never loads this class on the JVM
 * unless asked to.
 *
 * Thread-safe: a LiteRT `Interpreter` is not, so [run] is serialised on this engine. Open one
 * engine per thread for parallel inference.
 */
public class LiteRtEngine internal constructor(private val modelFile: Path, spec: ModelSpec, numThreads: Int) : Engine {
    override val backend: String = "tflite"
    override val precision: String = spec.precision
    private val output = spec.output
    private val signatures: List<Signature> = spec.signatures.sortedBy { it.length }
    override val maxTokens: Int? = signatures.lastOrNull()?.length
    private val interpreter: Interpreter
    override val outputWidth: Int?

    @Volatile private var closed = false

    init {
        if (signatures.isEmpty()) throw BundleException("$modelFile: the manifest lists no signatures", modelFile)
        val options = Interpreter.Options()
        if (numThreads > 0) options.setNumThreads(numThreads)
        interpreter = try {
            Interpreter(modelFile.toFile(), options)
        } catch (e: IllegalArgumentException) {
            throw BundleException("LiteRT cannot load $modelFile: ${e.message}", modelFile, e)
        }
        // static shapes: the smallest bucket's output says the width before anything runs
        outputWidth = try {
            interpreter.getOutputTensorFromSignature(output, signatures[0].name).shape().lastOrNull()
        } catch (e: RuntimeException) { // IllegalArgumentException (no such output), IllegalStateException
            interpreter.close()
            throw BundleException("$modelFile has no output '$output' in ${signatures[0].name}: ${e.message}", modelFile, e)
        }
    }

    override fun run(inputIds: IntArray, attentionMask: IntArray, tokenTypeIds: IntArray): ModelOutput {
        checkInputs(inputIds, attentionMask, tokenTypeIds)
        val n = inputIds.size
        val sig = pickBucket(signatures, n)
        fun padded(a: IntArray) = arrayOf(a.copyOf(sig.length)) // zero padding, shape [1, L]
        val inputs = mapOf<String, Any>(
            "input_ids" to padded(inputIds), "attention_mask" to padded(attentionMask), "token_type_ids" to padded(tokenTypeIds),
        )
        synchronized(this) {
            check(!closed) { "engine is closed" }
            try {
                val tensor = interpreter.getOutputTensorFromSignature(output, sig.name)
                val dims = tensor.shape()
                val buf = ByteBuffer.allocateDirect(tensor.numBytes()).order(ByteOrder.nativeOrder())
                interpreter.runSignature(inputs, mapOf<String, Any>(output to buf), sig.name)
                buf.rewind()
                val fb = buf.asFloatBuffer()
                return when (dims.size) {
                    3 -> { // [1, L, dim]: keep the first n rows
                        val cols = dims[2]
                        ModelOutput(FloatArray(n * cols).also { fb.get(it) }, n, cols, pooled = false)
                    }
                    2 -> ModelOutput(FloatArray(dims[1]).also { fb.get(it) }, 1, dims[1], pooled = true)
                    else -> throw MbjaException("unexpected output shape ${dims.contentToString()} of '$output' in ${sig.name}")
                }
            } catch (e: IllegalArgumentException) {
                throw MbjaException("LiteRT failed on ${sig.name} ($n tokens) of $modelFile: ${e.message}", e)
            } catch (e: IllegalStateException) {
                throw MbjaException("LiteRT failed on ${sig.name} ($n tokens) of $modelFile: ${e.message}", e)
            }
        }
    }

    override fun close() {
        synchronized(this) {
            if (closed) return
            closed = true
            interpreter.close()
        }
    }
}

/**
 * The smallest bucket whose length fits [n] tokens. [signatures] must be sorted by length.
 * Kept free of LiteRT types so JVM tests can check it without the Android-only runtime.
 */
internal fun pickBucket(signatures: List<Signature>, n: Int): Signature =
    signatures.firstOrNull { it.length >= n }
        ?: throw MbjaException("sequence of $n tokens exceeds the largest bucket (${signatures.lastOrNull()?.length})")
