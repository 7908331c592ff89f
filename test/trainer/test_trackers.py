"""`--report-to tensorboard,wandb,mlflow`: each tracker, in its offline mode, holds the metrics.jsonl numbers, the
resolved config and the dataset's sha256 (and its manifest's), read back with the tracker's own reader."""

import json
import sys

import pytest

from conftest import TRAINER_SOURCE, make_records, run_cli, write_arrow
from polyglot_trainer.config import resolve_config
from polyglot_trainer.data import sha256_file
from polyglot_trainer.errors import ConfigError, DependencyError
from polyglot_trainer.trackers import check_trackers
from polyglot_trainer.train import train

FAST = {"max_length": "128", "progress_bar": "false", "device": "cpu", "warmup_ratio": "0",
        "gradient_accumulation_steps": "1", "learning_rate": "1e-2", "save_steps": "0"}


@pytest.fixture
def study(tmp_path):
    """A composition beside its study manifest, as `build` writes them."""
    folder = tmp_path / "study" / "lima-x"
    folder.mkdir(parents=True)
    data = write_arrow(folder / "ENDE.arrow", make_records(6, seed=2, max_words=12))
    manifest = tmp_path / "study" / "manifest.json"
    manifest.write_text(json.dumps({"outputs": [{"path": "lima-x/ENDE.arrow", "sha256": sha256_file(data)}]}))
    return data, manifest


def offline_environment(folder) -> dict[str, str]:
    """The trackers' offline modes, their own files under `folder` (not the user's home), no telemetry."""
    return {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_CONFIG_DIR": str(folder / "wandb-config"),
            "WANDB_CACHE_DIR": str(folder / "wandb-cache"), "WANDB_DATA_DIR": str(folder / "wandb-data"),
            "MLFLOW_DISABLE_TELEMETRY": "true"}


def train_with(trackers: str, data, tiny_model, run, monkeypatch, steps: int = 6, run_name: str | None = None):
    for name, value in offline_environment(run.parent).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # the trainer sets it for its own store
    config = resolve_config({}, {**FAST, "data": str(data), "model": str(tiny_model), "out": str(run),
                                 "max_steps": str(steps), "report_to": trackers,
                                 **({"run_name": run_name} if run_name else {})})
    train(config)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return config, rows


def test_tensorboard_event_files_hold_the_loss_curve_config_and_dataset_sha256(tmp_path, tiny_model, study,
                                                                                monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    data, manifest = study
    run = tmp_path / "run"
    _, rows = train_with("tensorboard", data, tiny_model, run, monkeypatch)
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    losses = [(event.step, event.value) for event in events.Scalars("loss")]
    assert losses == [(row["step"], pytest.approx(row["loss"], rel=1e-6)) for row in rows]
    assert [event.value for event in events.Scalars("lr")] == [pytest.approx(row["lr"], rel=1e-6) for row in rows]
    assert losses[-1][1] < losses[0][1]
    # add_text stores Markdown as a string tensor
    texts = {tag: events.Tensors(tag)[0].tensor_proto.string_val[0].decode() for tag in ("config/text_summary",
                                                                                          "dataset/text_summary")}
    assert '"max_steps": 6' in texts["config/text_summary"]
    assert sha256_file(data) in texts["dataset/text_summary"]
    assert sha256_file(manifest) in texts["dataset/text_summary"]


def read_wandb_records(path):
    """The protobuf records of a `.wandb` run file. wandb >= 0.2x reads these files in its Go core only (the Python
    reader, wandb.sdk.internal.datastore, is gone), so the framing is read here: a 7-byte header (":W&B", magic
    0xBEE1, version 0), then LevelDB's log format: 32 KiB blocks of chunks, each with crc32 (4 bytes), length (2,
    little-endian) and type (1: whole record, 2/3/4: first/middle/last part); a block's last < 7 bytes are padding."""
    from wandb.proto import wandb_internal_pb2

    content = path.read_bytes()
    assert content[:4] == b":W&B" and content[4:6] == (0xBEE1).to_bytes(2, "little"), "not a .wandb file"
    block, position, pending = 32768, 7, b""
    while position + 7 <= len(content):
        if block - position % block < 7:
            position += block - position % block
            continue
        length = int.from_bytes(content[position + 4:position + 6], "little")
        kind = content[position + 6]
        if kind == 0 and length == 0:  # zero padding at the end of the file
            break
        pending += content[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record
            pending = b""


def test_wandb_offline_run_files_hold_the_metrics_config_and_dataset_sha256(tmp_path, tiny_model, study, monkeypatch):
    data, manifest = study
    run = tmp_path / "run"
    _, rows = train_with("wandb", data, tiny_model, run, monkeypatch)
    # run.finish() returns before wandb-core has written the run file; a process's exit waits for it, as teardown does
    import wandb

    wandb.teardown()
    (log_file,) = (run / "wandb").glob("offline-run-*/run-*.wandb")
    history, config, names = [], {}, []
    for record in read_wandb_records(log_file):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            history.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                            for item in record.history.item})
        if kind == "run":
            names.append(record.run.display_name)
        if kind in ("config", "run"):
            for item in (record.config if kind == "config" else record.run.config).update:
                config[item.key] = json.loads(item.value_json)
    assert [(entry["_step"], entry["loss"]) for entry in history] == [
        (row["step"], pytest.approx(row["loss"], rel=1e-6)) for row in rows]
    assert [entry["grad_norm"] for entry in history] == [pytest.approx(row["grad_norm"], rel=1e-6) for row in rows]
    assert config["max_steps"] == 6 and config["report_to"] == ["wandb"] and set(names) == {"run"}  # the --out folder
    assert config["dataset_sha256"] == sha256_file(data)
    assert config["dataset_manifest_sha256"] == sha256_file(manifest)


def test_mlflow_file_store_holds_the_metrics_config_and_dataset_sha256(tmp_path, tiny_model, study, monkeypatch):
    from mlflow.tracking import MlflowClient

    data, manifest = study
    run = tmp_path / "run"
    config, rows = train_with("mlflow", data, tiny_model, run, monkeypatch, run_name="lora-ende")
    client = MlflowClient(tracking_uri=(run / "mlruns").as_uri())
    experiment = client.get_experiment_by_name("polyglot-trainer")
    (found,) = client.search_runs([experiment.experiment_id])
    assert found.info.status == "FINISHED" and found.info.run_name == "lora-ende"
    history = client.get_metric_history(found.info.run_id, "loss")
    assert sorted((metric.step, metric.value) for metric in history) == [
        (row["step"], pytest.approx(row["loss"], rel=1e-6)) for row in rows]
    assert found.data.params["max_steps"] == "6" and found.data.params["report_to"] == '["mlflow"]'
    assert found.data.tags["dataset_sha256"] == sha256_file(data)
    assert found.data.tags["dataset_manifest_sha256"] == sha256_file(manifest)
    saved = json.loads((run / "mlruns").joinpath(experiment.experiment_id, found.info.run_id, "artifacts",
                                                 "training_config.json").read_text())
    assert saved == json.loads((run / "training_config.json").read_text())


def test_every_tracker_at_once_from_the_command_line(tmp_path, tiny_model, study):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    data, _ = study
    run = tmp_path / "run"
    result = run_cli("train", "--data", str(data), "--model", str(tiny_model), "--out", str(run), "--max-steps", "2",
                     "--report-to", "tensorboard,wandb,mlflow", *(f"--{key.replace('_', '-')}={value}"
                                                                 for key, value in FAST.items()),
                     env={**offline_environment(tmp_path), "MLFLOW_TRACKING_URI": ""})
    assert result.returncode == 0, result.stderr
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert [event.step for event in events.Scalars("loss")] == [1, 2]
    assert list((run / "wandb").glob("offline-run-*/run-*.wandb"))
    assert list((run / "mlruns").glob("*/*/metrics/loss"))


def test_a_missing_tracker_package_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # what an environment without wandb looks like to importlib
    with pytest.raises(DependencyError) as caught:
        check_trackers(["tensorboard", "wandb"])
    message = str(caught.value)
    assert f"{sys.executable} -m pip install wandb" in message and "polyglot-trainer[wandb]" in message
    assert "tensorboard" not in message.split("\n")[0]


def test_a_missing_tracker_fails_the_command_before_training(tmp_path, tiny_model, study):
    data, _ = study
    hide = tmp_path / "hide"
    hide.mkdir()
    # a sitecustomize that hides mlflow, as in an environment where it is not installed
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['mlflow'] = None\n")
    result = run_cli("train", "--data", str(data), "--model", str(tiny_model), "--out", str(tmp_path / "run"),
                     "--report-to", "mlflow", "--device", "cpu",
                     env={"PYTHONPATH": f"{hide}:{TRAINER_SOURCE}"})
    assert result.returncode != 0
    assert "-m pip install mlflow-skinny" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_unknown_tracker_names_are_config_errors():
    with pytest.raises(ConfigError, match=r"report_to: comet not one of tensorboard, wandb, mlflow"):
        resolve_config({}, {"data": "x.arrow", "model": "m", "report_to": "tensorboard,comet"})


def test_a_resumed_run_replaces_the_tensorboard_events_after_its_checkpoint(tmp_path, tiny_model, study, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    data, _ = study
    run = tmp_path / "run"
    settings = {**FAST, "data": str(data), "model": str(tiny_model), "out": str(run), "max_steps": "4",
                "save_steps": "2", "report_to": "tensorboard"}
    train(resolve_config({}, settings))
    # the run goes on from step 2 with another learning rate: steps 3 and 4 are logged again, with other losses
    train(resolve_config({}, {**settings, "resume_from": str(run / "checkpoints" / "step-000002"),
                              "learning_rate": "5e-2", "allow_changes": "learning_rate"}))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert [(event.step, event.value) for event in events.Scalars("loss")] == [
        (row["step"], pytest.approx(row["loss"], rel=1e-6)) for row in rows]
    assert [row["step"] for row in rows] == [1, 2, 3, 4]
