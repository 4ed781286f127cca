"""Task and architecture registry: what we can export, and how each task's graph looks.

Like optimum's TasksManager, adding a task or an architecture is one registration, and an unknown
name fails with the list of known ones instead of falling through an if-chain. Each task also says
what its output looks like (``output_axes``), so both exporters write the same, true shape into the
manifest (docs/bundle-format.md).
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError


@dataclass(frozen=True)
class Task:
    name: str
    auto_class: str          # transformers Auto* class that loads the head
    output: str              # attribute of the model output we export
    output_axes: tuple       # the output's axes after the batch axis, as the manifest names them
    head_suffixes: tuple     # architecture name suffixes that imply this task
    description: str


TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    TASKS[task.name] = task
    return task


register(Task("token-classification", "AutoModelForTokenClassification", "logits", ("sequence", "labels"),
              ("ForTokenClassification",), "per-token labels, e.g. NER (IOB2)"))
register(Task("sequence-classification", "AutoModelForSequenceClassification", "logits", ("labels",),
              ("ForSequenceClassification",), "one label for a text or text pair"))
register(Task("fill-mask", "AutoModelForMaskedLM", "logits", ("sequence", "vocab"),
              ("ForMaskedLM", "ForPreTraining"), "vocabulary logits at every position ([MASK] filling)"))
register(Task("feature-extraction", "AutoModel", "last_hidden_state", ("sequence", "hidden"),
              ("Model",), "hidden states for embeddings (CLS or mean pooling)"))

#: model_type values whose graphs we export and test (config.model_type).
SUPPORTED_MODEL_TYPES = ("mobilebert", "bert")


def get_task(name: str | Task) -> Task:
    if isinstance(name, Task):
        return name
    try:
        return TASKS[name]
    except KeyError:
        raise UsageError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}") from None


def task_from_architectures(architectures: list[str] | None) -> Task:
    """Infer the task from config.architectures (e.g. MobileBertForTokenClassification)."""
    for arch in architectures or []:
        # Longest suffix first, so "...ForMaskedLM" wins over the bare "Model" suffix.
        for suffix, task in sorted(((s, t) for t in TASKS.values() for s in t.head_suffixes),
                                   key=lambda st: -len(st[0])):
            if arch.endswith(suffix):
                return task
    raise UsageError(
        f"cannot infer the task from architectures={architectures!r}; pass --task "
        f"({' | '.join(TASKS)})"
    )
