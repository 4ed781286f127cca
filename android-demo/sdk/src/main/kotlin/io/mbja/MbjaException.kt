package io.mbja

import java.io.IOException
import java.nio.file.Path

/**
 * Root of every error the SDK raises on purpose, so an app catches one type.
 *
 * It is an [IOException] because most failures are about files (a bundle copied incompletely, a
 * tampered model) and Java callers already handle that checked type. Third-party errors (ONNX
 * Runtime, LiteRT, the tokenizer) are wrapped, never leaked; the original is the [cause].
 * Programming errors in arguments (a negative `topK`, invalid [MobileBertJa.Options]) are
 * [IllegalArgumentException]s instead, as in the Kotlin standard library.
 */
public open class MbjaException(message: String, cause: Throwable? = null) : IOException(message, cause)

/**
 * The bundle is missing, incomplete, tampered with, or of a format this SDK can't read.
 * [file] is the offending file (or the bundle directory) when there is one; the message names it too.
 */
public class BundleException(message: String, public val file: Path? = null, cause: Throwable? = null) :
    MbjaException(message, cause)

/** The called task (e.g. [MobileBertJa.ner]) is not what the bundle's model was built for. */
public class TaskMismatchException(public val requested: Task, public val bundleTask: Task) :
    MbjaException(
        "this bundle is a ${bundleTask.id} model; ${requested.id} results need a bundle built with " +
            "--task ${requested.id}",
    )
