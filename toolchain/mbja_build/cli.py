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

from .errors import BuildError

BUILD_HELP = """Convert a MobileBERT/BERT checkpoint into an on-device bundle.

\b
Without --model, builds the embedded demo (a small Japanese NER MobileBERT trained
on Stockmark's Wikipedia NER data), fully offline.

\b
Examples:
  mbja-build --target tflite
  mbja-build --target all --quantize dynamic-int8 --out dist/demo
  mbja-build --model ./my-finetuned-ner --target onnx --out dist-ner/
  mbja-build --model ysakuramoto/mobilebert-ja --task fill-mask --target all --out dist/
"""


@click.group(invoke_without_command=True, help=BUILD_HELP,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--model", metavar="ID|DIR", help="Hub id or local checkpoint directory (default: the demo).")
@click.option("--task", metavar="TASK", help="token-classification | sequence-classification | fill-mask | "
              "feature-extraction (default: inferred from config.architectures).")
@click.option("--target", default="all", show_default=True, metavar="onnx|tflite|all", help="Model formats to write.")
@click.option("--quantize", default="none", show_default=True, metavar="none|dynamic-int8|fp16",
              help="Post-training quantization (fp16: TFLite only).")
@click.option("--max-length", type=int, metavar="N", help="Longest input in tokens (default: the model's max positions).")
@click.option("--buckets", metavar="L1,L2,..", help="Ascending sequence lengths, one TFLite signature each "
              "[default: 32,64,128,256,512 capped at --max-length].")
@click.option("--out", type=click.Path(path_type=Path), metavar="DIR",
              help="Bundle directory, written atomically (default: dist/<model name>).")
@click.pass_context
def cli(ctx, model, task, target, quantize, max_length, buckets, out):
    if ctx.invoked_subcommand is not None:
        return
    from .build import BuildOptions, build_bundle, validate_options

    opts = BuildOptions(model=model, task=task, target=target, quantize=quantize,
                        max_length=max_length, buckets=buckets, out=out)
    validate_options(opts)
    from tqdm import tqdm

    from .build import planned_steps

    bar = tqdm(total=planned_steps(opts), desc="mbja-build", unit="step", file=sys.stderr,
               bar_format="{desc} [{n_fmt}/{total_fmt}] {postfix} ({elapsed})", disable=None)

    def progress(msg):
        bar.set_postfix_str(msg)
        bar.update(1)

    def warn(msg):
        bar.write(f"mbja-build: warning: {msg}", file=sys.stderr)

    try:
        path, manifest = build_bundle(opts, progress=progress, warn=warn)
    finally:
        bar.close()
    models = ", ".join(f"{m['file']} ({m['precision']})" for m in manifest["models"])
    click.echo(f"bundle written to {path}: {manifest['task']}, {models}, buckets {manifest['buckets']}")


@cli.command("demo-train")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Checkpoint directory to write.")
@click.option("--data", type=click.Path(path_type=Path), help="ner.json (default: shared/data/ner.json above cwd).")
@click.option("--epochs", default=30, show_default=True)
@click.option("--seed", default=0, show_default=True)
def demo_train(out, data, epochs, seed):
    """Rebuild the demo checkpoint: WordPiece vocab + MobileBERT NER, fixed seeds, CPU (~30 min)."""
    from .demo.train import train

    metrics = train(out, data_path=data, epochs=epochs, seed=seed, log=lambda s: click.echo(s, err=True))
    click.echo(f"entity F1 {metrics['f1']:.4f} on {metrics['test_sentences']} test sentences -> {out}")


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
    except KeyboardInterrupt:
        click.echo("mbja-build: interrupted", err=True)
        return 130
    except Exception as e:  # a converter crashed: still one line; MBJA_DEBUG=1 shows the traceback
        if os.environ.get("MBJA_DEBUG"):
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        click.echo(f"mbja-build: error: {type(e).__name__}: {first} (set MBJA_DEBUG=1 for the traceback)", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
