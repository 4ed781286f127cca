package io.mbja

import io.mbja.bundle.Json
import io.mbja.engine.ModelOutput
import io.mbja.tokenizer.Span
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.fail
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.nio.file.Path
import java.util.Base64
import java.util.zip.GZIPInputStream

/**
 * Shared test inputs: the demo bundle (system property `mbja.bundle`, set by the pom) and the
 * vectors `mbja-build vectors` writes into vectors/ at the repository root (test resources, see the pom).
 */
object TestData {
    /** The bundle the model tests run; a clear failure, not a skip, when it was not built. */
    val bundleDir: Path by lazy {
        val prop = System.getProperty("mbja.bundle")
            ?: fail<Nothing>("system property mbja.bundle is not set (the pom sets it; pass -Dmbja.bundle=DIR)")
        val dir = Path.of(prop).toAbsolutePath().normalize()
        if (!Files.isRegularFile(dir.resolve("manifest.json"))) {
            fail<Nothing>(
                "demo bundle not found at $dir. Build it from the repository root with the venv active: " +
                    "`mbja-build --target onnx --out build/demo-bundle` (what .ci/run does), or pass -Dmbja.bundle=DIR",
            )
        }
        dir
    }

    private val cache = HashMap<String, Map<*, *>>()

    /** A gzip JSON vector file from vectors/ at the repository root. */
    fun vectors(name: String): Map<*, *> = synchronized(cache) {
        cache.getOrPut(name) {
            val stream = TestData::class.java.getResourceAsStream("/vectors/$name")
                ?: fail<Nothing>("vectors/$name is missing; regenerate with `mbja-build vectors --bundle build/demo-bundle`")
            val text = GZIPInputStream(stream).use { it.readBytes().toString(Charsets.UTF_8) }
            Json.parse(text) as Map<*, *>
        }
    }

    /** {"shape": [...], "f32": base64 little-endian float32} -> values. */
    fun f32(obj: Any?): FloatArray {
        val m = obj as Map<*, *>
        val bytes = Base64.getDecoder().decode(m["f32"] as String)
        val fb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
        return FloatArray(fb.remaining()).also { fb.get(it) }
    }

    fun shape(obj: Any?): List<Int> = ((obj as Map<*, *>)["shape"] as List<*>).map { (it as Long).toInt() }

    /** A 2-D f32 vector as a token-level [ModelOutput]. */
    fun output(obj: Any?): ModelOutput {
        val s = shape(obj)
        return ModelOutput(f32(obj), s[0], s[1], pooled = false)
    }

    fun ints(obj: Any?): IntArray = (obj as List<*>).map { (it as Long).toInt() }.toIntArray()

    fun strings(obj: Any?): List<String> = (obj as List<*>).map { it as String }

    /** Python string index (code points) -> UTF-16 index into [text]. */
    fun utf16(text: String, codePoint: Int): Int = text.offsetByCodePoints(0, codePoint)

    /** Python offsets `[[s, e] | null]` as UTF-16 [Span]s of [text]. */
    fun spans(text: String, obj: Any?): List<Span?> = (obj as List<*>).map { o ->
        (o as List<*>?)?.let { Span(utf16(text, (it[0] as Long).toInt()), utf16(text, (it[1] as Long).toInt())) }
    }

    fun num(x: Any?): Double = (x as Number).toDouble()

    fun assertClose(expected: FloatArray, actual: FloatArray, tol: Double, what: String) {
        assertEquals(expected.size, actual.size, "$what: size")
        var worst = 0.0
        var at = -1
        for (i in expected.indices) {
            val d = Math.abs(expected[i].toDouble() - actual[i].toDouble())
            if (d > worst) { worst = d; at = i }
        }
        if (worst > tol) fail<Unit>("$what: max |diff| $worst > $tol at index $at (${expected[at]} vs ${actual[at]})")
    }
}
