package io.mbja.demo

import android.app.Activity
import android.graphics.Color
import android.graphics.Typeface
import android.os.Bundle
import android.text.SpannableStringBuilder
import android.text.Spanned
import android.text.style.BackgroundColorSpan
import android.text.style.StyleSpan
import android.widget.Button
import android.widget.CheckBox
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import io.mbja.MbjaException
import io.mbja.MobileBertJa
import io.mbja.bundle.BundleSource
import io.mbja.bundle.Bundles
import io.mbja.engine.EngineKind
import io.mbja.tasks.Entity
import java.io.File
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * One screen: type Japanese text, tap "NER", see the entities highlighted in the text, listed with
 * their labels and scores, and the latency. The bundle ships in assets/bundle/ and is copied to
 * filesDir once ([Bundles.install]); the model is opened on a background thread and every
 * inference runs there too (the SDK is blocking).
 */
public class MainActivity : Activity() {
    /** One background thread: model loading and inference never block the UI. */
    private val worker: ExecutorService = Executors.newSingleThreadExecutor()

    /** Touched only on [worker]. */
    private var model: MobileBertJa? = null
    private var modelEngine: EngineKind? = null

    private lateinit var input: EditText
    private lateinit var useLiteRt: CheckBox
    private lateinit var run: Button
    private lateinit var highlighted: TextView
    private lateinit var details: TextView
    private lateinit var status: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        buildViews()
        run.setOnClickListener { runNer(input.text.toString(), if (useLiteRt.isChecked) EngineKind.LITERT else EngineKind.ONNX) }
        status.text = "Installing the bundle…"
        worker.execute {
            val message = try {
                val t0 = System.nanoTime()
                val bundle = Bundles.install(BundleSource { name -> assets.open("bundle/$name") }, bundleDir())
                "Bundle ready: ${bundle.task.id}, ${bundle.manifest.models.joinToString { "${it.backend} ${it.precision}" }} " +
                    "(${ms(t0)} ms)"
            } catch (e: MbjaException) {
                "Cannot install the bundle: ${e.message}"
            }
            runOnUiThread { status.text = message }
        }
    }

    override fun onDestroy() {
        worker.execute { model?.close(); model = null }
        worker.shutdown()
        super.onDestroy()
    }

    private fun bundleDir(): java.nio.file.Path = File(filesDir, "mbja-bundle").toPath()

    private fun runNer(text: String, engine: EngineKind) {
        run.isEnabled = false
        status.text = "Running…"
        worker.execute {
            val result: Runnable = try {
                val m = modelFor(engine)
                m.ner(text) // warm-up for a fair latency number on the first run
                val t0 = System.nanoTime()
                val entities = m.ner(text)
                val latency = ms(t0)
                Runnable { show(text, entities, "${m.engine.backend} ${m.engine.precision}: $latency ms, ${entities.size} entities") }
            } catch (e: MbjaException) {
                Runnable { status.text = "Error: ${e.message}" }
            }
            runOnUiThread {
                result.run()
                run.isEnabled = true
            }
        }
    }

    /** Opens (or reuses) the model for [engine]; on [worker] only. */
    private fun modelFor(engine: EngineKind): MobileBertJa {
        model?.let { if (modelEngine == engine) return it }
        model?.close()
        model = null
        // verify = false: Bundles.install checked every sha256 when it copied the files.
        val m = MobileBertJa.open(bundleDir(), MobileBertJa.Options(engine = engine, numThreads = 4, verify = false))
        model = m
        modelEngine = engine
        return m
    }

    private fun show(text: String, entities: List<Entity>, summary: String) {
        val marked = SpannableStringBuilder(text)
        for (e in entities) {
            marked.setSpan(BackgroundColorSpan(colorFor(e.type)), e.start, e.end, Spanned.SPAN_EXCLUSIVE_EXCLUSIVE)
        }
        highlighted.text = marked
        val list = SpannableStringBuilder()
        for (e in entities) {
            val from = list.length
            list.append(e.type)
            list.setSpan(BackgroundColorSpan(colorFor(e.type)), from, list.length, Spanned.SPAN_EXCLUSIVE_EXCLUSIVE)
            list.setSpan(StyleSpan(Typeface.BOLD), from, list.length, Spanned.SPAN_EXCLUSIVE_EXCLUSIVE)
            list.append("  ${e.text}  [${e.start}, ${e.end})  ${"%.2f".format(e.score)}\n")
        }
        details.text = if (entities.isEmpty()) "No entities." else list
        status.text = summary
    }

    /** A stable light colour per entity type. */
    private fun colorFor(type: String): Int {
        val hue = ((type.hashCode() % 360) + 360) % 360
        return Color.HSVToColor(floatArrayOf(hue.toFloat(), 0.35f, 1f))
    }

    private fun buildViews() {
        val pad = (16 * resources.displayMetrics.density).toInt()
        val column = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(pad, pad, pad, pad)
        }
        input = EditText(this).apply {
            setText(SAMPLE)
            minLines = 3
        }
        useLiteRt = CheckBox(this).apply { text = "LiteRT (model.tflite) instead of ONNX Runtime" }
        run = Button(this).apply { text = "NER" }
        highlighted = TextView(this).apply {
            textSize = 20f
            setPadding(0, pad, 0, pad)
            setTextIsSelectable(true)
        }
        details = TextView(this).apply { textSize = 15f }
        status = TextView(this).apply {
            textSize = 13f
            setPadding(0, pad, 0, 0)
        }
        for (v in listOf(input, useLiteRt, run, highlighted, details, status)) column.addView(v)
        setContentView(ScrollView(this).apply { addView(column) })
    }

    private companion object {
        const val SAMPLE = "レッドフォックス株式会社は東京都千代田区にある。山田太郎は大阪大学を卒業した。"

        fun ms(t0: Long): Long = (System.nanoTime() - t0) / 1_000_000
    }
}
