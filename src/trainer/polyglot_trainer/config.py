"""Training configuration: one dataclass, loaded from defaults <- JSON/YAML file <- command-line overrides.

Every problem (unknown key, wrong type, invalid value) is collected and reported at once.
The defaults suit LoRA instruction tuning of a 7B model on one GPU.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from .errors import ConfigError
from .trackers import TRACKERS

CHAT_TEMPLATES = ("auto", "tokenizer", "opengptx", "plain", "chatml", "llama3")
ATTENTION_IMPLEMENTATIONS = ("auto", "flex", "varlen", "sdpa", "eager", "flash_attention_2")
DTYPES = ("auto", "bfloat16", "float16", "float32")
SCHEDULERS = ("cosine", "linear", "constant")
TRACKER_NAMES = tuple(TRACKERS)


@dataclass
class TrainConfig:
    # --- data ---
    data: str = ""  # training set: an Arrow IPC (.arrow) or JSONL file written by build-datasets
    validation_data: str | None = None  # optional held-out set in the same format, scored every eval_steps
    max_length: int = 2048  # tokens per example and per packed row; longer examples are truncated from the end
    packing: bool = True  # best-fit-decreasing packing of examples into rows of max_length tokens
    chat_template: str = "auto"  # auto (the tokenizer's template, else plain) | tokenizer | opengptx (the study's) | plain | chatml | llama3
    system_message: str | None = None  # system message prepended when an example has none
    system_messages: dict[str, str] = field(default_factory=dict)  # per-language system message, e.g. {"de": "..."}
    # --- model ---
    model: str = ""  # base model: a local directory (or a Hugging Face hub id)
    attention: str = "auto"  # auto (flex on CUDA, sdpa on CPU) | flex | varlen | sdpa | eager | flash_attention_2
    dtype: str = "auto"  # weights/compute dtype: auto (bfloat16 on CUDA, float32 on CPU) | bfloat16 | float16 | float32
    gradient_checkpointing: bool = False  # recompute activations in backward: less memory, about 30% slower
    # --- LoRA ---
    lora_r: int = 16  # LoRA rank
    lora_alpha: int = 32  # LoRA scaling numerator (scale = alpha / r)
    lora_dropout: float = 0.0  # dropout on LoRA inputs; 0 avoids a copy of every adapted activation
    lora_target_modules: list[str] = field(default_factory=lambda: ["all-linear"])  # module names, or all-linear
    # --- optimisation ---
    learning_rate: float = 2e-4  # peak learning rate
    lr_scheduler: str = "cosine"  # cosine | linear | constant, after linear warmup
    warmup_ratio: float = 0.03  # fraction of the optimizer steps spent warming up
    min_lr_ratio: float = 0.0  # final learning rate as a fraction of the peak
    weight_decay: float = 0.0  # AdamW weight decay on LoRA weights
    adam_beta1: float = 0.9  # AdamW beta1
    adam_beta2: float = 0.999  # AdamW beta2
    max_grad_norm: float = 1.0  # gradient clipping norm (0 disables)
    epochs: int = 3  # passes over the training set (ignored when max_steps is set)
    max_steps: int | None = None  # optimizer steps to run; overrides epochs
    micro_batch_size: int = 1  # rows (packed or single examples) per forward pass and device
    gradient_accumulation_steps: int = 4  # micro-batches per optimizer step and device
    loss_chunk_tokens: int = 8192  # LM head + cross-entropy run on this many target tokens at a time
    seed: int = 42  # seeds weights of LoRA, data order and dropout
    # --- hardware ---
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    tf32: bool = True  # allow TF32 matmuls on Ampere+ GPUs
    fsdp: bool = False  # shard the model with FSDP2 across the torchrun processes (for models that do not fit one GPU)
    # --- run ---
    out: str = "run"  # output directory: adapter, resolved config, metrics.jsonl, checkpoints
    logging_steps: int = 1  # write a metrics.jsonl row every N optimizer steps
    save_steps: int = 200  # checkpoint every N optimizer steps (0: only the final adapter)
    save_total_limit: int = 3  # keep the newest N checkpoints (0 keeps all)
    eval_steps: int = 0  # score validation_data every N steps (0: only at the end)
    resume_from: str | None = None  # checkpoint directory, or "latest" for the newest one under out/checkpoints
    overwrite: bool = False  # a new run into an --out holding another run's files deletes them (else refused)
    allow_changes: list[str] = field(default_factory=list)  # settings a resume may change, e.g. learning_rate,data_sha256
    merge_weights: bool = False  # also write out/merged: base weights with the adapter merged in
    progress_bar: bool = True  # show a tqdm progress bar on rank 0
    report_to: list[str] = field(default_factory=list)  # also send metrics, config, data sha256 to: tensorboard,wandb,mlflow
    run_name: str | None = None  # the run's name in W&B and MLflow (default: the name of the out folder)


def describe_fields() -> list[tuple[str, str, Any, str]]:
    """(name, type, default, comment) for every field, read from this file so `train --help` shows the comments."""
    source = Path(__file__).read_text(encoding="utf-8")
    comments = dict(re.findall(r"^\s{4}(\w+): [^=\n]+=.*?#\s*(.+)$", source, flags=re.MULTILINE))
    hints = typing.get_type_hints(TrainConfig)
    rows = []
    for config_field in dataclasses.fields(TrainConfig):
        default = (
            config_field.default_factory()  # type: ignore[misc]
            if config_field.default_factory is not dataclasses.MISSING
            else config_field.default
        )
        rows.append((config_field.name, _type_name(hints[config_field.name]), default, comments.get(config_field.name, "")))
    return rows


def _type_name(annotation: Any) -> str:
    if annotation in (int, float, str, bool):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _is_optional(annotation: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        arguments = [argument for argument in typing.get_args(annotation) if argument is not type(None)]
        if len(arguments) != len(typing.get_args(annotation)):
            return True, arguments[0]
    return False, annotation


def _check_value(name: str, value: Any, annotation: Any, from_text: bool) -> tuple[Any, str | None]:
    """Coerce `value` to `annotation` (strings from the command line are parsed). Returns (value, problem)."""
    optional, inner = _is_optional(annotation)
    if value is None or (from_text and optional and isinstance(value, str) and value.lower() in ("none", "null")):
        return (None, None) if optional else (value, f"{name}: must not be null (expected {_type_name(inner)})")
    expected = _type_name(inner)
    if inner is bool:
        if isinstance(value, bool):
            return value, None
        if from_text and isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes"), None
        return value, f"{name}: expected a boolean (true/false), got {value!r}"
    if inner is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        if from_text and isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value), None
        return value, f"{name}: expected an integer, got {value!r}"
    if inner is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), None
        if from_text and isinstance(value, str):
            try:
                return float(value), None
            except ValueError:
                pass
        return value, f"{name}: expected a number, got {value!r}"
    if inner is str:
        if isinstance(value, str):
            return value, None
        return value, f"{name}: expected a string, got {value!r}"
    origin = typing.get_origin(inner)
    if origin is list:
        if from_text and isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value, None
        return value, f"{name}: expected a list of strings, got {value!r}"
    if origin is dict:
        if from_text and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
                if all(len(pair) == 2 for pair in pairs):
                    value = {key.strip(): text for key, text in pairs}
        if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return value, None
        return value, f"{name}: expected a mapping of strings (JSON or key=value,key=value), got {value!r}"
    return value, f"{name}: unsupported type {expected}"


def _validate_values(config: TrainConfig) -> list[str]:
    problems = []
    choices = {
        "chat_template": CHAT_TEMPLATES,
        "attention": ATTENTION_IMPLEMENTATIONS,
        "dtype": DTYPES,
        "lr_scheduler": SCHEDULERS,
    }
    for name, allowed in choices.items():
        if getattr(config, name) not in allowed:
            problems.append(f"{name}: {getattr(config, name)!r} is not one of {', '.join(allowed)}")
    unknown_trackers = [name for name in config.report_to if name not in TRACKER_NAMES]
    if unknown_trackers:
        problems.append(f"report_to: {', '.join(unknown_trackers)} not one of {', '.join(TRACKER_NAMES)}")
    if len(set(config.report_to)) != len(config.report_to):
        problems.append(f"report_to: {','.join(config.report_to)} names a tracker twice")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", config.device):
        problems.append(f"device: {config.device!r} is not auto, cpu, cuda or cuda:N")
    for name in ("max_length", "lora_r", "lora_alpha", "micro_batch_size", "gradient_accumulation_steps", "epochs",
                 "logging_steps", "loss_chunk_tokens"):
        if getattr(config, name) < 1:
            problems.append(f"{name}: must be at least 1, got {getattr(config, name)}")
    for name in ("save_steps", "eval_steps", "save_total_limit", "weight_decay", "max_grad_norm", "learning_rate"):
        if getattr(config, name) < 0:
            problems.append(f"{name}: must not be negative, got {getattr(config, name)}")
    if config.max_steps is not None and config.max_steps < 1:
        problems.append(f"max_steps: must be at least 1, got {config.max_steps}")
    for name in ("warmup_ratio", "min_lr_ratio", "lora_dropout"):
        if not 0.0 <= getattr(config, name) < 1.0 + (name == "min_lr_ratio"):
            problems.append(f"{name}: must be in [0, 1), got {getattr(config, name)}")
    from .run_folder import FACTS

    unknown = [name for name in config.allow_changes
               if name not in FACTS and name not in {f.name for f in dataclasses.fields(TrainConfig)}]
    if unknown:
        problems.append(f"allow_changes: {', '.join(unknown)} not a setting name (or one of {', '.join(FACTS)})")
    if not config.data:
        problems.append("data: required; pass --data path/to/COMPOSITION.arrow (or .jsonl)")
    if not config.model:
        problems.append("model: required; pass --model path/to/base-model (make one with make-tiny-model)")
    return problems


def _yaml_load(text: str):
    """yaml.safe_load, but `2e-4` is a number: PyYAML follows YAML 1.1, which needs a dot (`2.0e-4`) and reads
    `2e-4` as a string; YAML 1.2 and every other tool read it as the float users mean."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"))
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML config file into a dict (keys are checked by `resolve_config`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"config: file not found: {path}"])
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            values = json.loads(text)
        else:
            values = _yaml_load(text) or {}
    except Exception as error:  # noqa: BLE001 - both parsers' errors are reported the same way
        raise ConfigError([f"config: cannot parse {path}: {error}"]) from error
    if not isinstance(values, dict):
        raise ConfigError([f"config: {path} must hold a mapping of field names to values"])
    return values


def resolve_config(file_values: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None,
                   overrides_are_text: bool = True, require_paths: bool = True) -> TrainConfig:
    """Build a TrainConfig from defaults, then file values, then overrides; raise ConfigError listing every problem.

    Keys may use dashes or underscores (`max-steps` == `max_steps`).
    """
    hints = typing.get_type_hints(TrainConfig)
    names = [config_field.name for config_field in dataclasses.fields(TrainConfig)]
    problems: list[str] = []
    values: dict[str, Any] = {}
    mistyped: set[str] = set()
    for source, mapping, from_text in (("config file", file_values or {}, False),
                                       ("command line", overrides or {}, overrides_are_text)):
        for raw_key, value in mapping.items():
            key = str(raw_key).replace("-", "_")
            if key not in hints:
                suggestion = difflib.get_close_matches(key, names, n=1)
                hint = f"; did you mean {suggestion[0]!r}?" if suggestion else ""
                problems.append(f"{raw_key}: unknown key ({source}){hint}")
                continue
            coerced, problem = _check_value(key, value, hints[key], from_text)
            if problem:
                problems.append(f"{problem} ({source})")
                mistyped.add(key)
            else:
                values[key] = coerced
                mistyped.discard(key)
    # ranges are checked on the well-typed values too, so one run reports every problem
    config = TrainConfig(**values)
    value_problems = [problem for problem in _validate_values(config) if problem.split(":", 1)[0] not in mistyped]
    if not require_paths:
        value_problems = [problem for problem in value_problems if not problem.startswith(("data:", "model:"))]
    problems += value_problems
    if problems:
        raise ConfigError(problems)
    return config


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)
