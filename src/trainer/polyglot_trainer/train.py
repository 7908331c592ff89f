"""LoRA instruction tuning on a polyglot-instruct composition.

    # smoke test on a CPU (tiny random model, a tokenizer trained on the data)
    python -m polyglot_trainer make-tiny-model --data out/lima-x/ENDEFRITES.arrow --out tiny
    python -m polyglot_trainer train --data out/lima-x/ENDEFRITES.arrow --model tiny --out run --max-steps 40 --device cpu
    # one GPU
    python -m polyglot_trainer train --config lora.yaml --data out/lima-x/ENDEFRITES.arrow --model /models/llama-2-7b --out run
    # several GPUs (DDP), or a model that does not fit one GPU (FSDP)
    torchrun --nproc-per-node 8 -m polyglot_trainer train --config lora.yaml [--fsdp]

The lifecycle reads top to bottom: set_seed -> setup_distributed -> setup_data -> setup_model -> setup_optimizer
-> train -> save. One optimizer step takes `gradient_accumulation_steps x world_size` micro-batches from one
stream (epoch 0's shuffled rows, then epoch 1's, ...); its loss is the mean over all target tokens of those
micro-batches, so 2 processes x 1 micro-batch give the same update as 1 process x 2 accumulated micro-batches.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from . import __version__
from .attention import attention_inputs, resolve_attention
from .config import TrainConfig, config_to_dict
from .data import describe_dataset_file, read_records, tokenize_records
from .errors import TrainerError
from .attention import TRANSFORMERS_NAMES
from .model import (TokenLoss, apply_lora, load_model, load_model_config, load_tokenizer, merge_adapter, resolve_device,
                    resolve_dtype)
from .run_folder import (RECORD_FILE, check_resume, checkpoint_record, describe_base_model, prepare_out_folder,
                         read_checkpoint_record)
from .sharded import (build_meta_model, gather_trainable, initialise_lora, load_sharded_state, load_sharded_weights,
                      save_sharded_state, shard_model)
from .packing import Batch, build_rows, collate_rows, epoch_order
from .conversation import load_chat_format
from .trackers import MetricsLog, check_trackers, open_trackers

CONFIG_FILE = "training_config.json"
RUN_INFO_FILE = "run_info.json"
METRICS_FILE = "metrics.jsonl"
STATE_FILE = "trainer_state.pt"
TRAINABLE_FILE = "trainable.safetensors"


# ---------------------------------------------------------------- setup


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy

        numpy.random.seed(seed)
    except ImportError:  # numpy is optional at run time
        pass


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_name: str) -> tuple[Distributed, torch.device]:
    """torchrun sets WORLD_SIZE/RANK/LOCAL_RANK; NCCL on CUDA, gloo on the CPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed(), resolve_device(device_name)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Distributed(rank, world_size, local_rank), device


def log(distributed: Distributed, message: str) -> None:
    if distributed.is_main:
        print(f"[polyglot-trainer] {message}", file=sys.stderr, flush=True)


@dataclass
class DataSetup:
    examples: list
    rows: list[list[int]]
    row_targets: list[int]
    summary: dict
    template: str
    validation: tuple[list, list[list[int]]] | None


def setup_data(config: TrainConfig, tokenizer, distributed: Distributed) -> DataSetup:
    chat_format = load_chat_format(tokenizer, config.chat_template, config.system_message, config.system_messages)
    template = chat_format.template

    def load(path: str):
        tokenized = tokenize_records(read_records(path), tokenizer, chat_format, config.max_length)
        if not tokenized.examples:
            raise TrainerError(f"{path}: no example keeps an assistant token within max_length={config.max_length}; "
                               "raise --max-length")
        return tokenized

    train_set = load(config.data)
    summary = train_set.summary()
    rows = build_rows(train_set.examples, config.max_length, config.packing)
    row_targets = [sum(sum(t != -100 for t in train_set.examples[i].target_ids) for i in row) for row in rows]
    summary["rows"] = len(rows)
    summary["fill"] = round(sum(len(e) for e in train_set.examples) / (len(rows) * config.max_length), 4)
    log(distributed, f"{len(train_set.examples)} examples in {len(rows)} rows "
                     f"({'packed, ' + format(summary['fill'], '.1%') + ' full' if config.packing else 'unpacked'}); "
                     f"tokens per language {train_set.tokens_per_language}; "
                     f"assistant tokens per language {train_set.target_tokens_per_language}")
    if train_set.excluded_ids:
        log(distributed, f"WARNING: {len(train_set.excluded_ids)} examples lost every assistant token to truncation at "
                         f"max_length={config.max_length} and are excluded (first ids: {train_set.excluded_ids[:5]})")
    validation = None
    if config.validation_data:
        validation_set = load(config.validation_data)
        validation = (validation_set.examples, build_rows(validation_set.examples, config.max_length, config.packing))
        summary["validation"] = validation_set.summary()
    return DataSetup(train_set.examples, rows, row_targets, summary, template, validation)


@dataclass
class ModelSetup:
    model: object  # the peft model (parameters may be FSDP shards)
    loss_module: object  # what the loop calls: TokenLoss, DDP(TokenLoss) or the FSDP-sharded TokenLoss
    dtype: torch.dtype
    attention: str
    trainable: int
    total: int
    base_model: dict  # identity of the base weights (run_folder.describe_base_model)
    sharded: bool
    load_stats: dict | None = None


def setup_model(config: TrainConfig, device: torch.device, distributed: Distributed) -> ModelSetup:
    dtype = resolve_dtype(config.dtype, device)
    attention = resolve_attention(config.attention, device)
    if device.type == "cuda" and config.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    sharded = config.fsdp and distributed.world_size > 1
    if sharded:
        # parameters on the meta device: no rank materialises the model before it is sharded
        model = build_meta_model(config.model, dtype, TRANSFORMERS_NAMES[attention])
    else:
        model = load_model(config.model, dtype, attention, device)
    base_model = describe_base_model(config.model, model.config)
    model, trainable, total = apply_lora(model, config.lora_r, config.lora_alpha, config.lora_dropout,
                                         config.lora_target_modules)
    for parameter in model.parameters():
        if parameter.requires_grad and parameter.dtype != torch.float32:
            # LoRA weights and their Adam moments stay in float32; the frozen base runs in `dtype`.
            parameter.data = parameter.data.float()
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    loss_module = TokenLoss(model, config.loss_chunk_tokens)
    load_stats = None
    if sharded:
        shard_model(loss_module, model.get_base_model().get_decoder().layers)
        load_stats = load_sharded_weights(loss_module, config.model, config.seed, device)
        wrapped = loss_module
    else:
        initialise_lora(model, config.seed)
        if distributed.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            wrapped = DistributedDataParallel(loss_module, device_ids=[device.index] if device.type == "cuda" else None)
        else:
            wrapped = loss_module
    log(distributed, f"model {config.model}: {total / 1e6:.1f}M parameters, {trainable / 1e6:.2f}M trainable (LoRA r="
                     f"{config.lora_r}), {dtype}, attention {attention}, device {device}"
                     + (f", FSDP over {distributed.world_size} processes" if sharded else ""))
    return ModelSetup(model, wrapped, dtype, attention, trainable, total, base_model, sharded, load_stats)


def setup_optimizer(config: TrainConfig, model, total_steps: int, device: torch.device):
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, betas=(config.adam_beta1, config.adam_beta2),
                                  weight_decay=config.weight_decay, fused=device.type == "cuda")
    warmup = math.ceil(config.warmup_ratio * total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if config.lr_scheduler == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total_steps - warmup)
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if config.lr_scheduler == "cosine" else 1 - progress
        return config.min_lr_ratio + (1 - config.min_lr_ratio) * shape

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# ---------------------------------------------------------------- the stream of micro-batches


class MicroBatchStream:
    """Micro-batch k of the run: epoch k // per_epoch, rows from that epoch's shuffle. Pure function of k (resume)."""

    def __init__(self, rows: list[list[int]], row_targets: list[int], micro_batch_size: int, seed: int):
        self.rows, self.row_targets, self.size, self.seed = rows, row_targets, micro_batch_size, seed
        self.per_epoch = math.ceil(len(rows) / micro_batch_size)
        self._orders: dict[int, list[int]] = {}

    def row_indices(self, k: int) -> list[int]:
        epoch, index = divmod(k, self.per_epoch)
        if epoch not in self._orders:
            self._orders = {epoch: epoch_order(len(self.rows), self.seed, epoch)}
        return self._orders[epoch][index * self.size:(index + 1) * self.size]

    def target_tokens(self, k: int) -> int:
        return sum(self.row_targets[row] for row in self.row_indices(k))


# ---------------------------------------------------------------- checkpoints


def save_adapter(model, out: Path, tokenizer) -> None:
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))


def write_gathered_adapter(model, state: dict[str, torch.Tensor], out: Path, tokenizer) -> None:
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    adapter = get_peft_model_state_dict(model, state_dict=state)
    save_file({name: tensor.contiguous() for name, tensor in adapter.items()}, str(out / "adapter_model.safetensors"))
    model.peft_config["default"].save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))


def write_adapter(setup: ModelSetup, out: Path, tokenizer, distributed: Distributed) -> None:
    """The adapter files in `out` (rank 0); under FSDP the LoRA weights alone are gathered (a collective)."""
    if setup.sharded:
        state = gather_trainable(setup.model, distributed.is_main)
        if distributed.is_main:
            write_gathered_adapter(setup.model, state, out, tokenizer)
    elif distributed.is_main:
        save_adapter(setup.model, out, tokenizer)


def trainable_state(model) -> dict[str, torch.Tensor]:
    return {name: parameter.detach().cpu().contiguous() for name, parameter in model.named_parameters()
            if parameter.requires_grad}


def barrier(distributed: Distributed) -> None:
    if distributed.world_size > 1:
        dist.barrier()


def save_checkpoint(out: Path, step: int, setup: ModelSetup, optimizer, scheduler, tokenizer, distributed: Distributed,
                    keep: int, record: dict) -> Path:
    from safetensors.torch import save_file

    final = out / "checkpoints" / f"step-{step:06d}"
    partial = final.with_name(final.name + ".incomplete")
    if distributed.is_main:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
    barrier(distributed)
    write_adapter(setup, partial, tokenizer, distributed)
    if setup.sharded:
        save_sharded_state(partial, setup.loss_module, optimizer)  # every rank writes its own shards
    if distributed.is_main:
        state = {"step": step, "scheduler": scheduler.state_dict(), "counters": record["counters"]}
        if not setup.sharded:
            save_file(trainable_state(setup.model), str(partial / TRAINABLE_FILE))
            state["optimizer"] = optimizer.state_dict()
        torch.save(state, partial / STATE_FILE)
        (partial / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    # Every rank keeps its own RNG streams (LoRA dropout draws differ per rank).
    rng = {"python": random.getstate(), "torch": torch.get_rng_state(),
           "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}
    torch.save(rng, partial / f"rng_rank{distributed.rank}.pt")
    barrier(distributed)
    if distributed.is_main:
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)  # a checkpoint exists only once complete
        if keep > 0:
            for old in sorted((out / "checkpoints").glob("step-??????"))[:-keep]:
                shutil.rmtree(old, ignore_errors=True)
    barrier(distributed)
    return final


def find_checkpoint(config: TrainConfig) -> Path:
    if config.resume_from == "latest":
        found = sorted((Path(config.out) / "checkpoints").glob("step-??????"))
        if not found:
            raise TrainerError(f"resume_from latest: no checkpoint under {Path(config.out) / 'checkpoints'}")
        return found[-1]
    path = Path(config.resume_from)
    if not (path / STATE_FILE).is_file():
        raise TrainerError(f"resume_from {path}: not a checkpoint (no {STATE_FILE}); "
                           f"checkpoints are {Path(config.out) / 'checkpoints'}/step-NNNNNN")
    return path


def load_checkpoint(path: Path, setup: ModelSetup, optimizer, scheduler, distributed: Distributed) -> dict:
    """Restore weights, optimizer, schedule and RNG; returns the checkpoint's trainer state (step, counters)."""
    from safetensors.torch import load_file

    if setup.sharded:
        load_sharded_state(path, setup.loss_module, optimizer)
    else:
        if not (path / TRAINABLE_FILE).is_file():
            raise TrainerError(f"checkpoint {path} was written under --fsdp (sharded state); resume it with --fsdp "
                               "and the same number of processes")
        weights = load_file(str(path / TRAINABLE_FILE))
        parameters = dict(setup.model.named_parameters())
        missing = [name for name in weights if name not in parameters]
        if missing:
            raise TrainerError(f"checkpoint {path} does not match this model/LoRA config (e.g. {missing[0]})")
        with torch.no_grad():
            for name, tensor in weights.items():
                parameters[name].copy_(tensor)
    state = torch.load(path / STATE_FILE, map_location="cpu", weights_only=False)
    if not setup.sharded:
        optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    rng_file = path / f"rng_rank{distributed.rank}.pt"
    if rng_file.is_file():
        rng = torch.load(rng_file, map_location="cpu", weights_only=False)
        random.setstate(rng["python"])
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
    return state


# ---------------------------------------------------------------- training


def move(batch: Batch, device: torch.device) -> Batch:
    return batch.to(device) if device.type != "cpu" else batch


def evaluate(loss_module, examples, rows, config: TrainConfig, attention: str, dtype, device, pad_id: int,
             distributed: Distributed) -> float:
    """Mean validation loss. Every rank runs the same number of forwards (FSDP forwards and DDP's buffer sync are
    collectives): a rank without a batch left repeats its first one and does not count it."""
    total = torch.zeros(2, dtype=torch.float64, device=device)
    size = config.micro_batch_size
    starts = list(range(0, len(rows), size))
    rounds = math.ceil(len(starts) / distributed.world_size)
    with torch.no_grad():
        for round_index in range(rounds):
            position = round_index * distributed.world_size + distributed.rank
            counted = position < len(starts)
            start = starts[position] if counted else starts[distributed.rank % len(starts)]
            chunk = [[examples[i] for i in row] for row in rows[start:start + size]]
            batch = move(collate_rows(chunk, pad_id, multiple_of=128 if attention == "flex" else 1), device)
            loss_sum, count = loss_module(batch.input_ids, batch.target_ids, **attention_inputs(batch, attention, dtype))
            if counted:
                total += torch.stack([loss_sum.double(), torch.tensor(float(count), device=device, dtype=torch.float64)])
    if distributed.world_size > 1:
        dist.all_reduce(total)
    return float(total[0] / total[1])


def train(config: TrainConfig) -> dict:
    """Run training as configured; returns the run summary (also written to out/run_info.json)."""
    check_trackers(config.report_to)  # a missing tracker package fails before any work
    metrics = MetricsLog()
    try:
        run_info = _train(config, metrics)
    except BaseException:
        metrics.close(failed=True)  # an MLflow or W&B run shows that it failed
        raise
    metrics.close()
    return run_info


def _train(config: TrainConfig, metrics: MetricsLog) -> dict:
    distributed, device = setup_distributed(config.device)
    set_seed(config.seed)
    out = Path(config.out)
    removed = prepare_out_folder(out, bool(config.resume_from), config.overwrite, distributed.is_main)
    if distributed.is_main:
        out.mkdir(parents=True, exist_ok=True)
    barrier(distributed)
    tokenizer = load_tokenizer(config.model)
    data = setup_data(config, tokenizer, distributed)
    dataset = describe_dataset_file(config.data)
    base_model = describe_base_model(config.model, load_model_config(config.model))
    settings = config_to_dict(config)

    checkpoint, changes = None, {}
    if config.resume_from:
        # checked before the model is loaded: a wrong resume fails in seconds
        checkpoint = find_checkpoint(config)
        changes = check_resume(read_checkpoint_record(checkpoint), settings, dataset["sha256"],
                               distributed.world_size, base_model, config.allow_changes, checkpoint)

    setup = setup_model(config, device, distributed)
    model, loss_module, dtype, attention = setup.model, setup.loss_module, setup.dtype, setup.attention
    # LoRA weights are drawn alike on every rank; dropout masks must not be (one stream per rank)
    torch.manual_seed(config.seed + 1_000_003 * distributed.rank)

    group = config.gradient_accumulation_steps * distributed.world_size
    stream = MicroBatchStream(data.rows, data.row_targets, config.micro_batch_size, config.seed)
    total_steps = config.max_steps or max(1, math.ceil(config.epochs * stream.per_epoch / group))
    optimizer, scheduler = setup_optimizer(config, model, total_steps, device)

    start_step, counters = 0, {"tokens": 0, "target_tokens": 0}
    if checkpoint is not None:
        state = load_checkpoint(checkpoint, setup, optimizer, scheduler, distributed)
        start_step = int(state["step"])
        counters = dict(state.get("counters", counters))
        if "learning_rate" in changes:
            # the schedule's base rate comes from the checkpoint; an allowed change of it takes effect now
            scheduler.base_lrs = [config.learning_rate for _ in scheduler.base_lrs]
            for param_group, base in zip(optimizer.param_groups, scheduler.base_lrs):
                param_group["initial_lr"] = base
                param_group["lr"] = base * scheduler.lr_lambdas[0](scheduler.last_epoch)
            scheduler._last_lr = [param_group["lr"] for param_group in optimizer.param_groups]
        log(distributed, f"resumed from {checkpoint} at step {start_step}"
                         + (f"; allowed changes: {', '.join(changes)}" if changes else ""))

    run_info = {
        "package": "polyglot-trainer", "version": __version__, "seed": config.seed, "world_size": distributed.world_size,
        "fsdp": setup.sharded, "base_model": base_model, "dataset": dataset,
        "validation_dataset": describe_dataset_file(config.validation_data) if config.validation_data else None,
        "data": data.summary, "chat_template": data.template, "attention": attention, "dtype": str(dtype),
        "parameters": setup.total, "trainable_parameters": setup.trainable, "total_steps": total_steps,
        "resumed_from": str(checkpoint) if checkpoint else None, "resumed_at_step": start_step or None,
        "allowed_changes": changes, "overwritten_files": removed, "sharded_load": setup.load_stats,
        "torch": torch.__version__, "transformers": __import__("transformers").__version__,
        "peft": __import__("peft").__version__,
    }
    metrics_path = out / METRICS_FILE
    if distributed.is_main:
        (out / CONFIG_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        (out / RUN_INFO_FILE).write_text(json.dumps(run_info, indent=2) + "\n", encoding="utf-8")
        kept = []
        if start_step and metrics_path.is_file():
            # drop rows logged after the checkpoint by the interrupted run
            kept = [line for line in metrics_path.read_text(encoding="utf-8").splitlines()
                    if line.strip() and json.loads(line).get("step", 0) <= start_step]
        metrics_path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        metrics.open(metrics_path, open_trackers(config.report_to, out, settings, dataset, start_step, config.run_name))

    def record(step: int) -> dict:
        return checkpoint_record(step, settings, dataset["sha256"], distributed.world_size, base_model, counters)

    progress = None
    if distributed.is_main and config.progress_bar:
        from tqdm import tqdm

        progress = tqdm(total=total_steps, initial=start_step, desc="train", unit="step", dynamic_ncols=True)
    pad_id = tokenizer.pad_token_id
    multiple = 128 if attention == "flex" else 1  # flex attention works on 128-token blocks
    pad_to = config.max_length if (attention == "flex" and config.packing) else None  # one shape: one compile
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    window_tokens, window_start = 0, time.perf_counter()
    losses = []
    inner = loss_module.module if hasattr(loss_module, "module") else loss_module
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    loss_module.train()
    for step in range(start_step, total_steps):
        first = step * group
        global_targets = sum(stream.target_tokens(first + k) for k in range(group))
        mine = [first + distributed.rank + distributed.world_size * a for a in range(config.gradient_accumulation_steps)]
        step_loss = torch.zeros((), dtype=torch.float64, device=device)
        step_tokens = 0
        aux_values = []
        for position, k in enumerate(mine):
            rows = [[data.examples[i] for i in data.rows[row]] for row in stream.row_indices(k)]
            batch = move(collate_rows(rows, pad_id, pad_to=pad_to, multiple_of=multiple), device)
            last = position == len(mine) - 1
            if setup.sharded:
                # reduce-scatter the gradients once per optimizer step, on its last micro-batch
                loss_module.set_requires_gradient_sync(last)
                sync = nullcontext()
            else:
                sync = nullcontext() if last or not hasattr(loss_module, "no_sync") else loss_module.no_sync()
            with sync:
                loss_sum, _ = loss_module(batch.input_ids, batch.target_ids, **attention_inputs(batch, attention, dtype))
                # DDP/FSDP average gradients over ranks; scaling by world_size makes the update sum/global_targets.
                (loss_sum * (distributed.world_size / global_targets)).backward()
            if inner.last_router_aux_loss is not None:
                aux_values.append(inner.last_router_aux_loss)
            step_loss += loss_sum.detach().double()
            step_tokens += batch.real_tokens
        if config.max_grad_norm > 0:
            grad_norm = float(clip_gradients(parameters, config.max_grad_norm))
        else:
            grad_norm = float("nan")
        learning_rate = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if distributed.world_size > 1:
            reduced = torch.stack([step_loss, torch.tensor(float(step_tokens), dtype=torch.float64, device=device)])
            dist.all_reduce(reduced)
            step_loss, step_tokens = reduced[0], int(reduced[1])
        loss = float(step_loss) / global_targets
        losses.append(loss)
        counters["tokens"] += step_tokens
        counters["target_tokens"] += global_targets
        window_tokens += step_tokens
        done = step + 1
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{loss:.4f}", lr=f"{learning_rate:.2e}")
        if done % config.logging_steps == 0 or done == total_steps:
            elapsed = time.perf_counter() - window_start
            row = {"step": done, "epoch": round(first / stream.per_epoch, 4), "loss": loss, "lr": learning_rate,
                   "grad_norm": grad_norm, "tokens": counters["tokens"], "target_tokens": global_targets,
                   "cumulative_target_tokens": counters["target_tokens"],
                   "tokens_per_second": round(window_tokens / elapsed, 2) if elapsed > 0 else None,
                   "gpu_memory_gb": round(torch.cuda.max_memory_allocated(device) / 2**30, 3)
                   if device.type == "cuda" else None}
            if aux_values:
                row["router_aux_loss"] = sum(aux_values) / len(aux_values)  # this rank's, unscaled
            metrics.write(row)
            window_tokens, window_start = 0, time.perf_counter()
        if data.validation and config.eval_steps and done % config.eval_steps == 0 and done != total_steps:
            _log_validation(loss_module, data, config, attention, dtype, device, pad_id, distributed, done, metrics)
        if config.save_steps and done % config.save_steps == 0 and done != total_steps:
            save_checkpoint(out, done, setup, optimizer, scheduler, tokenizer, distributed, config.save_total_limit,
                            record(done))
    if progress is not None:
        progress.close()
    if data.validation:
        run_info["validation_loss"] = _log_validation(loss_module, data, config, attention, dtype, device, pad_id,
                                                      distributed, total_steps, metrics)
    run_info["counters"] = dict(counters)
    save(config, setup, tokenizer, distributed, out, run_info, losses)
    return run_info


def clip_gradients(parameters, max_norm: float) -> torch.Tensor:
    """clip_grad_norm_ over the trainable parameters; with FSDP shards (DTensors) the norm is the global one."""
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm)


def _log_validation(loss_module, data: DataSetup, config, attention, dtype, device, pad_id, distributed, step,
                    metrics: MetricsLog) -> float:
    loss_module.eval()
    examples, rows = data.validation
    value = evaluate(loss_module, examples, rows, config, attention, dtype, device, pad_id, distributed)
    loss_module.train()
    metrics.write({"step": step, "eval_loss": value})
    log(distributed, f"step {step}: validation loss {value:.4f}")
    return value


def save(config: TrainConfig, setup: ModelSetup, tokenizer, distributed: Distributed, out: Path, run_info: dict,
         losses: list[float]) -> None:
    """Final adapter (safetensors + adapter_config.json), tokenizer, run record, optional merged weights."""
    write_adapter(setup, out, tokenizer, distributed)
    barrier(distributed)
    if not distributed.is_main:
        return
    run_info["final_loss"] = losses[-1] if losses else None
    (out / RUN_INFO_FILE).write_text(json.dumps(run_info, indent=2) + "\n", encoding="utf-8")
    log(distributed, f"adapter written to {out}/adapter_model.safetensors"
                     + (f"; loss {losses[0]:.4f} -> {losses[-1]:.4f}" if losses else ""))
    if config.merge_weights:
        if setup.sharded:
            # the shards are not gathered: rank 0 merges from the files, on the CPU, after the others are done
            merge_adapter(config.model, str(out), str(out / "merged"), setup.dtype)
        else:
            merged = setup.model.merge_and_unload()
            merged.save_pretrained(str(out / "merged"), safe_serialization=True)
            tokenizer.save_pretrained(str(out / "merged"))
        log(distributed, f"merged weights written to {out}/merged")
