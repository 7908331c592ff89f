"""FSDP on two gloo processes: validation finishes, DCP checkpoints resume to the same losses, merged export,
tied embeddings, a tiny Mixtral loaded from per-expert checkpoints, and no rank ever holds the whole model."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from conftest import TRAINER_SOURCE, make_records, write_jsonl
from polyglot_trainer.config import resolve_config
from polyglot_trainer.train import train

COMMON = {"max_length": "64", "micro_batch_size": "1", "device": "cpu", "progress_bar": "false",
          "learning_rate": "5e-3", "warmup_ratio": "0", "gradient_accumulation_steps": "1"}


def torchrun(*arguments, timeout=300):
    environment = {**os.environ, "PYTHONPATH": str(TRAINER_SOURCE), "OMP_NUM_THREADS": "1",
                   "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                             *arguments], env=environment, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def cli_arguments(values):
    return [item for key, value in values.items() for item in (f"--{key.replace('_', '-')}", value)]


def metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def save_model(folder, config, tokenizer_folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(str(folder), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(tokenizer_folder)).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def tied_model(tmp_path_factory, tiny_model):
    from transformers import LlamaConfig

    config = LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
                         bos_token_id=1, eos_token_id=2, pad_token_id=3)
    return save_model(tmp_path_factory.mktemp("tied") / "model", config, tiny_model)


def test_fsdp_validates_checkpoints_resumes_and_merges_with_tied_embeddings(tmp_path, tied_model):
    data = write_jsonl(tmp_path / "d.jsonl", make_records(16, seed=4, max_words=10))
    validation = write_jsonl(tmp_path / "v.jsonl", make_records(3, seed=9, max_words=10))  # 3 rows, 2 ranks
    values = {**COMMON, "data": str(data), "model": str(tied_model), "max_steps": "4", "save_steps": "2",
              "validation_data": str(validation), "eval_steps": "2", "lora_dropout": "0.1"}
    full = tmp_path / "full"
    torchrun("-m", "polyglot_trainer", "train", *cli_arguments(values), "--out", str(full), "--fsdp",
             "--merge-weights")
    rows = metrics(full)
    assert [row["step"] for row in rows if "eval_loss" in row] == [2, 4]
    info = json.loads((full / "run_info.json").read_text())
    assert info["fsdp"] is True and info["world_size"] == 2
    assert info["sharded_load"]["bytes_read"] > 0  # weights came in row slices, not from from_pretrained
    checkpoint = full / "checkpoints" / "step-000002"
    assert (checkpoint / "sharded" / ".metadata").is_file() and (checkpoint / "adapter_model.safetensors").is_file()
    assert not (checkpoint / "trainable.safetensors").exists()  # nothing gathered but the adapter
    # resume under FSDP from the DCP checkpoint: the same losses and adapter as without the interruption
    resumed = tmp_path / "resumed"
    torchrun("-m", "polyglot_trainer", "train", *cli_arguments(values), "--out", str(resumed), "--fsdp",
             "--resume-from", str(checkpoint))
    losses = [row["loss"] for row in metrics(resumed) if "loss" in row]
    assert losses == pytest.approx([row["loss"] for row in rows if "loss" in row][2:], abs=1e-6, rel=0)
    tokens = [row["tokens"] for row in metrics(resumed) if "loss" in row]
    assert tokens == [row["tokens"] for row in rows if "loss" in row][2:]  # the counter continues
    a, b = load_file(str(full / "adapter_model.safetensors")), load_file(str(resumed / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    # merged export after FSDP computes what base + adapter compute
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ids = torch.tensor([[1, 40, 50, 60, 70]])
    merged = AutoModelForCausalLM.from_pretrained(str(full / "merged")).eval()
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tied_model)), str(full)).eval()
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, adapted(ids).logits, atol=1e-4, rtol=1e-4)


def test_fsdp_tiny_mixtral_from_per_expert_checkpoint_matches_one_process(tmp_path, tiny_model):
    from transformers import MixtralConfig

    config = MixtralConfig(vocab_size=300, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2,
                           bos_token_id=1, eos_token_id=2, pad_token_id=3, router_aux_loss_coef=0.02)
    model = save_model(tmp_path / "mixtral", config, tiny_model)
    from safetensors import safe_open

    with safe_open(str(model / "model.safetensors"), "pt") as handle:  # the hub layout: one tensor per expert
        assert "model.layers.0.block_sparse_moe.experts.3.w1.weight" in handle.keys()
    data = write_jsonl(tmp_path / "d.jsonl", make_records(16, seed=4, max_words=10))
    values = {**COMMON, "data": str(data), "model": str(model), "max_steps": "3", "save_steps": "0"}
    torchrun("-m", "polyglot_trainer", "train", *cli_arguments(values), "--out", str(tmp_path / "fsdp"), "--fsdp")
    train(resolve_config({}, {**values, "out": str(tmp_path / "single"), "gradient_accumulation_steps": "2"}))
    one, two = metrics(tmp_path / "single"), metrics(tmp_path / "fsdp")
    assert [row["loss"] for row in two] == pytest.approx([row["loss"] for row in one], abs=1e-5)
    assert all(row["router_aux_loss"] > 0 for row in one)


LOAD_SCRIPT = """
import json, os, sys, torch
from polyglot_trainer.config import resolve_config
from polyglot_trainer.train import setup_distributed, setup_model

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

def config_for(model):
    return resolve_config({}, {"data": "unused", "model": model, "device": "cpu", "fsdp": "true",
                               "lora_target_modules": "q_proj,v_proj"})

distributed, device = setup_distributed("cpu")
setup_model(config_for(sys.argv[3]), device, distributed)  # the same path on the tiny model: imports, gloo buffers
before = rss("VmRSS:")
config = config_for(sys.argv[1])
setup = setup_model(config, device, distributed)
peak = rss("VmHWM:")
local = sum(p.to_local().numel() * p.element_size() for p in setup.loss_module.parameters())
with open(os.path.join(sys.argv[2], f"rank{distributed.rank}.json"), "w") as handle:
    json.dump({"growth": peak - before, "local_bytes": local}, handle)
"""


def test_no_rank_holds_the_whole_model_at_load_time(tmp_path, tiny_model):
    from transformers import LlamaConfig

    # about 340 MB of float32 weights, most in the embedding and the LM head
    config = LlamaConfig(vocab_size=32000, hidden_size=1024, intermediate_size=2048, num_hidden_layers=2,
                         num_attention_heads=8, num_key_value_heads=4, tie_word_embeddings=False)
    model = save_model(tmp_path / "model", config, tiny_model)
    size = (model / "model.safetensors").stat().st_size
    script = tmp_path / "load.py"
    script.write_text(LOAD_SCRIPT)
    torchrun(str(script), str(model), str(tmp_path), str(tiny_model))
    for rank in (0, 1):
        report = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert report["local_bytes"] < 0.55 * size  # half the weights (plus LoRA) per rank
        assert report["growth"] < 0.75 * size, (rank, report, size)  # the peak never held the whole model
