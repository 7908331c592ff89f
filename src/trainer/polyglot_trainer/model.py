"""Model setup: base model and tokenizer, LoRA wrapping, and the token-level loss.

The loss runs the decoder, keeps only the hidden states of positions that have a target, and applies the LM head
and cross-entropy to those alone, in chunks recomputed in backward: prompt tokens (often most of a row) never
reach the vocabulary projection, and no (tokens x vocabulary) float32 logits tensor is kept for backward.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from .attention import TRANSFORMERS_NAMES, register_varlen_attention
from .data import IGNORE_INDEX
from .errors import TrainerError

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainerError(f"device {name!r} was asked for but CUDA is not available; use --device cpu "
                           "or install a CUDA build of torch (https://pytorch.org/get-started/locally/)")
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return DTYPES[name]


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as error:
        raise TrainerError(f"cannot load a tokenizer from {path!r} ({error}); pass --model with a model directory "
                           "(make a tiny one with `build-datasets make-tiny-model`)") from error
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(path: str, dtype: torch.dtype, attention: str, device: torch.device):
    from transformers import AutoModelForCausalLM

    if attention == "varlen":
        register_varlen_attention()
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=TRANSFORMERS_NAMES[attention])
    except (OSError, ValueError) as error:
        raise TrainerError(f"cannot load a causal language model from {path!r}: {error}") from error
    model.config.use_cache = False
    return model.to(device)


def apply_lora(model, r: int, alpha: int, dropout: float, target_modules: list[str]):
    """Wrap with peft LoRA and check that some, but not all, parameters train."""
    from peft import LoraConfig, get_peft_model

    targets = "all-linear" if target_modules == ["all-linear"] else target_modules
    lora_config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, bias="none",
                             task_type="CAUSAL_LM")
    try:
        with warnings.catch_warnings():
            # peft <= 0.21 reads transformers' deprecated `is_gradient_checkpointing`; not ours to fix
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            peft_model = get_peft_model(model, lora_config)
    except ValueError as error:
        raise TrainerError(f"lora_target_modules {target_modules}: {error}") from error
    trainable = sum(parameter.numel() for parameter in peft_model.parameters() if parameter.requires_grad)
    total = sum(parameter.numel() for parameter in peft_model.parameters())
    if not 0 < trainable < total:
        raise TrainerError(f"LoRA left {trainable} of {total} parameters trainable; check lora_target_modules")
    return peft_model, trainable, total


def causal_lm_of(model):
    """The transformers *ForCausalLM inside a peft model (LoRA layers injected in place)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


class TokenLoss(nn.Module):
    """forward(input_ids, target_ids, **attention inputs) -> (sum of token losses, number of target tokens)."""

    def __init__(self, model, chunk_tokens: int = 8192):
        super().__init__()
        self.model = model  # registered so DDP/FSDP see the LoRA parameters
        self.chunk_tokens = chunk_tokens

    def forward(self, input_ids: torch.Tensor, target_ids: torch.Tensor, **attention_inputs):
        causal_lm = causal_lm_of(self.model)
        hidden = causal_lm.get_decoder()(input_ids=input_ids, **attention_inputs).last_hidden_state
        selected = target_ids != IGNORE_INDEX
        hidden = hidden[selected]
        targets = target_ids[selected]
        head = causal_lm.get_output_embeddings()
        total = hidden.new_zeros((), dtype=torch.float32)
        for start in range(0, hidden.shape[0], self.chunk_tokens):
            piece = hidden[start:start + self.chunk_tokens]
            piece_targets = targets[start:start + self.chunk_tokens]
            if torch.is_grad_enabled() and piece.requires_grad:
                total = total + checkpoint(_head_loss, head, piece, piece_targets, use_reentrant=False)
            else:
                total = total + _head_loss(head, piece, piece_targets)
        return total, targets.numel()


def _head_loss(head: nn.Module, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(head(hidden).float(), targets, reduction="sum")
