"""FSDP2 for models that do not fit one GPU (the study's Mixtral-8x7B): build, load, checkpoint, export.

- Build: every rank builds the model with its parameters on the meta device (buffers such as RoPE frequencies
  stay real), wraps it with LoRA, then shards every decoder layer (`fully_shard`) and the rest (embeddings, final
  norm, LM head: one group, so tied embeddings are one parameter sharded once) under the loss module.
- Load: each rank reads only its own rows of every weight from the safetensors files (plain reads), so
  no rank ever holds the full model, in host memory or on its GPU. Mixtral-style checkpoints (one tensor per
  expert) are stacked into transformers 5's fused expert tensors, again only the experts of the rank's rows.
- Checkpoints: `torch.distributed.checkpoint` (DCP) writes each rank's shards of the LoRA weights and of the
  optimizer state; nothing is gathered to one process. The adapter files are written by rank 0 from the LoRA
  weights alone (megabytes), gathered tensor by tensor.
"""

from __future__ import annotations

import json
import math
import re
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from .errors import TrainerError

DCP_FOLDER = "sharded"


@contextmanager
def parameters_on_meta():
    """Create modules with parameters on the meta device and buffers on the CPU (as accelerate's
    init_empty_weights(include_buffers=False)): buffers computed at construction (RoPE inv_freq) stay valid."""
    original = nn.Module.register_parameter

    def register(module, name, parameter):
        original(module, name, parameter)
        if parameter is not None:
            current = module._parameters[name]
            module._parameters[name] = type(current)(current.to(torch.device("meta")),
                                                     requires_grad=current.requires_grad)

    nn.Module.register_parameter = register
    try:
        yield
    finally:
        nn.Module.register_parameter = original


def build_meta_model(path: str, dtype: torch.dtype, attention_name: str):
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as error:
        raise TrainerError(f"cannot read the model config of {path!r}: {error}") from error
    with parameters_on_meta():
        model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation=attention_name)
    # re-registering made the LM head its own meta parameter: tie it back to the embedding (one parameter)
    model.tie_weights()
    model.config.use_cache = False
    return model


# ---------------------------------------------------------------- reading weights shard by shard


SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
                      "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
                      "BOOL": torch.bool}


class CheckpointReader:
    """Safetensors tensors of a model folder by name, read as row slices with plain file reads: no memory map,
    so a rank's memory holds the rows it asked for and nothing else (mapped pages would stay resident)."""

    def __init__(self, path: str):
        folder = Path(path)
        index = folder / "model.safetensors.index.json"
        if index.is_file():
            files = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        elif (folder / "model.safetensors").is_file():
            files = ["model.safetensors"]
        else:
            raise TrainerError(f"--fsdp loads safetensors weights shard by shard, and {folder} holds neither "
                               "model.safetensors nor model.safetensors.index.json; convert the model with "
                               "`save_pretrained(..., safe_serialization=True)`")
        self.entries: dict[str, tuple[Path, int, dict]] = {}
        for name in files:
            file = folder / name
            with file.open("rb") as handle:
                length = int.from_bytes(handle.read(8), "little")
                header = json.loads(handle.read(length))
            for key, entry in header.items():
                if key != "__metadata__":
                    self.entries[key] = (file, 8 + length, entry)

    def has(self, key: str) -> bool:
        return key in self.entries

    def rows(self, key: str, start: int, end: int) -> torch.Tensor:
        file, base, entry = self.entries[key]
        dtype, shape = SAFETENSORS_DTYPES[entry["dtype"]], entry["shape"]
        row_bytes = math.prod(shape[1:]) * torch.empty((), dtype=dtype).element_size()
        buffer = bytearray((end - start) * row_bytes)
        with file.open("rb") as handle:
            handle.seek(base + entry["data_offsets"][0] + start * row_bytes)
            handle.readinto(buffer)
        if not buffer:
            return torch.empty((0, *shape[1:]), dtype=dtype)
        return torch.frombuffer(buffer, dtype=dtype).reshape(end - start, *shape[1:])

    def full(self, key: str) -> torch.Tensor:
        return self.rows(key, 0, self.entries[key][2]["shape"][0])


def checkpoint_key(name: str) -> str:
    """A base weight's name in the peft model -> its name in the checkpoint (transformers' names)."""
    if name.startswith("base_model.model."):
        name = name[len("base_model.model."):]
    return name.replace(".base_layer.", ".")


FUSED_EXPERTS = re.compile(r"^(?P<layer>.+)\.mlp\.experts\.(?P<kind>gate_up_proj|down_proj)$")


def read_rows(reader: CheckpointReader, key: str, start: int, end: int) -> torch.Tensor:
    """Rows [start, end) of the model tensor `key`, from the checkpoint as saved (Mixtral's per-expert w1/w2/w3
    under block_sparse_moe are stacked and, for gate_up_proj, concatenated as transformers 5 fuses them)."""
    if reader.has(key):
        return reader.rows(key, start, end)
    fused = FUSED_EXPERTS.match(key)
    if fused:
        layer = fused["layer"]
        prefix = next((f"{layer}.{block}.experts" for block in ("block_sparse_moe", "mlp")
                       if reader.has(f"{layer}.{block}.experts.0.w1.weight")), None)
        if prefix is not None:
            experts = []
            for expert in range(start, end):
                if fused["kind"] == "gate_up_proj":
                    experts.append(torch.cat([reader.full(f"{prefix}.{expert}.w1.weight"),
                                              reader.full(f"{prefix}.{expert}.w3.weight")], dim=0))
                else:
                    experts.append(reader.full(f"{prefix}.{expert}.w2.weight"))
            return torch.stack(experts) if experts else torch.empty(0)
    renamed = key.replace(".mlp.gate.", ".block_sparse_moe.gate.")
    if reader.has(renamed):
        return reader.rows(renamed, start, end)
    raise TrainerError(f"--fsdp: the checkpoint has no tensor for {key!r} (looked for it and for Mixtral's "
                       "per-expert layout); this architecture's checkpoint layout is not supported for sharded "
                       "loading, train it without --fsdp or convert the checkpoint with save_pretrained")


def local_rows(parameter, world_size: int, rank: int) -> tuple[int, int]:
    """The rows of dim 0 a rank holds under FSDP2's Shard(0) (torch.chunk: ceil-sized chunks, the last shorter)."""
    rows = parameter.shape[0]
    chunk = math.ceil(rows / world_size)
    start = min(rows, chunk * rank)
    return start, min(rows, start + chunk)


# ---------------------------------------------------------------- setup


def lora_initial_value(name: str, shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    """peft's default LoRA init (A: Kaiming-uniform, B: zeros), drawn from an explicit generator in parameter
    order, so every rank and every layout (one process, DDP, FSDP) starts from the same adapter."""
    tensor = torch.zeros(shape, dtype=torch.float32)
    if ".lora_A." in name or name.endswith("lora_A") or "lora_embedding_A" in name:
        fan_in = shape[-1] if len(shape) > 1 else shape[0]
        bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) as nn.Linear and peft use
        tensor.uniform_(-bound, bound, generator=generator)
    return tensor


def initialise_lora(model, seed: int) -> None:
    """Re-draw every LoRA weight deterministically (non-sharded model)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.requires_grad:
                parameter.copy_(lora_initial_value(name, parameter.shape, generator).to(parameter.dtype))


def shard_model(loss_module, decoder_layers) -> None:
    from torch.distributed.fsdp import fully_shard

    for layer in decoder_layers:
        fully_shard(layer)
    # root group: embeddings, final norm and LM head (a tied LM head is the embedding's parameter: sharded once)
    fully_shard(loss_module)


def load_sharded_weights(loss_module, path: str, seed: int, device: torch.device) -> dict:
    """Materialise the meta parameters on `device`: base weights read row-slice by row-slice, LoRA drawn as
    `initialise_lora` draws it. Returns {"bytes_read": ..., "largest_read": ...} for the run record."""
    from torch.distributed.tensor import DTensor

    buffers = {name: buffer.detach().clone() for name, buffer in loss_module.named_buffers()}
    loss_module.to_empty(device=device)
    with torch.no_grad():
        for name, buffer in loss_module.named_buffers():
            buffer.copy_(buffers[name])
    reader = CheckpointReader(path)
    generator = torch.Generator().manual_seed(seed)
    stats = {"bytes_read": 0, "largest_read": 0}
    with torch.no_grad():
        for name, parameter in loss_module.named_parameters():
            model_name = name[len("model."):] if name.startswith("model.") else name
            local = parameter.to_local() if isinstance(parameter, DTensor) else parameter
            if parameter.requires_grad:
                full = lora_initial_value(model_name, parameter.shape, generator)
                start, end = _dtensor_rows(parameter)
                local.copy_(full[start:end].to(local.dtype))
                continue
            start, end = _dtensor_rows(parameter)
            rows = read_rows(reader, checkpoint_key(model_name), start, end)
            if tuple(rows.shape) != tuple(local.shape):
                raise TrainerError(f"--fsdp: {model_name}: the checkpoint's rows {start}:{end} have shape "
                                   f"{tuple(rows.shape)}, the rank's shard {tuple(local.shape)}")
            local.copy_(rows.to(local.dtype))
            size = rows.numel() * rows.element_size()
            stats["bytes_read"] += size
            stats["largest_read"] = max(stats["largest_read"], size)
    return stats


def _dtensor_rows(parameter) -> tuple[int, int]:
    from torch.distributed.tensor import DTensor, Shard

    if not isinstance(parameter, DTensor):
        return 0, parameter.shape[0]
    placement = parameter.placements[0]
    if not isinstance(placement, Shard) or placement.dim != 0:
        raise TrainerError(f"--fsdp: unexpected placement {placement} (expected Shard(0))")
    mesh = parameter.device_mesh
    start, end = local_rows(parameter, mesh.size(), mesh.get_local_rank())
    if end - start != parameter.to_local().shape[0]:
        raise TrainerError("--fsdp: FSDP's shard layout is not torch.chunk's; this torch version is not supported")
    return start, end


# ---------------------------------------------------------------- checkpoints and export


def gather_trainable(model, is_main: bool) -> dict[str, torch.Tensor]:
    """The LoRA weights, full, on rank 0's CPU (a collective over the trainable parameters only)."""
    from torch.distributed.tensor import DTensor

    state = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        full = parameter.full_tensor() if isinstance(parameter, DTensor) else parameter
        if is_main:
            state[name] = full.detach().to("cpu", copy=True).contiguous()
    return state


def save_sharded_state(folder: Path, loss_module, optimizer) -> None:
    """DCP: every rank writes its shards of the LoRA weights and the optimizer state (a collective)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    options = StateDictOptions(ignore_frozen_params=True)
    model_state, optimizer_state = get_state_dict(loss_module, optimizer, options=options)
    dcp.save({"model": model_state, "optimizer": optimizer_state}, checkpoint_id=str(folder / DCP_FOLDER))


def load_sharded_state(folder: Path, loss_module, optimizer) -> None:
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict, set_state_dict

    if not (folder / DCP_FOLDER).is_dir():
        raise TrainerError(f"checkpoint {folder} has no {DCP_FOLDER}/ (sharded state): it was not written under "
                           "--fsdp; resume it without --fsdp")
    options = StateDictOptions(ignore_frozen_params=True)
    model_state, optimizer_state = get_state_dict(loss_module, optimizer, options=options)
    state = {"model": model_state, "optimizer": optimizer_state}
    dcp.load(state, checkpoint_id=str(folder / DCP_FOLDER))
    set_state_dict(loss_module, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"],
                   options=StateDictOptions(ignore_frozen_params=True, strict=False))
