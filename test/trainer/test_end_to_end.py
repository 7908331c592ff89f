"""The TypeScript CLI builds the fixture study; the trainer trains a tiny model on its Lima-X .arrow output."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO
from polyglot_trainer.config import resolve_config
from polyglot_trainer.tiny_model import make_tiny_model
from polyglot_trainer.train import train

CLI = REPO / "dist" / "cli" / "main.js"


def test_compose_then_train_on_the_arrow_output(tmp_path):
    if not CLI.is_file():
        # In CI a missing build is a broken pipeline, not a reason to pass without testing the chain.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{CLI} is missing: run `npm run build` first (npm test does) to test the TypeScript -> trainer chain")
    built = subprocess.run(["node", str(CLI), "build", "--out", str(tmp_path / "out"), "--quiet"], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    data = tmp_path / "out" / "lima-x" / "ENDEFRITES.arrow"
    assert data.read_bytes()[:4] == b"\xff\xff\xff\xff"  # the IPC stream format (build's default)
    # in-process (the command line and its launcher are tested elsewhere): two Python start-ups saved
    make_tiny_model(str(data), str(tmp_path / "tiny"), hidden_size=32, intermediate_size=64)
    run = tmp_path / "run"
    train(resolve_config({}, {"data": str(data), "model": str(tmp_path / "tiny"), "out": str(run), "max_steps": "12",
                              "device": "cpu", "max_length": "512", "learning_rate": "5e-3",
                              "gradient_accumulation_steps": "2", "progress_bar": "false"}))
    for name in ("adapter_model.safetensors", "adapter_config.json", "training_config.json", "metrics.jsonl"):
        assert (run / name).is_file(), name
    losses = [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 12 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    record = json.loads((run / "run_info.json").read_text())
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert record["dataset"]["manifest"]["lists_this_file"] is True
    assert record["dataset"]["sha256"] in {output["sha256"] for output in manifest["outputs"]}
    assert set(record["data"]["tokens_per_language"]) == {"en", "de", "fr", "it", "es"}
