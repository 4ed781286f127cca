"""Resolve --model (demo, local directory or Hub id) into a loaded model plus its tokenizer settings.

Loading goes through transformers' normal code, so a Hub id works exactly as it does for
`from_pretrained` when the network is there; when it is not, the user gets one line that says so
and what to do instead.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from mbja_runtime.tokenize.tokenizer import DEFAULTS as TOKENIZER_DEFAULTS
from mbja_runtime.tokenize.tokenizer import SUPPORTED as TOKENIZER_SUPPORTED

from .errors import BuildError, UsageError
from .tasks import SUPPORTED_MODEL_TYPES, Task, get_task, task_from_architectures

#: The seed model card tells users to take the tokenizer from here when a checkpoint has none.
FALLBACK_TOKENIZER_REPO = "cl-tohoku/bert-large-japanese"
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")

#: What the on-device tokenizer implements: the runtime's own definition (the only settings it
#: accepts), so the build can refuse a checkpoint before converting anything.
DEFAULT_TOKENIZER = {**TOKENIZER_SUPPORTED, **TOKENIZER_DEFAULTS}


@dataclass
class Checkpoint:
    source: str                    # --model as given ("demo" for the embedded default)
    task: Task
    model: object                  # a transformers PreTrainedModel in eval mode
    config: object
    vocab: list[str]
    tokenizer: dict
    notice: str | None = None      # licence notice that must travel with derived bundles
    warnings: list[str] = field(default_factory=list)

    @property
    def id2label(self) -> dict[int, str] | None:
        if self.task.name in ("token-classification", "sequence-classification"):
            labels = {int(k): v for k, v in self.config.id2label.items()}
            if sorted(labels) != list(range(len(labels))):
                raise UsageError(f"config.json's id2label must name the ids 0..n-1, not {sorted(labels)[:10]}: "
                                 "every runtime reads labels by output index")
            return labels
        return None


def _offline_hint(model: str) -> str:
    return (f"cannot load {model!r} from the Hugging Face Hub (offline or unreachable); "
            "pass a local checkpoint directory (--model ./dir) or omit --model to build the demo")


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or os.sep in model and not HUB_ID.match(model) or Path(model).exists()


def _hub_file(repo: str, name: str) -> str | None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return hf_hub_download(repo, name)
    except EntryNotFoundError:
        return None
    except Exception as e:  # offline, DNS, auth: all mean "can't get it"
        raise BuildError(_offline_hint(repo) + f" ({type(e).__name__})") from None


def resolve_source(model: str | None) -> tuple[str, str]:
    """(label for the manifest, what to pass to from_pretrained)."""
    if model is None:
        from .demo import CHECKPOINT_DIR

        return "demo", str(CHECKPOINT_DIR)
    if _looks_like_path(model):
        p = Path(model).expanduser()
        if not p.exists():
            raise UsageError(f"model directory not found: {model}")
        if not p.is_dir():
            raise UsageError(f"--model must be a checkpoint directory or a Hub id, got a file: {model}")
        if not any(p.iterdir()):
            raise UsageError(f"model directory is empty: {model}")
        if not (p / "config.json").is_file():
            raise UsageError(f"no config.json in model directory {model} (is it a transformers checkpoint?)")
        return model, str(p)
    if not HUB_ID.match(model):
        raise UsageError(f"--model {model!r} is neither an existing directory nor a Hub id (owner/name)")
    return model, model


def _read_file(location: str, name: str, is_local: bool) -> str | None:
    if is_local:
        p = Path(location) / name
        return str(p) if p.is_file() else None
    return _hub_file(location, name)


def tokenizer_settings(location: str, is_local: bool, warnings: list[str]) -> tuple[dict, list[str]]:
    """Tokenizer settings and vocabulary, refusing any tokenizer the device can't mirror."""
    settings = dict(DEFAULT_TOKENIZER)
    cfg_file = _read_file(location, "tokenizer_config.json", is_local)
    vocab_file = _read_file(location, "vocab.txt", is_local)
    if cfg_file is None and vocab_file is None:
        warnings.append(f"checkpoint has no tokenizer files; using {FALLBACK_TOKENIZER_REPO}'s "
                        "(MeCab + unidic-lite + WordPiece, no lower-casing) as the model card instructs")
        vocab_file = _hub_file(FALLBACK_TOKENIZER_REPO, "vocab.txt")
    if cfg_file is not None:
        try:
            cfg = json.loads(Path(cfg_file).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise UsageError(f"unreadable tokenizer_config.json: {e}") from None
        cls = cfg.get("tokenizer_class")
        if cls not in (None, "BertJapaneseTokenizer"):
            raise UsageError(f"unsupported tokenizer {cls!r}: the on-device tokenizer mirrors "
                             "BertJapaneseTokenizer (MeCab + WordPiece) only")
        word = cfg.get("word_tokenizer_type", "mecab")
        sub = cfg.get("subword_tokenizer_type", "wordpiece")
        dic = (cfg.get("mecab_kwargs") or {}).get("mecab_dic", "unidic_lite")
        if (word, sub, dic) != ("mecab", "wordpiece", "unidic_lite"):
            raise UsageError(f"unsupported tokenizer settings word={word} subword={sub} mecab_dic={dic}; "
                             "supported: mecab + unidic_lite + wordpiece")
        if cfg.get("do_lower_case"):
            raise UsageError("tokenizer_config.json sets do_lower_case: true, but the on-device tokenizers "
                             "never lower-case (cl-tohoku/bert-large-japanese's setting): the device would "
                             "produce other token ids than training did. If the flag is wrong, set it to "
                             "false; if the model was trained lower-cased, it cannot be bundled")
        for key in ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
            if isinstance(cfg.get(key), str):
                settings[key] = cfg[key]
    if vocab_file is None:
        raise UsageError("checkpoint has a tokenizer_config.json but no vocab.txt")
    vocab = Path(vocab_file).read_text(encoding="utf-8").split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    missing = [settings[k] for k in ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
               if settings[k] not in vocab]
    if missing:
        raise UsageError(f"vocab.txt lacks special tokens {missing}")
    return settings, vocab


def load_checkpoint(model: str | None, task: str | None = None) -> Checkpoint:
    label, location = resolve_source(model)
    is_local = Path(location).is_dir()
    import transformers

    try:
        config = transformers.AutoConfig.from_pretrained(location)
    except OSError as e:
        if is_local:
            raise UsageError(f"cannot read the checkpoint config in {location}: {e}") from None
        raise BuildError(_offline_hint(location)) from None
    except ValueError as e:  # unknown model_type
        raise UsageError(f"unsupported checkpoint: {e}".splitlines()[0]) from None
    if config.model_type not in SUPPORTED_MODEL_TYPES:
        raise UsageError(f"unsupported architecture model_type={config.model_type!r} "
                         f"({', '.join(config.architectures or [])}); supported: {', '.join(SUPPORTED_MODEL_TYPES)}")
    task_obj = get_task(task) if task else task_from_architectures(config.architectures)
    warnings: list[str] = []
    settings, vocab = tokenizer_settings(location, is_local, warnings)
    if len(vocab) > config.vocab_size:
        raise UsageError(f"vocab.txt has {len(vocab)} tokens but the model embeds only {config.vocab_size}")
    auto = getattr(transformers, task_obj.auto_class)
    try:
        model_obj, loading = auto.from_pretrained(location, output_loading_info=True)
    except OSError as e:
        if is_local:
            raise UsageError(f"cannot load weights from {location}: {str(e).splitlines()[0]}") from None
        raise BuildError(_offline_hint(location)) from None
    except ValueError as e:
        raise UsageError(f"checkpoint does not fit task {task_obj.name}: {str(e).splitlines()[0]}") from None
    _check_head(task_obj, config, loading.get("missing_keys") or (), warnings)
    model_obj.eval()
    notice = None
    if is_local:
        for name in ("NOTICE", "LICENSE", "LICENSE.md"):
            if (Path(location) / name).is_file():
                notice = (Path(location) / name).read_text(encoding="utf-8")
                break
    settings["model_max_length"] = int(config.max_position_embeddings)
    return Checkpoint(label, task_obj, model_obj, config, vocab, settings, notice, warnings)


def _check_head(task, config, missing, warnings: list[str]) -> None:
    """Refuse a checkpoint that lacks weights of the exported graph (``--task fill-mask`` on a NER
    checkpoint): transformers fills them at random with a log line the build hides, verify cannot
    see it (PyTorch has the same random head), and the bundle would output noise. The pooler is
    exempt except for sequence-classification, the one head that reads it. A head that loads but
    was trained for another task is a warning."""
    try:
        trained_for = task_from_architectures(config.architectures).name
    except UsageError:
        trained_for = None
    arch = ", ".join(config.architectures or []) or "no architectures"
    random = sorted(k for k in missing if "pooler." not in k or task.name == "sequence-classification")
    if random:
        hint = f"; build it with --task {trained_for}" if trained_for and trained_for != task.name else ""
        raise UsageError(f"the checkpoint ({arch}) has no weights for {len(random)} tensor(s) of a {task.name} "
                         f"model (e.g. {', '.join(random[:3])}); transformers would initialise them at random, so "
                         f"the bundle would output noise{hint}")
    if trained_for and trained_for != task.name and task.name != "feature-extraction":
        warnings.append(f"the checkpoint was trained as {arch} ({trained_for}); its weights fit the "
                        f"{task.name} head you asked for, but check that its labels mean what {task.name} needs")
