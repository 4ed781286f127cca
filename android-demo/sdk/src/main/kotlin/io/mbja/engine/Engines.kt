package io.mbja.engine

import io.mbja.BundleException
import io.mbja.MbjaException
import io.mbja.bundle.Bundle
import io.mbja.bundle.ModelSpec

/**
 * Engine selection from the manifest's `models` list, the rule of `open_backend` in
 * runtime_py/mbja_runtime/backends.py: the first listed model whose backend matches [kind]
 * (any known backend for [EngineKind.AUTO]).
 */
internal object Engines {
    private val known = setOf("onnx", "tflite")

    fun open(bundle: Bundle, kind: EngineKind, numThreads: Int): Engine {
        val models = bundle.manifest.models
        val spec = models.firstOrNull { it.backend in known && (kind.backend == null || it.backend == kind.backend) }
            ?: throw BundleException(
                "bundle ${bundle.directory} has no ${kind.backend ?: "usable"} model " +
                    "(it has: ${models.joinToString { it.backend }.ifEmpty { "none" }})",
                bundle.directory,
            )
        val file = bundle.resolve(spec.file)
        return when (spec.backend) {
            "onnx" -> OnnxEngine(file, spec, numThreads)
            else -> openLiteRt(file, spec, numThreads)
        }
    }

    /** LiteRT classes are touched only here, so a JVM without them fails with a clear message. */
    private fun openLiteRt(file: java.nio.file.Path, spec: ModelSpec, numThreads: Int): Engine = try {
        LiteRtEngine(file, spec, numThreads)
    } catch (e: LinkageError) { // NoClassDefFoundError, UnsatisfiedLinkError
        throw MbjaException(
            "LiteRT is not available here (${e.javaClass.simpleName}: ${e.message}); it runs on Android with " +
                "org.tensorflow:tensorflow-lite on the classpath. Use EngineKind.ONNX on the JVM.",
            e,
        )
    }
}
