"""Training runs end to end on the CPU: files written, loss falls, exact resume, merged export, DDP on gloo."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from conftest import TRAINER_SOURCE, make_records, run_cli, write_arrow, write_jsonl
from polyglot_trainer.config import resolve_config
from polyglot_trainer.data import sha256_file
from polyglot_trainer.train import train

FAST = {"max_length": "128", "progress_bar": "false", "device": "cpu", "warmup_ratio": "0"}


def metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_overfitting_a_few_examples_lowers_the_loss_and_writes_the_run(tmp_path, tiny_model):
    corpus = tmp_path / "out" / "lima-x"
    corpus.mkdir(parents=True)
    data = write_arrow(corpus / "ENDE.arrow", make_records(6, seed=2, max_words=12))
    (tmp_path / "out" / "manifest.json").write_text(json.dumps({"outputs": [{"sha256": sha256_file(data)}]}))
    validation = write_jsonl(tmp_path / "validation.jsonl", make_records(3, seed=9, max_words=12))
    run = tmp_path / "run"
    config = resolve_config({}, {**FAST, "data": str(data), "model": str(tiny_model), "out": str(run),
                                 "validation_data": str(validation), "eval_steps": "15",
                                 "max_steps": "30", "learning_rate": "1e-2", "gradient_accumulation_steps": "1",
                                 "merge_weights": "true", "system_messages": '{"de": "Antworte kurz."}'})
    info = train(config)
    evaluations = [row for row in metrics(run) if "eval_loss" in row]
    assert [row["step"] for row in evaluations] == [15, 30] and info["validation_loss"] == evaluations[-1]["eval_loss"]
    rows = [row for row in metrics(run) if "loss" in row]
    assert [row["step"] for row in rows] == list(range(1, 31))
    assert sum(row["loss"] for row in rows[-3:]) / 3 < 0.7 * rows[0]["loss"]
    assert all(row["tokens_per_second"] > 0 and row["lr"] > 0 for row in rows)
    assert rows[-1]["tokens"] > rows[0]["tokens"]
    assert set(rows[0]) >= {"step", "loss", "lr", "tokens", "tokens_per_second", "gpu_memory_gb"}
    for name in ("adapter_model.safetensors", "adapter_config.json", "training_config.json", "run_info.json",
                 "tokenizer.json", "merged/model.safetensors"):
        assert (run / name).is_file(), name
    adapter_config = json.loads((run / "adapter_config.json").read_text())
    assert adapter_config["r"] == 16 and adapter_config["lora_alpha"] == 32
    targets = adapter_config["target_modules"]
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"} == {
        name.rsplit(".", 1)[-1] for name in ([targets] if isinstance(targets, str) else targets)} or targets == "all-linear"
    saved = json.loads((run / "training_config.json").read_text())
    assert saved["max_steps"] == 30 and saved["seed"] == 42 and saved["system_messages"] == {"de": "Antworte kurz."}
    record = json.loads((run / "run_info.json").read_text())
    assert record["dataset"]["sha256"] == sha256_file(data)
    assert record["dataset"]["manifest"]["sha256"] == sha256_file(tmp_path / "out" / "manifest.json")
    assert record["dataset"]["manifest"]["lists_this_file"] is True
    assert record["seed"] == 42 and record["chat_template"] == "plain" and info["final_loss"] == rows[-1]["loss"]
    assert set(record["data"]["tokens_per_language"]) == {"en", "de", "fr", "it", "es"}
    # the merged export computes what base + adapter compute
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ids = torch.tensor([[1, 40, 50, 60, 70]])
    merged = AutoModelForCausalLM.from_pretrained(str(run / "merged")).eval()
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tiny_model)), str(run)).eval()
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, adapted(ids).logits, atol=1e-4, rtol=1e-4)


def test_resume_reproduces_the_uninterrupted_losses(tmp_path, tiny_model):
    data = write_jsonl(tmp_path / "d.jsonl", make_records(24, seed=3, max_words=10))
    common = {**FAST, "data": str(data), "model": str(tiny_model), "max_steps": "6", "save_steps": "3",
              "micro_batch_size": "1", "gradient_accumulation_steps": "2", "max_length": "64",
              "lora_dropout": "0.1", "learning_rate": "5e-3"}  # dropout: the RNG state must be restored too
    train(resolve_config({}, {**common, "out": str(tmp_path / "full")}))
    checkpoint = tmp_path / "full" / "checkpoints" / "step-000003"
    assert (checkpoint / "adapter_model.safetensors").is_file() and (checkpoint / "trainer_state.pt").is_file()
    train(resolve_config({}, {**common, "out": str(tmp_path / "resumed"), "resume_from": str(checkpoint)}))
    full, resumed = metrics(tmp_path / "full"), metrics(tmp_path / "resumed")
    assert [row["step"] for row in resumed] == [4, 5, 6]
    assert [row["loss"] for row in resumed] == pytest.approx([row["loss"] for row in full[3:]], abs=1e-6, rel=0)
    assert [row["lr"] for row in resumed] == pytest.approx([row["lr"] for row in full[3:]], rel=1e-12)
    a = load_file(str(tmp_path / "full" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


@pytest.fixture(scope="module")
def parallel_setup(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("parallel")
    data = write_jsonl(folder / "d.jsonl", make_records(16, seed=4, max_words=10))
    common = {"data": str(data), "model": str(tiny_model), "max_steps": "3", "max_length": "64",
              "micro_batch_size": "1", "device": "cpu", "progress_bar": "false", "learning_rate": "5e-3",
              "warmup_ratio": "0"}
    train(resolve_config({}, {**common, "out": str(folder / "single"), "gradient_accumulation_steps": "2"}))
    return folder, common


@pytest.mark.parametrize("sharding", ["ddp", "fsdp"])
def test_two_processes_on_gloo_match_one_process_with_accumulation(parallel_setup, sharding):
    folder, common = parallel_setup
    arguments = [item for key, value in common.items() for item in (f"--{key.replace('_', '-')}", value)]
    out = folder / sharding
    environment = {**os.environ, "PYTHONPATH": str(TRAINER_SOURCE), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                             "-m", "polyglot_trainer", "train", *arguments, "--out", str(out),
                             "--gradient-accumulation-steps", "1", *(["--fsdp"] if sharding == "fsdp" else [])],
                            env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    one, two = metrics(folder / "single"), metrics(out)
    assert [row["loss"] for row in two] == pytest.approx([row["loss"] for row in one], abs=1e-5)
    assert [row["tokens"] for row in two] == [row["tokens"] for row in one]
    assert json.loads((out / "run_info.json").read_text())["world_size"] == 2
    a = load_file(str(folder / "single" / "adapter_model.safetensors"))
    b = load_file(str(out / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_cli_rejects_a_file_that_is_not_a_dataset(tmp_path, tiny_model):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello\n")
    result = run_cli("train", "--data", str(bogus), "--model", str(tiny_model), "--device", "cpu",
                     "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not a polyglot-instruct dataset" in result.stderr and "npx build-datasets build" in result.stderr
