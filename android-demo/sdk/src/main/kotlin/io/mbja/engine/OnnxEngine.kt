package io.mbja.engine

import ai.onnxruntime.OnnxTensor
import ai.onnxruntime.OrtEnvironment
import ai.onnxruntime.OrtException
import ai.onnxruntime.OrtLoggingLevel
import ai.onnxruntime.OrtSession
import ai.onnxruntime.TensorInfo
import io.mbja.BundleException
import io.mbja.MbjaException
import io.mbja.bundle.ModelSpec
import java.nio.LongBuffer
import java.util.concurrent.locks.ReentrantReadWriteLock
import java.nio.file.Path

/**
 * ONNX Runtime engine (`com.microsoft.onnxruntime:onnxruntime` on the JVM,
 * `onnxruntime-android` on Android; same `ai.onnxruntime` API). The bundle's model has dynamic
 * batch and sequence axes and int64 inputs, so each text runs at its own length with no padding.
 *
 * Thread-safe: `OrtSession.run` may be called concurrently; [close] waits for the runs in flight.
 */
public class OnnxEngine internal constructor(modelFile: Path, spec: ModelSpec, numThreads: Int) : Engine {
    override val backend: String = "onnx"
    override val precision: String = spec.precision
    override val maxTokens: Int? = null
    private val output = spec.output
    private val env: OrtEnvironment = OrtEnvironment.getEnvironment()
    private val session: OrtSession
    private val inputNames: Set<String>
    override val outputWidth: Int?

    @Volatile private var closed = false

    /** Runs share it, [close] takes it alone: a session freed under a running call crashed the JVM (SIGSEGV). */
    private val lifecycle = ReentrantReadWriteLock()

    init {
        try {
            OrtSession.SessionOptions().use { opts ->
                if (numThreads > 0) {
                    opts.setIntraOpNumThreads(numThreads)
                    opts.setInterOpNumThreads(1)
                }
                opts.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR)
                session = env.createSession(modelFile.toString(), opts)
            }
        } catch (e: OrtException) {
            throw BundleException("ONNX Runtime cannot load $modelFile: ${e.message}", modelFile, e)
        }
        inputNames = session.inputNames
        if (output !in session.outputNames) {
            val has = session.outputNames   // read before the close: a closed session tells nothing
            session.close()
            throw BundleException("$modelFile has no output '$output' (it has $has)", modelFile)
        }
        // ONNX Runtime's shape inference fills the last axis in where the graph fixes it; -1 = symbolic
        outputWidth = try {
            ((session.outputInfo[output]?.info as? TensorInfo)?.shape?.lastOrNull())
                ?.takeIf { it in 1..Int.MAX_VALUE.toLong() }?.toInt()
        } catch (e: OrtException) {
            session.close()
            throw BundleException("ONNX Runtime cannot describe the output '$output' of $modelFile: ${e.message}", modelFile, e)
        }
    }

    override fun run(inputIds: IntArray, attentionMask: IntArray, tokenTypeIds: IntArray): ModelOutput {
        lifecycle.readLock().lock()
        try {
            check(!closed) { "engine is closed" }
            return runOpen(inputIds, attentionMask, tokenTypeIds)
        } finally {
            lifecycle.readLock().unlock()
        }
    }

    private fun runOpen(inputIds: IntArray, attentionMask: IntArray, tokenTypeIds: IntArray): ModelOutput {
        checkInputs(inputIds, attentionMask, tokenTypeIds)
        val n = inputIds.size
        val shape = longArrayOf(1, n.toLong())
        val feeds = LinkedHashMap<String, OnnxTensor>()
        try {
            for ((name, values) in listOf("input_ids" to inputIds, "attention_mask" to attentionMask, "token_type_ids" to tokenTypeIds)) {
                if (name !in inputNames) continue
                val buf = LongBuffer.allocate(n)
                for (v in values) buf.put(v.toLong())
                buf.rewind()
                feeds[name] = OnnxTensor.createTensor(env, buf, shape)
            }
            session.run(feeds, setOf(output)).use { result ->
                val tensor = result.get(output).get() as OnnxTensor
                val dims = tensor.info.shape
                val fb = tensor.floatBuffer
                val data = FloatArray(fb.remaining()).also { fb.get(it) }
                return when (dims.size) {
                    3 -> ModelOutput(data, dims[1].toInt(), dims[2].toInt(), pooled = false) // [1, seq, dim]
                    2 -> ModelOutput(data, 1, dims[1].toInt(), pooled = true) // [1, dim]
                    else -> throw MbjaException("unexpected output shape ${dims.contentToString()} of '$output'")
                }
            }
        } catch (e: OrtException) {
            throw MbjaException("ONNX Runtime failed on a sequence of $n tokens: ${e.message}", e)
        } finally {
            feeds.values.forEach { it.close() }
        }
    }

    override fun close() {
        lifecycle.writeLock().lock() // waits for the calls running now; later ones see closed
        try {
            if (closed) return
            closed = true
            session.close()
        } catch (_: OrtException) {
            // nothing useful to do; the session is gone either way
        } finally {
            lifecycle.writeLock().unlock()
        }
    }
}
