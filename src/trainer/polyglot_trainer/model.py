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


def check_model_path(path: str) -> None:
    """A path that looks local but is missing is reported as such (not as a bad hub repo id)."""
    from pathlib import Path

    local = Path(path)
    looks_local = path.startswith((".", "/", "~")) or path.count("/") > 1 or local.exists()
    if looks_local and not local.is_dir():
        raise TrainerError(f"model folder not found: {path}; pass --model with a local model directory (config.json, "
                           "*.safetensors, tokenizer files) or a Hugging Face hub id such as mistralai/Mixtral-8x7B-v0.1 "
                           "(make a tiny local one with `build-datasets make-tiny-model`)")
    if local.is_dir() and not (local / "config.json").is_file() and not (local / "tokenizer_config.json").is_file():
        raise TrainerError(f"{path} is not a model directory (no config.json); pass the folder that holds the "
                           "model's config.json, weights and tokenizer")


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    check_model_path(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as error:
        raise TrainerError(f"cannot load a tokenizer from {path!r} ({error}); pass --model with a model directory "
                           "(make a tiny one with `build-datasets make-tiny-model`)") from error
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model_config(path: str):
    from transformers import AutoConfig

    check_model_path(path)
    try:
        return AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as error:
        raise TrainerError(f"cannot read the model config of {path!r}: {error}") from error


def merge_adapter(base: str, adapter: str, out: str, dtype: torch.dtype | None = None) -> None:
    """Write base weights with a trained adapter merged in (loaded on the CPU, one process)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base, **({"dtype": dtype} if dtype is not None else {}))
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    merged.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(adapter).save_pretrained(out)


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


ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")
EXPERT_PARAMETERS = ("gate_up_proj", "down_proj")  # transformers 5's fused expert weights


def is_mixture_of_experts(model) -> bool:
    config = getattr(model, "config", None)
    return bool(getattr(config, "num_local_experts", 0) or getattr(config, "num_experts", 0))


def resolve_lora_targets(model, target_modules: list[str]) -> tuple[str | list[str], list[str]]:
    """(target_modules, target_parameters) for peft.

    Dense models: "all-linear" is every linear layer but the LM head. Mixture-of-experts models: "all-linear" is
    the attention projections only (peft's all-linear would also adapt the router and wrap every expert);
    "experts" in the list adds LoRA to the fused expert weights; the router ("gate") only when named.
    """
    moe = is_mixture_of_experts(model)
    names = [name for name in target_modules if name != "experts"]
    parameters: list[str] = []
    if "experts" in target_modules:
        if not moe:
            raise TrainerError("lora_target_modules: 'experts' applies to mixture-of-experts models only")
        present = {name.rsplit(".", 1)[-1] for name, _ in model.named_parameters() if ".experts." in name}
        parameters = [f"experts.{name}" for name in EXPERT_PARAMETERS if name in present]
        if not parameters:
            raise TrainerError("lora_target_modules: 'experts' asked for, but the model has no fused expert weights "
                               f"({', '.join(EXPERT_PARAMETERS)}); name the expert modules instead")
    if names == ["all-linear"]:
        if moe:
            leaves = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, nn.Linear)}
            return [name for name in ATTENTION_PROJECTIONS if name in leaves], parameters
        return "all-linear", parameters
    return names, parameters


def apply_lora(model, r: int, alpha: int, dropout: float, target_modules: list[str]):
    """Wrap with peft LoRA and check that some, but not all, parameters train."""
    from peft import LoraConfig, get_peft_model

    targets, parameters = resolve_lora_targets(model, target_modules)
    options = {"target_parameters": parameters} if parameters else {}
    lora_config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets or None, bias="none",
                             task_type="CAUSAL_LM", **options)
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
    """forward(input_ids, target_ids, **attention inputs) -> (sum of token losses, number of target tokens).

    For a mixture-of-experts model whose config has a router auxiliary loss coefficient, training forwards add
    `coefficient x load-balancing loss x target tokens` to the sum (so the step's mean carries the coefficient as
    transformers' own loss does); `last_router_aux_loss` keeps the unscaled value for the metrics.
    """

    def __init__(self, model, chunk_tokens: int = 8192):
        super().__init__()
        self.model = model  # registered so DDP/FSDP see the LoRA parameters
        self.chunk_tokens = chunk_tokens
        config = causal_lm_of(model).config
        self.router_aux_coefficient = float(getattr(config, "router_aux_loss_coef", 0.0) or 0.0) \
            if is_mixture_of_experts(causal_lm_of(model)) else 0.0
        self.last_router_aux_loss: float | None = None

    def forward(self, input_ids: torch.Tensor, target_ids: torch.Tensor, **attention_inputs):
        causal_lm = causal_lm_of(self.model)
        router = self.router_aux_coefficient > 0 and torch.is_grad_enabled()
        if router:
            attention_inputs = {**attention_inputs, "output_router_logits": True}
        output = causal_lm.get_decoder()(input_ids=input_ids, **attention_inputs)
        hidden = output.last_hidden_state
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
        if router:
            aux = router_aux_loss(causal_lm.config, output.router_logits)
            self.last_router_aux_loss = float(aux.detach())
            total = total + self.router_aux_coefficient * aux * targets.numel()
        return total, targets.numel()


def router_aux_loss(config, router_logits) -> torch.Tensor:
    """transformers' load-balancing loss of the router logits of every layer (all tokens: packed rows hold no
    padding but the row's tail, which is a few tokens at most)."""
    from transformers.models.mixtral.modeling_mixtral import load_balancing_loss_func

    experts = getattr(config, "num_local_experts", None) or getattr(config, "num_experts")
    return load_balancing_loss_func(router_logits, experts, config.num_experts_per_tok, None)


def _head_loss(head: nn.Module, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(head(hidden).float(), targets, reduction="sum")
