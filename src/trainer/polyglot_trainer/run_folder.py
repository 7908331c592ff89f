"""The run folder's safety checks: a new run never mixes with another run's files, and a resume continues the
run it says it continues (same settings, data, base model and world size, unless a change is allowed by name).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from .errors import TrainerError

RUN_FILES = ("training_config.json", "run_info.json", "metrics.jsonl", "checkpoints", "adapter_model.safetensors",
             "adapter_config.json", "merged", "tensorboard", "wandb", "mlruns")
RECORD_FILE = "checkpoint.json"
# Settings that do not change what is trained: free to differ on a resume.
FREE_SETTINGS = {"out", "resume_from", "overwrite", "allow_changes", "progress_bar", "logging_steps", "save_steps",
                 "save_total_limit", "eval_steps", "validation_data", "merge_weights", "device", "data", "model",
                 "report_to", "run_name"}
# Names for the recorded facts beside the settings, usable in --allow-changes.
FACTS = ("data_sha256", "world_size", "base_model")


def existing_run_files(out: Path) -> list[str]:
    return [name for name in RUN_FILES if (out / name).exists()]


def prepare_out_folder(out: Path, resuming: bool, overwrite: bool, is_main: bool) -> list[str]:
    """Refuse a fresh run into a folder holding another run's files, unless `overwrite` (then clear them).
    Returns the files removed."""
    found = existing_run_files(out)
    if not found or resuming:
        return []
    if not overwrite:
        raise TrainerError(f"--out {out} already holds a run ({', '.join(found)}); a new run there would mix with "
                           "it. Pass --resume-from latest to continue that run, another --out, or --overwrite to "
                           "delete those files first")
    if is_main:
        for name in found:
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return found


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def describe_base_model(path: str, config=None) -> dict[str, Any]:
    """The base model's identity: sha256 of config.json and of the weight index (or of each safetensors header,
    which lists every tensor's name, shape and offsets, and the file size), or the hub revision."""
    folder = Path(path)
    info: dict[str, Any] = {"path": str(folder.resolve()) if folder.is_dir() else path}
    revision = getattr(config, "_commit_hash", None) if config is not None else None
    if revision:
        info["revision"] = revision
    if not folder.is_dir():
        return info
    if (folder / "config.json").is_file():
        info["config_sha256"] = sha256_of(folder / "config.json")
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        info["weights_index_sha256"] = sha256_of(index)
    else:
        weights = {}
        for file in sorted(folder.glob("*.safetensors")):
            with file.open("rb") as handle:
                length = int.from_bytes(handle.read(8), "little")
                header = handle.read(min(length, 100_000_000))
            weights[file.name] = {"size": file.stat().st_size, "header_sha256": hashlib.sha256(header).hexdigest()}
        info["weights"] = weights
    return info


def model_identity(info: dict[str, Any]) -> dict[str, Any]:
    """What must be equal for two runs to share a base model (the path may move)."""
    return {key: value for key, value in info.items() if key != "path"}


def checkpoint_record(step: int, config: dict, data_sha256: str, world_size: int, base_model: dict,
                      counters: dict) -> dict:
    return {"step": step, "config": config, "data_sha256": data_sha256, "world_size": world_size,
            "base_model": model_identity(base_model), "counters": counters}


def read_checkpoint_record(checkpoint: Path) -> dict:
    path = checkpoint / RECORD_FILE
    if not path.is_file():
        raise TrainerError(f"checkpoint {checkpoint} has no {RECORD_FILE} (written by an older trainer): its settings "
                           "cannot be checked; restart the run with --overwrite")
    return json.loads(path.read_text(encoding="utf-8"))


def differences(record: dict, config: dict, data_sha256: str, world_size: int, base_model: dict) -> dict[str, dict]:
    """{name: {"checkpoint": old, "now": new}} for every setting or fact that changed."""
    changed = {}
    for key in sorted(set(record["config"]) | set(config)):
        if key in FREE_SETTINGS:
            continue
        old, new = record["config"].get(key), config.get(key)
        if old != new:
            changed[key] = {"checkpoint": old, "now": new}
    now = {"data_sha256": data_sha256, "world_size": world_size, "base_model": model_identity(base_model)}
    for key in FACTS:
        if record.get(key) != now[key]:
            changed[key] = {"checkpoint": record.get(key), "now": now[key]}
    return changed


def check_resume(record: dict, config: dict, data_sha256: str, world_size: int, base_model: dict,
                 allowed: list[str], checkpoint: Path) -> dict[str, dict]:
    """Refuse a resume whose settings differ from the checkpoint's, listing each difference; changes named in
    `allowed` pass and are returned (for run_info.json)."""
    changed = differences(record, config, data_sha256, world_size, base_model)
    refused = {key: value for key, value in changed.items() if key not in allowed}
    if refused:
        lines = "\n".join(f"  - {key}: {json.dumps(value['checkpoint'])} in the checkpoint, {json.dumps(value['now'])} now"
                          for key, value in refused.items())
        raise TrainerError(f"resume from {checkpoint}: {len(refused)} setting{'s' if len(refused) > 1 else ''} "
                           f"differ from the checkpoint's run:\n{lines}\nResume with the checkpoint's settings, or "
                           f"pass --allow-changes {','.join(refused)} to change them deliberately (recorded in "
                           "run_info.json)")
    return changed
