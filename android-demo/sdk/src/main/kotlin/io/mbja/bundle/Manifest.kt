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

        /** Optional manifest keys that name a file listed in `files` (`dictionary` names a directory). */
        private val FILE_KEYS = listOf("tokenizer", "vocab", "labels")
        private val SHA256 = Regex("[0-9a-fA-F]{64}")

        /**
         * Parses and checks [text] (the content of [path]); every error names [path] and the key.
         *
         * The checks are the Python runtime's `check_manifest` (runtime_py/mbja_runtime/bundle.py,
         * docs/bundle-format.md "What a reader requires"): a hand-edited or foreign manifest is an
         * unusable bundle when it is opened, never a ClassCastException or a silently wrong result
         * at the first text. Models of backends this SDK cannot run are checked no further than
         * `backend` and `file`: a newer writer may add a backend, and engine selection skips it.
         */
        fun parse(text: String, path: Path): Manifest {
            fun bad(msg: String): Nothing = throw BundleException("$path: $msg", path)
            fun bad(key: String, want: String, value: Any?): Nothing = bad("$key must be $want, not ${Json.show(value)}")
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
            val taskId = root["task"] as? String
            if (taskId.isNullOrEmpty()) bad("'task'", "a task name", root["task"])
            val task = Task.fromId(taskId) ?: bad("unknown task '$taskId'")
            val maxLength = root["max_length"]
            if (maxLength !is Long || maxLength < 2) bad("'max_length'", "an int >= 2 ([CLS] and [SEP] included)", maxLength)
            val files = (root["files"] as? Map<*, *>)?.takeIf { it.isNotEmpty() } ?: bad("'files' is missing or empty")
            val entries = LinkedHashMap<String, FileEntry>()
            for ((k, meta) in files) {
                val name = k as String
                checkRelative(name) ?: bad("file entry '$name' points outside the bundle")
                val sha = (meta as? Map<*, *>)?.get("sha256") as? String
                val size = (meta as? Map<*, *>)?.get("size") as? Long
                if (sha == null || !SHA256.matches(sha) || size == null || size < 0) {
                    bad("files['$name']", """an object {"sha256": "<64 hex digits>", "size": <bytes>}""", meta)
                }
                entries[name] = FileEntry(sha.lowercase(), size)
            }
            for (key in FILE_KEYS) {
                if (key in root && root[key] !in entries) bad("'$key'", "the name of a file the manifest lists", root[key])
            }
            if ("dictionary" in root && (root["dictionary"] as? String).isNullOrEmpty()) {
                bad("'dictionary'", "a directory name", root["dictionary"])
            }
            val modelList = if ("models" in root) root["models"] else emptyList<Any?>()
            if (modelList !is List<*>) bad("'models'", "a list", modelList)
            val models = modelList.mapIndexed { i, m ->
                val where = "models[$i]"
                val spec = m as? Map<*, *>
                val backend = spec?.get("backend") as? String
                if (spec == null || backend == null) bad(where, "an object with a \"backend\" name", m)
                val file = spec["file"]
                if (file !is String || file !in entries) bad("$where.file", "the name of a file the manifest lists", file)
                val sigs = if (backend != "tflite") emptyList() else {
                    val list = spec["signatures"]
                    if (list !is List<*> || list.isEmpty()) bad("$where.signatures", "a non-empty list", list)
                    list.mapIndexed { j, s ->
                        val sig = s as? Map<*, *>
                        val name = sig?.get("name") as? String
                        val length = sig?.get("length") as? Long
                        if (name == null || length == null || length < 2) {
                            bad("$where.signatures[$j]", "an object with a \"name\" and an int \"length\" >= 2", s)
                        }
                        Signature(name, clamp(length))
                    }
                }
                ModelSpec(
                    backend = backend,
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
                maxLength = clamp(maxLength),
                // informational (the signatures are the real buckets): read, never a reason to refuse
                buckets = (root["buckets"] as? List<*>).orEmpty().mapNotNull { (it as? Long)?.toInt() },
                quantize = root["quantize"] as? String,
                vocab = root["vocab"] as? String ?: "vocab.txt",
                tokenizer = root["tokenizer"] as? String ?: "tokenizer.json",
                labels = root["labels"] as? String,
                dictionary = root["dictionary"] as? String,
                models = models,
                files = entries,
            )
        }

        /** A token count of the manifest as an Int (a larger one limits nothing an Int could not). */
        private fun clamp(n: Long): Int = minOf(n, Int.MAX_VALUE.toLong()).toInt()

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
