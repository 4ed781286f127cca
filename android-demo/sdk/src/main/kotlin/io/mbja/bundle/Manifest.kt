package io.mbja.bundle

import io.mbja.BundleException
import io.mbja.Task
import io.mbja.Version
import java.nio.file.Path

/**
 * The parts of manifest.json the SDK uses (docs/bundle-format.md is the specification).
 * Unknown keys are ignored, as the format allows adding optional keys without a version change.
 */
public data class Manifest(
    public val formatVersion: Int,
    public val task: Task,
    /** Longest input in tokens, [CLS] and [SEP] included. */
    public val maxLength: Int,
    public val buckets: List<Int>,
    public val quantize: String?,
    public val vocab: String,
    public val tokenizer: String,
    public val labels: String?,
    public val dictionary: String?,
    /** Models in the bundle's order; engine selection takes the first usable one, as the Python runtime. */
    public val models: List<ModelSpec>,
    /** Every file but manifest.json, by POSIX path relative to the bundle root. */
    public val files: Map<String, FileEntry>,
) {
    internal companion object {
        const val FORMAT: String = "mbja-bundle"
        const val FILE_NAME: String = "manifest.json"

        /** Parses and checks [text] (the content of [path]); every error names [path]. */
        fun parse(text: String, path: Path): Manifest {
            fun bad(msg: String): Nothing = throw BundleException("$path: $msg", path)
            val root = try {
                Json.parse(text)
            } catch (e: Json.JsonException) {
                throw BundleException("corrupt manifest $path: ${e.message}", path, e)
            }
            if (root !is Map<*, *> || root["format"] != FORMAT) bad("not an $FORMAT manifest")
            val version = root["format_version"]
            if (version != Version.BUNDLE_FORMAT.toLong()) {
                bad(
                    "bundle format version $version is not supported (this SDK reads version " +
                        "${Version.BUNDLE_FORMAT}); rebuild the bundle with a matching mbja-build",
                )
            }
            val taskId = root["task"] as? String ?: bad("'task' is missing")
            val task = Task.fromId(taskId) ?: bad("unknown task '$taskId'")
            val files = (root["files"] as? Map<*, *>)?.takeIf { it.isNotEmpty() } ?: bad("'files' is missing or empty")
            val entries = LinkedHashMap<String, FileEntry>()
            for ((k, v) in files) {
                val name = k as String
                checkRelative(name) ?: bad("file entry '$name' points outside the bundle")
                val meta = v as? Map<*, *> ?: bad("file entry '$name' is not an object")
                val sha = meta["sha256"] as? String ?: bad("file entry '$name' has no sha256")
                val size = meta["size"] as? Long ?: bad("file entry '$name' has no size")
                entries[name] = FileEntry(sha.lowercase(), size)
            }
            val models = (root["models"] as? List<*> ?: emptyList<Any?>()).map { m ->
                val spec = m as? Map<*, *> ?: bad("'models' entries must be objects")
                val file = spec["file"] as? String ?: bad("a model entry has no 'file'")
                val sigs = (spec["signatures"] as? List<*>).orEmpty().map { s ->
                    val sig = s as? Map<*, *> ?: bad("signatures of $file must be objects")
                    Signature(
                        sig["name"] as? String ?: bad("a signature of $file has no name"),
                        (sig["length"] as? Long)?.toInt() ?: bad("a signature of $file has no length"),
                    )
                }
                ModelSpec(
                    backend = spec["backend"] as? String ?: bad("model $file has no 'backend'"),
                    file = file,
                    precision = spec["precision"] as? String ?: "fp32",
                    output = outputName(spec["outputs"])
                        ?: outputName((spec["signatures"] as? List<*>)?.firstOrNull()?.let { (it as? Map<*, *>)?.get("outputs") })
                        ?: "logits",
                    signatures = sigs.sortedBy { it.length },
                )
            }
            return Manifest(
                formatVersion = Version.BUNDLE_FORMAT,
                task = task,
                maxLength = (root["max_length"] as? Long)?.toInt() ?: bad("'max_length' is missing"),
                buckets = (root["buckets"] as? List<*>).orEmpty().map { (it as? Long)?.toInt() ?: bad("buckets must be integers") },
                quantize = root["quantize"] as? String,
                vocab = root["vocab"] as? String ?: "vocab.txt",
                tokenizer = root["tokenizer"] as? String ?: "tokenizer.json",
                labels = root["labels"] as? String,
                dictionary = root["dictionary"] as? String,
                models = models,
                files = entries,
            )
        }

        private fun outputName(outputs: Any?): String? =
            ((outputs as? List<*>)?.firstOrNull() as? Map<*, *>)?.get("name") as? String

        /** [name] if it is a safe relative POSIX path inside the bundle, else null. */
        fun checkRelative(name: String): String? {
            if (name.isEmpty() || name.startsWith("/") || name.startsWith("\\") || name.contains('\u0000')) return null
            if (name.length >= 2 && name[1] == ':') return null // C:\... on Windows
            val parts = name.split('/', '\\')
            return if (parts.any { it == ".." || it.isEmpty() }) null else name
        }
    }
}

/** Size in bytes and lowercase hex sha256 of one bundle file. */
public data class FileEntry(public val sha256: String, public val size: Long)

/** One entry of the manifest's `models` list. */
public data class ModelSpec(
    /** `onnx` or `tflite` (others are skipped by engine selection). */
    public val backend: String,
    public val file: String,
    public val precision: String,
    /** Name of the model output the SDK reads (`logits` or `last_hidden_state`). */
    public val output: String,
    /** TFLite length buckets, shortest first; empty for ONNX. */
    public val signatures: List<Signature>,
)

/** A TFLite signature runner that takes exactly [length] tokens. */
public data class Signature(public val name: String, public val length: Int)
