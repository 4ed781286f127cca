"""`mbja-build`: command-line face of the toolchain. Arguments map to one library call each.

Exit codes scripts can trust: 0 success, 1 conversion/verification failure, 2 usage error
(bad option, unusable checkpoint, unwritable --out). Errors are one line on stderr, no traceback.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from mbja_runtime.cli import package_version
from mbja_runtime.errors import MbjaError

from .bench.run import DEFAULT_BUCKETS as BENCH_BUCKETS
from .bench.shapes import TWINS as BENCH_TWINS
from .bench.variants import VARIANTS as BENCH_VARIANTS
from .build import DEFAULT_BUCKETS, TARGETS
from .errors import BuildError, describe
from .progress import VERBOSE_ENV, Steps, library_output_to_log
from .quantize import PRECISIONS
from .tasks import TASKS

BUILD_HELP = """Convert a MobileBERT/BERT checkpoint into an on-device bundle.

\b
Without --model, builds the embedded demo (a small Japanese NER MobileBERT trained
on Stockmark's Wikipedia NER data), fully offline.

\b
Examples:
  mbja-build --target tflite
  mbja-build --target all --quantize dynamic-int8 --out dist/demo
  mbja-build --target tflite --quantize static-int8 --out dist/demo-npu
  mbja-build --model ./my-finetuned-ner --target onnx --out dist-ner/
  mbja-build --model ysakuramoto/mobilebert-ja --task fill-mask --target all --out dist/
"""


GROUP_HELP = BUILD_HELP + """
\b
The build is also `mbja-build build [OPTIONS]`; the other commands (verify, bench, vectors, ...)
are listed below, each with its own --help. --quiet and --verbose go before the command.
"""


#: The build's options, shared by the group (``mbja-build [OPTIONS]``, the original form) and the
#: ``build`` subcommand.
BUILD_OPTIONS = (
    click.option("--model", metavar="ID|DIR", help="Hub id or local checkpoint directory (default: the demo)."),
    click.option("--task", type=click.Choice(list(TASKS)), help="What the checkpoint does (default: inferred "
                 "from config.architectures)."),
    click.option("--target", type=click.Choice(list(TARGETS)), default="all", show_default=True,
                 help="Model formats to write."),
    click.option("--quantize", type=click.Choice(list(PRECISIONS)), default="none", show_default=True,
                 help="Post-training quantization. static-int8: int8 weights and activations calibrated on "
                 "--calibration texts, for NPU/DSP delegates (TFLite only: ONNX gets dynamic-int8; on a CPU "
                 "dynamic-int8 is faster). fp16: TFLite only."),
    click.option("--max-length", type=int, metavar="N", help="Longest input in tokens (default: the model's max "
                 "positions)."),
    click.option("--buckets", metavar="L1,L2,..", help="Ascending sequence lengths, one TFLite signature each "
                 f"[default: {','.join(map(str, DEFAULT_BUCKETS))} capped at --max-length]."),
    click.option("--out", type=click.Path(path_type=Path), metavar="DIR",
                 help="Bundle directory, written atomically (default: dist/<model name>)."),
    click.option("--verify/--no-verify", default=True, show_default=True,
                 help="Check the bundle against PyTorch on real text before writing it (see `mbja-build verify`)."),
    click.option("--texts", "texts_file", type=click.Path(path_type=Path), metavar="FILE",
                 help="Texts for the verification, one per line (default: 200 sentences of Stockmark's NER set)."),
    click.option("--prune-heads", type=float, metavar="FRACTION",
                 help="Drop this fraction (0-1) of attention heads, least important first (Michel et al. 2019)."),
    click.option("--calibration", "calibration_file", type=click.Path(path_type=Path), metavar="FILE",
                 help="Texts, one per line, that calibrate --quantize static-int8, judge the int8 repair and "
                 "rank the heads for --prune-heads (default: 200 training-split sentences of Stockmark's NER "
                 "set, none of which --verify uses)."),
    click.option("--repair/--no-repair", default=True, show_default=True,
                 help="int8: measure against fp32 on the --calibration texts (one by one and joined into long "
                 "inputs) and, below --int8-target, repair (migrate outlier residual channels; static int8: "
                 "float attention core; then keep the most damaged matmuls in float) until it reaches it; "
                 "short of it, keep the best attempt that meets verify's 99 % bar, else fail with every "
                 "attempt's numbers. --no-repair quantizes once and lets --verify judge."),
    click.option("--int8-target", type=float, metavar="SHARE",
                 help="Decisive argmax agreement with fp32 the int8 repair aims at [default: 0.999; healthy "
                 "int8 of the demo reaches 0.9999]."),
)
OUTPUT_OPTIONS = (
    click.option("--quiet", "-q", is_flag=True, help="No step lines on stderr: warnings, errors and the result only."),
    click.option("--verbose", "-v", is_flag=True, help="Let torch, litert-torch, onnxruntime and TFLite print their "
                 "own warnings, logs and progress bars (hidden by default; MBJA_DEBUG=1 also shows tracebacks)."),
)


def _with(options):
    def decorate(f):
        for option in reversed(options):
            f = option(f)
        return f
    return decorate


@click.group(invoke_without_command=True, help=GROUP_HELP,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_version(), "--version", prog_name="mbja-build", message="%(prog)s %(version)s")
@_with(BUILD_OPTIONS)
@_with(OUTPUT_OPTIONS)
@click.pass_context
def cli(ctx, quiet, verbose, **build):
    ctx.obj = {"quiet": quiet}
    if verbose:
        os.environ[VERBOSE_ENV] = "1"   # also for the bench's worker processes
    if ctx.invoked_subcommand is None:
        _build(ctx.obj, **build)
        return
    # `mbja-build --target onnx verify ...` used to drop --target silently
    from click.core import ParameterSource

    given = [f"--{name.replace('_', '-')}" for name in build
             if ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)]
    if given and ctx.invoked_subcommand != "build":
        raise click.UsageError(f"{', '.join(given)} belong(s) to the build, not to `mbja-build "
                               f"{ctx.invoked_subcommand}`: see `mbja-build {ctx.invoked_subcommand} --help`")
    if given:
        raise click.UsageError(f"put {', '.join(given)} after `build`: `mbja-build build {' '.join(given)} ...`")


@cli.command("build", help=BUILD_HELP.replace("mbja-build --", "mbja-build build --"))
@_with(BUILD_OPTIONS)
@_with(OUTPUT_OPTIONS)
@click.pass_obj
def build_command(obj, quiet, verbose, **build):
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
    _build({**obj, "quiet": obj["quiet"] or quiet}, **build)


def _build(obj, model, task, target, quantize, max_length, buckets, out, verify, texts_file, prune_heads,
           calibration_file, repair, int8_target):
    from .build import BuildOptions, build_bundle, validate_options

    quiet = obj["quiet"]
    texts = None
    if texts_file is not None:
        from .verify import read_texts

        texts = read_texts(texts_file)
    calibration = None
    if calibration_file is not None:
        from .verify import read_texts

        calibration = read_texts(calibration_file, option="--calibration")
    opts = BuildOptions(model=model, task=task, target=target, quantize=quantize,
                        max_length=max_length, buckets=buckets, out=out, verify=verify, verify_texts=texts,
                        prune_heads=prune_heads, calibration=calibration, repair=repair, int8_target=int8_target)
    validate_options(opts)
    from .build import planned_steps

    with library_output_to_log("mbja-build") as err, \
            Steps("mbja-build", planned_steps(opts), err, quiet=quiet) as steps:
        path, manifest = build_bundle(opts, progress=steps.step, warn=lambda m: steps.note(f"warning: {m}"),
                                      detail=steps.detail)
    models = ", ".join(f"{m['file']} ({m['precision']})" for m in manifest["models"])
    click.echo(f"bundle written to {path}: {manifest['task']}, {models}, buckets {manifest['buckets']}")
    for m in manifest["models"]:
        if m.get("int8"):
            from .repair import summary as repair_summary

            click.echo(f"{m['file']}: {repair_summary(m['int8'])}")
    if manifest.get("verify"):
        from .verify import summary

        report = json.loads((Path(path) / manifest["verify"]).read_text(encoding="utf-8"))
        click.echo(f"verified against PyTorch on {report['texts']} texts ({manifest['verify']}):\n{summary(report)}")


@cli.command("verify")
@click.option("--bundle", type=click.Path(path_type=Path), required=True, metavar="DIR", help="Bundle to check.")
@click.option("--model", metavar="ID|DIR", help="PyTorch checkpoint to compare with (default: the bundle's source).")
@click.option("--texts", "texts_file", type=click.Path(path_type=Path), metavar="FILE",
              help="UTF-8 texts, one per line (default: 200 unseen sentences of Stockmark's NER set).")
@click.option("--backend", "backends", multiple=True, type=click.Choice(["onnx", "tflite"]),
              help="Check only this backend (repeatable; default: every model in the bundle).")
@click.option("--write/--no-write", default=True, show_default=True,
              help="Store the report in the bundle as verify.json (listed in the manifest).")
@click.pass_obj
def verify_cmd(obj, bundle, model, texts_file, backends, write):
    """Prove a bundle reproduces its PyTorch checkpoint on real text.

    \b
    Reports, per backend: input_ids equality of the device tokenizer with transformers'
    BertJapaneseTokenizer, max abs / relative logit difference, cosine, argmax agreement, and
    NER-entity / label agreement with transformers' pipeline. Exit 1 when a backend misses a
    threshold: fp32 within 1e-4 (absolute or relative to the logit scale) and 99 % task agreement;
    dynamic-int8, static-int8 and fp16 99 % argmax agreement on the decisive positions (fp32's
    top-1 beats the runner-up by >= 0.1; with none, min cosine >= 0.99).

    \b
    Example:
      mbja-build verify --bundle dist/demo
      mbja-build verify --bundle dist/ner --model ./my-finetuned-ner --texts my-texts.txt
    """
    from mbja_runtime.bundle import read_manifest

    from .quiet import quiet_libraries
    from .verify import read_texts, verify_bundle

    manifest = read_manifest(bundle)
    texts = read_texts(texts_file) if texts_file is not None else None
    quiet_libraries()
    shown = []   # printed once stdout is ours again, before a failure's error line
    n = 1 + len([m for m in manifest["models"] if not backends or m["backend"] in backends])
    try:
        with library_output_to_log("mbja-build verify") as err, \
                Steps("mbja-build verify", n, err, quiet=obj["quiet"]) as steps:
            verify_bundle(bundle, model, texts, list(backends) or None, write=write, show=shown.append,
                          progress=steps.step)
    finally:
        for text in shown:
            click.echo(text)


@cli.command("demo-train")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Checkpoint directory to write.")
@click.option("--data", type=click.Path(path_type=Path), help="ner.json or ner.json.gz [default: $MBJA_NER_JSON, else the copy shipped in the package].")
@click.option("--epochs", default=30, show_default=True)
@click.option("--seed", default=0, show_default=True)
def demo_train(out, data, epochs, seed):
    """Rebuild the demo checkpoint: WordPiece vocab + MobileBERT NER, fixed seeds, CPU (~40 min on 2 cores)."""
    from .demo.train import train

    metrics = train(out, data_path=data, epochs=epochs, seed=seed, log=lambda s: click.echo(s, err=True))
    click.echo(f"entity F1 {metrics['f1']:.4f} on {metrics['test_sentences']} test sentences -> {out}")


@cli.command("outlier-twin")
@click.option("--model", metavar="DIR", help="MobileBERT token-classification checkpoint [default: the demo].")
@click.option("--out", type=click.Path(path_type=Path), required=True, metavar="DIR", help="Checkpoint directory to write.")
@click.option("--channels", type=click.IntRange(1), default=3, show_default=True, help="Residual channels to scale.")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=100.0, show_default=True,
              help="Factor those channels carry (10-1000: the range real MobileBERT checkpoints show).")
@click.option("--seed", default=0, show_default=True, help="Which channels (seeded choice).")
def outlier_twin(model, out, channels, scale, seed):
    """Write a checkpoint with the same fp32 function but real MobileBERT's int8 trouble.

    \b
    A few residual-stream channels carry --scale times their values (every reader's weights
    divided by it, so the logits do not change): the huge NoNorm activations of real checkpoints
    that broke int8 in the wild (tensorflow#44306). Build it to see what plain int8 and the
    accuracy-driven repair do:
      mbja-build outlier-twin --scale 1000 --out /tmp/twin
      mbja-build --model /tmp/twin --quantize dynamic-int8 --out /tmp/twin-bundle
    """
    from .bundle import check_output_dir, staging_dir
    from .demo import CHECKPOINT_DIR
    from .quiet import quiet_libraries
    from .residual_scale import write_outlier_twin

    check_output_dir(out)
    src = Path(model) if model else CHECKPOINT_DIR
    if not (src / "config.json").is_file():
        raise click.BadParameter(f"{src} has no config.json", param_hint="--model")
    quiet_libraries()
    with library_output_to_log("mbja-build outlier-twin"), staging_dir(out) as tmp:
        write_outlier_twin(src, tmp, channels, scale, seed)
    click.echo(f"outlier twin of {model or 'the demo'} written to {out}: {channels} residual channel(s) x{scale:g}")


@cli.command("dictionary")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Directory to write.")
def dictionary(out):
    """Compile the installed unidic-lite into the device dictionary format (docs/dictionary-format.md).

    Every bundle already contains one (dictionary/); this writes it alone, e.g. to ship it once
    for several models.
    """
    from .bundle import check_output_dir, staging_dir
    from .dictionary import measure_sizes, write_dictionary

    check_output_dir(out)
    with staging_dir(out) as tmp:
        write_dictionary(tmp)
    sizes = measure_sizes(out)
    click.echo(f"dictionary written to {out}: {json.dumps(sizes)}")


@cli.command("vectors")
@click.option("--bundle", type=click.Path(path_type=Path), required=True, metavar="DIR",
              help="Bundle to take the vectors from (the Kotlin tests run the same bundle).")
@click.option("--out", type=click.Path(path_type=Path), metavar="DIR",
              help="Where to write them [default: vectors/ at the repository root, which every runtime's tests read].")
@click.option("--model-only", is_flag=True, help="Only the model outputs (model_<task>.json.gz), e.g. of a "
              "repaired int8 bundle for the Kotlin tests; needs --out.")
def vectors(bundle, out, model_only):
    """Write the shared test vectors the Kotlin SDK's and the TypeScript runtime's tests compare against.

    Token ids and offsets for every ner.json sentence and the adversarial set; logits and decoded
    results for a sample. Regenerate, never edit by hand: tests/test_vectors.py checks they are current.
    """
    from mbja_runtime.bundle import read_manifest

    from .vectors import DEFAULT_OUT, write_vectors

    read_manifest(bundle)
    if model_only and out is None:
        raise click.BadParameter("--model-only writes beside the committed vectors only with --out", param_hint="--out")
    written = write_vectors(bundle, out or DEFAULT_OUT, model_only=model_only)
    click.echo(f"{len(written)} vector files written to {out or DEFAULT_OUT}")


@cli.command("bench")
@click.option("--model", metavar="ID|DIR|demo", help="Trained NER checkpoint measured as the 'demo' shape, with F1 "
              "[default: the embedded demo]. E.g. a local fine-tune of ysakuramoto/mobilebert-ja, or a Hub id.")
@click.option("--shapes", default="demo", show_default=True, metavar="S1,S2",
              help="demo (the --model checkpoint, trained), mobilebert-full (random weights, 24 layers, hidden 512, "
              "embedding 128, vocab 32768), bert-base (random weights, 12 layers, hidden 768); "
              "the outlier twins (3 residual channels x100 or x1000, same fp32 function): "
              + ", ".join(BENCH_TWINS) + ".")
@click.option("--variants", metavar="V1,SHAPE/V2,..", help=", ".join(BENCH_VARIANTS) + " or all, for every "
              "shape; SHAPE/NAME for one shape only, e.g. bert-base/pytorch-fp32 [default: all].")
@click.option("--limit", type=int, metavar="N", help="First N sentences of the 2,140-sentence test split [default: all].")
@click.option("--threads", default=1, show_default=True, help="Intra-op threads of every backend (reported).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("dist/bench"), show_default=True, metavar="DIR",
              help="Where bench.md, bench.json, latencies.json and bench.png go.")
@click.option("--work", type=click.Path(path_type=Path), metavar="DIR",
              help="Checkpoints, bundles and worker logs [default: DIR/work].")
@click.option("--reuse", is_flag=True, help="Keep bundles already built in the work directory instead of rebuilding.")
@click.option("--buckets", default=BENCH_BUCKETS, show_default=True, metavar="L1,L2,..",
              help="TFLite length buckets of the built bundles, capped at the model's positions (the test "
              "split's longest sentence: 201 tokens).")
@click.option("--warmup", default=5, show_default=True, help="Untimed sentences per variant after loading.")
@click.option("--chunk", default=20, show_default=True, help="Sentences per turn when variants take turns.")
@click.option("--data", type=click.Path(path_type=Path), metavar="FILE",
              help="ner.json or ner.json.gz whose fixed test split is timed and scored "
              "[default: $MBJA_NER_JSON, else the copy shipped in the package].")
@click.option("--compute-limit", "compute_limit", type=int, metavar="L",
              help="Also time each TFLite int8 bundle's seq_L signature alone against its multiply-accumulates "
                   "at the CPU's limit (the best GEMM rate measured here: XNNPACK and ONNX Runtime, int8 and "
                   "fp32), XNNPACK int8's own peak and its own GEMMs (L must be a bucket).")
@click.option("--compute-rounds", type=click.IntRange(1), default=30, show_default=True,
              help="Alternating timing rounds of --compute-limit.")
@click.pass_obj
def bench(obj, model, shapes, variants, limit, threads, out, work, reuse, buckets, warmup, chunk, data, compute_limit,
          compute_rounds):
    """Time NER end to end, one sentence at a time, like the seed's table; write Markdown, JSON and a chart.

    \b
    Every variant (PyTorch fp32 of the checkpoint, and bundles built here: ONNX fp32/int8,
    TFLite fp32/fp16/int8/static int8) runs in its own process over the same test sentences: tokenize +
    infer + decode, per sentence. Reported: total seconds, p50/p90 ms, model size on disk, peak
    resident memory, load time, and entity exact-match F1 (trained weights only: random-weight
    shapes are for timing and say so). The variants take turns in chunks, so a noisy machine
    slows all of them alike: compare the ratio columns, which all come from this one run.

    \b
    Examples:
      mbja-build bench --threads 1 --out dist/bench                 # the demo, all variants, n=2,140
      mbja-build bench --shapes mobilebert-full,bert-base --limit 200 \\
          --variants mobilebert-full/all,bert-base/pytorch-fp32          # full-size timing, no Hub needed
      mbja-build bench --model ./my-mobilebert-ja-ner --shapes demo,bert-base   # your fine-tune (dir or Hub id)
      mbja-build bench --shapes mobilebert-full --variants tflite-int8 --limit 20 --compute-limit 128
                                                            # how far from the CPU's int8 MAC rate
    """
    import shlex

    from .bench import BenchOptions, run_bench
    from .bench.report import markdown, write

    opts = BenchOptions(model=model, shapes=shapes, variants=variants, limit=limit, threads=threads, out=out,
                        work=work, reuse=reuse, buckets=buckets, warmup=warmup, chunk=chunk, data=data,
                        compute_limit=compute_limit, compute_rounds=compute_rounds,
                        command="mbja-build " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["bench"]
                        else "mbja-build bench")
    with library_output_to_log("mbja-build bench") as err, \
            Steps("mbja-build bench", stream=err, quiet=obj["quiet"], live=False) as steps:
        result = run_bench(opts, log=lambda s: None if obj["quiet"] else steps.note(s))
    paths = write(result, Path(out))
    click.echo(markdown(result))
    click.echo("written: " + ", ".join(str(p) for p in paths.values()))


def main(argv=None) -> int:
    try:
        cli.main(args=argv, prog_name="mbja-build", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:  # pragma: no cover - not used by our commands
        click.echo(e.format_message(), err=True)
        return 2
    except click.ClickException as e:
        click.echo(f"mbja-build: error: {e.format_message()}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("mbja-build: aborted", err=True)
        return 130
    except BuildError as e:
        click.echo(f"mbja-build: error: {e}", err=True)
        return e.exit_code
    except MbjaError as e:  # an unusable bundle given to verify/vectors
        click.echo(f"mbja-build: error: {e}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("mbja-build: interrupted", err=True)
        return 130
    except Exception as e:  # a converter crashed: still one line; MBJA_DEBUG=1 shows the traceback
        if os.environ.get("MBJA_DEBUG"):
            raise
        click.echo(f"mbja-build: error: {describe(e)} (set MBJA_DEBUG=1 for the traceback)", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
