"""Document-masked attention for packed rows: no token attends to another example of its row.

The mask is built here and handed to the model explicitly, for every implementation:
- flex: a flex-attention BlockMask (causal AND same document); fully masked blocks are skipped, so packed rows
  cost about what their examples would cost alone.
- varlen: torch's flash-attention varlen kernel (`torch.nn.attention.varlen`, CUDA only) over the flattened rows,
  registered as a transformers attention function; cumulative sequence lengths come in as keyword arguments.
- sdpa / eager: a dense block-diagonal causal mask (boolean for sdpa, additive for eager): exact, O(L^2) memory.
- flash_attention_2 (the flash-attn package): position ids restarting per example plus explicit cu_seq_lens.
An explicit mask matters: transformers 5 only infers packed documents from position ids when no mask and no cache
is passed, and a forward without `use_cache=False` creates a cache, which silently lets examples attend across
boundaries. Training forwards here always pass both the mask and `use_cache=False`.
"""

from __future__ import annotations

import inspect

import torch

from .packing import Batch

VARLEN_NAME = "polyglot_varlen"
TRANSFORMERS_NAMES = {"flex": "flex_attention", "varlen": VARLEN_NAME, "sdpa": "sdpa", "eager": "eager",
                      "flash_attention_2": "flash_attention_2"}

CUDA_ONLY = {"flex": "its block-sparse kernels are compiled for the GPU", "varlen": "torch's flash varlen kernel",
             "flash_attention_2": "the flash-attn package"}


def resolve_attention(name: str, device: torch.device) -> str:
    """"auto" is flex attention on CUDA (block-sparse, no extra package) and SDPA on the CPU."""
    if name == "auto":
        return "flex" if device.type == "cuda" else "sdpa"
    if name in CUDA_ONLY and device.type != "cuda":
        from .errors import TrainerError

        raise TrainerError(f"attention {name!r} needs a CUDA GPU ({CUDA_ONLY[name]}) and the device is {device}; "
                           "on the CPU use --attention sdpa (the default there) or eager")
    return name


def dense_document_mask(document_ids: torch.Tensor) -> torch.Tensor:
    """(B, 1, L, L) boolean mask: True where query q may attend key k (k <= q and same document)."""
    length = document_ids.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=document_ids.device).tril()
    same_document = document_ids[:, :, None] == document_ids[:, None, :]
    return (same_document & causal)[:, None, :, :]


def flex_document_mask(document_ids: torch.Tensor):
    from torch.nn.attention.flex_attention import create_block_mask

    def document_causal(batch, head, query, key):
        return (document_ids[batch, query] == document_ids[batch, key]) & (query >= key)

    batch_size, length = document_ids.shape
    return create_block_mask(document_causal, batch_size, None, length, length, device=document_ids.device,
                             _compile=document_ids.device.type == "cuda")


def cumulative_lengths(batch: Batch, device: torch.device) -> tuple[torch.Tensor, int]:
    """cu_seqlens over the flattened (B * L) tokens, padding runs counted as sequences, and the longest sequence."""
    lengths = [length for row in batch.sequence_lengths for length in row]
    offsets = torch.tensor([0, *lengths], dtype=torch.int32).cumsum(0, dtype=torch.int32)
    return offsets.to(device), max(lengths)


def attention_inputs(batch: Batch, implementation: str, dtype: torch.dtype) -> dict:
    """Keyword arguments for the model's forward that enforce the document mask for `implementation`."""
    device = batch.input_ids.device
    inputs = {"position_ids": batch.position_ids, "use_cache": False}
    if implementation == "flex":
        inputs["attention_mask"] = flex_document_mask(batch.document_ids)
    elif implementation == "sdpa":
        inputs["attention_mask"] = dense_document_mask(batch.document_ids)
    elif implementation == "eager":
        allowed = dense_document_mask(batch.document_ids)
        additive = torch.zeros(allowed.shape, dtype=dtype, device=device)
        inputs["attention_mask"] = additive.masked_fill(~allowed, torch.finfo(dtype).min)
    elif implementation in ("varlen", "flash_attention_2"):
        offsets, longest = cumulative_lengths(batch, device)
        inputs.update(attention_mask=None, cu_seq_lens_q=offsets, cu_seq_lens_k=offsets,
                      max_length_q=longest, max_length_k=longest)
    else:
        raise ValueError(f"unknown attention implementation {implementation!r}")
    return inputs


def register_varlen_attention() -> None:
    """Register torch's flash varlen kernel as the transformers attention implementation "polyglot_varlen"."""
    from torch.nn.attention.varlen import varlen_attn
    from transformers import AttentionInterface

    parameters = inspect.signature(varlen_attn).parameters

    def varlen_attention_forward(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        offsets = kwargs.get("cu_seq_lens_q")
        if offsets is None:
            raise RuntimeError("polyglot_varlen attention needs cu_seq_lens_q (packed training forward only)")
        batch_size, heads, length, head_dim = query.shape
        # (B, H, L, D) -> (B * L, H, D): the kernel sees one long sequence cut at the offsets.
        query = query.transpose(1, 2).reshape(batch_size * length, heads, head_dim)
        key = key.transpose(1, 2).reshape(batch_size * length, key.shape[1], head_dim)
        value = value.transpose(1, 2).reshape(batch_size * length, value.shape[1], head_dim)
        options = {"scale": scaling}
        if key.shape[1] != heads:
            if "enable_gqa" in parameters:
                options["enable_gqa"] = True
            else:
                repeat = heads // key.shape[1]
                key, value = key.repeat_interleave(repeat, dim=1), value.repeat_interleave(repeat, dim=1)
        if "is_causal" in parameters:
            options["is_causal"] = True
        else:
            options["window_size"] = (-1, 0)
        longest = kwargs["max_length_q"]
        output = varlen_attn(query, key, value, offsets, offsets, longest, longest, **options)
        return output.reshape(batch_size, length, heads, head_dim), None

    AttentionInterface.register(VARLEN_NAME, varlen_attention_forward)
