"""The module both exporters trace: named integer inputs in, the task's single tensor out.

Exporting the bare transformers model would put a ModelOutput (and, for some heads, extra outputs)
in the graph; the wrapper pins the interface the runtimes rely on: input_ids, attention_mask,
token_type_ids -> one output named after the task (logits or last_hidden_state).
"""
from __future__ import annotations

import torch

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


class ExportWrapper(torch.nn.Module):
    def __init__(self, model: torch.nn.Module, output: str, cast_to_long: bool, as_dict: bool = False):
        super().__init__()
        self.model = model
        self.output = output
        # LiteRT wants int32 inputs; embedding lookups in torch need int64.
        self.cast_to_long = cast_to_long
        # litert-torch names outputs after dict keys (else "output_0"); ONNX takes output_names.
        self.as_dict = as_dict

    def forward(self, input_ids, attention_mask, token_type_ids):
        if self.cast_to_long:
            input_ids, attention_mask, token_type_ids = (
                t.to(torch.long) for t in (input_ids, attention_mask, token_type_ids))
        out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids, return_dict=True)
        result = getattr(out, self.output)
        return {self.output: result} if self.as_dict else result


def sample_inputs(batch: int, length: int, dtype=torch.long, vocab_size: int = 100) -> dict:
    """Non-trivial sample inputs (varied ids, a padded tail) so tracing sees a realistic mask."""
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, max(6, vocab_size), (batch, length), generator=g, dtype=torch.long)
    mask = torch.ones((batch, length), dtype=torch.long)
    if length > 2:
        mask[:, -(length // 4):] = 0
    types = torch.zeros((batch, length), dtype=torch.long)
    return {k: v.to(dtype) for k, v in zip(INPUT_NAMES, (ids, mask, types))}
