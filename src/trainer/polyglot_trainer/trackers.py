"""Experiment trackers: every metrics.jsonl row, the resolved config and the dataset's identity (its sha256 and
that of the study manifest) also go to TensorBoard, Weights & Biases or MLflow.

    python -m polyglot_trainer train ... --report-to tensorboard,wandb,mlflow
    tensorboard --logdir run/tensorboard

Each tracker is an optional dependency: `pip install 'polyglot-trainer[tensorboard]'` (or `[wandb]`, `[mlflow]`).
Where each one writes:
- tensorboard: event files in `<out>/tensorboard`;
- wandb: the project `$WANDB_PROJECT` (else "polyglot-trainer"), local files in `<out>/wandb`; `WANDB_MODE=offline`
  keeps the run on disk for a later `wandb sync`;
- mlflow: the tracking server `$MLFLOW_TRACKING_URI`, else a file store `<out>/mlruns`; the experiment
  `$MLFLOW_EXPERIMENT_NAME` (else "polyglot-trainer").
Only rank 0 reports. A resumed run drops the TensorBoard events after its checkpoint (as metrics.jsonl drops its
rows) and is a new W&B or MLflow run that starts at the checkpoint's step.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from .errors import DependencyError

# tracker -> (module it imports, the pip package that provides it)
TRACKERS = {"tensorboard": ("tensorboard", "tensorboard"), "wandb": ("wandb", "wandb"),
            "mlflow": ("mlflow", "mlflow-skinny")}
TENSORBOARD_FOLDER = "tensorboard"
WANDB_FOLDER = "wandb"
MLFLOW_FOLDER = "mlruns"
DEFAULT_PROJECT = "polyglot-trainer"


def check_trackers(names: list[str]) -> None:
    """Raise a DependencyError naming the pip command when a tracker's package is not installed."""
    missing = [name for name in names if name in TRACKERS and importlib.util.find_spec(TRACKERS[name][0]) is None]
    if not missing:
        return
    packages = " ".join(TRACKERS[name][1] for name in missing)
    extras = ",".join(missing)
    raise DependencyError(
        f"--report-to {','.join(missing)}: the package{'s' if len(missing) > 1 else ''} {packages} "
        f"{'are' if len(missing) > 1 else 'is'} not installed in {sys.executable}. Install "
        f"{'them' if len(missing) > 1 else 'it'} with:\n  {sys.executable} -m pip install {packages}\n"
        f"(or the trainer's extras: pip install 'polyglot-trainer[{extras}]'), or drop it from --report-to")


def numeric_metrics(row: dict) -> dict[str, float]:
    """The row's numbers other than `step` (None, e.g. gpu_memory_gb on a CPU, and NaN are left out)."""
    return {key: float(value) for key, value in row.items()
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool)
            and not math.isnan(value)}


def run_identity(settings: dict, dataset: dict) -> dict[str, Any]:
    """What every tracker records about the run besides the metrics."""
    manifest = dataset.get("manifest") or {}
    return {"config": settings, "dataset_path": dataset.get("path"), "dataset_sha256": dataset.get("sha256"),
            "dataset_manifest_path": manifest.get("path"), "dataset_manifest_sha256": manifest.get("sha256")}


class TensorBoardTracker:
    def __init__(self, out: Path, identity: dict, start_step: int):
        from torch.utils.tensorboard import SummaryWriter

        # purge_step hides events a crashed run wrote after the checkpoint this run resumes from
        self.writer = SummaryWriter(log_dir=str(out / TENSORBOARD_FOLDER),
                                    purge_step=start_step + 1 if start_step else None)
        self.writer.add_text("config", "```json\n" + json.dumps(identity["config"], indent=2) + "\n```", start_step)
        dataset = {key: value for key, value in identity.items() if key != "config"}
        self.writer.add_text("dataset", "```json\n" + json.dumps(dataset, indent=2) + "\n```", start_step)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)

    def close(self, failed: bool) -> None:
        self.writer.close()


class WandbTracker:
    def __init__(self, out: Path, identity: dict, run_name: str):
        import wandb

        (out / WANDB_FOLDER).mkdir(parents=True, exist_ok=True)
        config = dict(identity["config"])
        config.update({key: value for key, value in identity.items() if key != "config"})
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT, name=run_name,
                              dir=str(out), config=config, reinit="create_new")

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.run.log(metrics, step=step)

    def close(self, failed: bool) -> None:
        self.run.finish(exit_code=1 if failed else 0)


class MlflowTracker:
    def __init__(self, out: Path, identity: dict, run_name: str):
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI") or (out / MLFLOW_FOLDER).resolve().as_uri()
        if uri.startswith("file:"):
            # MLflow 3 refuses file stores unless asked (it prefers sqlite, which mlflow-skinny cannot run); the run
            # folder's own store is this trainer's choice, so it asks. A user's explicit setting is kept.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        # a client of its own (no mlflow.start_run): the process-wide active run stays the caller's
        self.client = MlflowClient(tracking_uri=uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_PROJECT
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
        tags = {key: str(value) for key, value in identity.items() if key != "config" and value is not None}
        self.run_id = self.client.create_run(experiment_id, run_name=run_name, tags=tags).info.run_id
        from mlflow.entities import Param

        params = [Param(key, value if isinstance(value, str) else json.dumps(value))
                  for key, value in identity["config"].items()]
        self.client.log_batch(self.run_id, params=params)
        self.client.log_dict(self.run_id, identity["config"], "training_config.json")

    def log(self, step: int, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(key, value, now, step) for key, value in metrics.items()])

    def close(self, failed: bool) -> None:
        self.client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")


def open_trackers(names: list[str], out: Path, settings: dict, dataset: dict, start_step: int,
                  run_name: str | None = None) -> list:
    """The trackers named in `--report-to`, each holding the resolved config and the dataset's sha256 already."""
    check_trackers(names)
    identity = run_identity(settings, dataset)
    run_name = run_name or out.resolve().name
    trackers = []
    try:
        for name in names:
            if name == "tensorboard":
                trackers.append(TensorBoardTracker(out, identity, start_step))
            elif name == "wandb":
                trackers.append(WandbTracker(out, identity, run_name))
            elif name == "mlflow":
                trackers.append(MlflowTracker(out, identity, run_name))
    except BaseException:
        for tracker in trackers:  # e.g. an unreachable MLflow server: the W&B run already begun ends as failed
            tracker.close(failed=True)
        raise
    return trackers


class MetricsLog:
    """metrics.jsonl and the trackers: every row goes to both, so they hold the same numbers. Rows written before
    `open` (and on ranks other than 0, which never open it) go nowhere."""

    def __init__(self):
        self.path: Path | None = None
        self.trackers: list = []

    def open(self, path: Path, trackers: list) -> None:
        self.path, self.trackers = path, trackers

    def write(self, row: dict) -> None:
        if self.path is None:  # not rank 0
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        metrics = numeric_metrics(row)
        for tracker in self.trackers:
            tracker.log(int(row["step"]), metrics)

    def close(self, failed: bool = False) -> None:
        for tracker in self.trackers:
            tracker.close(failed)
        self.trackers = []
