"""Safe runs: a used --out refuses a fresh run, a resume refuses changed settings (listing them), allowed changes
are recorded, counters continue; MoE LoRA targets and router loss; clear messages for config/attention/model."""

import json

import pytest
import torch

from conftest import make_records, run_cli, write_jsonl
from polyglot_trainer.config import read_config_file, resolve_config
from polyglot_trainer.errors import ConfigError, TrainerError
from polyglot_trainer.train import train

FAST = {"max_length": "64", "progress_bar": "false", "device": "cpu", "warmup_ratio": "0", "micro_batch_size": "1",
        "gradient_accumulation_steps": "1", "learning_rate": "5e-3"}


def metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("safety")
    data = write_jsonl(folder / "d.jsonl", make_records(12, seed=3, max_words=10))
    values = {**FAST, "data": str(data), "model": str(tiny_model), "max_steps": "4", "save_steps": "2"}
    train(resolve_config({}, {**values, "out": str(folder / "run")}))
    return folder, values


def test_a_fresh_run_into_a_used_out_refuses_and_overwrite_clears_it(first_run, tmp_path):
    folder, values = first_run
    import shutil

    run = tmp_path / "run"
    shutil.copytree(folder / "run", run)
    with pytest.raises(TrainerError, match=r"already holds a run \(training_config.json, run_info.json, metrics.jsonl, "
                                           r"checkpoints, adapter_model.safetensors"):
        train(resolve_config({}, {**values, "out": str(run), "max_steps": "1"}))
    (run / "notes.txt").write_text("mine")
    train(resolve_config({}, {**values, "out": str(run), "max_steps": "1", "save_steps": "0", "overwrite": "true"}))
    assert not (run / "checkpoints").exists() and (run / "notes.txt").read_text() == "mine"
    assert [row["step"] for row in metrics(run)] == [1]
    assert "checkpoints" in json.loads((run / "run_info.json").read_text())["overwritten_files"]


def test_a_resume_with_changed_settings_refuses_with_the_differences(first_run, tmp_path):
    folder, values = first_run
    checkpoint = folder / "run" / "checkpoints" / "step-000002"
    other_data = write_jsonl(tmp_path / "other.jsonl", make_records(12, seed=4, max_words=10))
    with pytest.raises(TrainerError) as caught:
        train(resolve_config({}, {**values, "out": str(tmp_path / "a"), "resume_from": str(checkpoint),
                                  "learning_rate": "1e-3", "max_length": "96", "data": str(other_data)}))
    message = str(caught.value)
    assert "3 settings differ" in message
    assert "learning_rate: 0.005 in the checkpoint, 0.001 now" in message
    assert "max_length: 64 in the checkpoint, 96 now" in message and "data_sha256:" in message
    assert "--allow-changes" in message
    assert not (tmp_path / "a" / "metrics.jsonl").exists()  # refused before anything was written


def test_an_allowed_change_is_recorded_and_counters_continue(first_run, tmp_path):
    folder, values = first_run
    checkpoint = folder / "run" / "checkpoints" / "step-000002"
    out = tmp_path / "b"
    train(resolve_config({}, {**values, "out": str(out), "resume_from": str(checkpoint), "learning_rate": "1e-3",
                              "allow_changes": "learning_rate"}))
    info = json.loads((out / "run_info.json").read_text())
    assert info["allowed_changes"] == {"learning_rate": {"checkpoint": 0.005, "now": 0.001}}
    assert info["resumed_at_step"] == 2
    rows, original = metrics(out), metrics(folder / "run")
    assert [row["step"] for row in rows] == [3, 4]
    # the schedule continues (cosine, half-way) on the new peak rate, not the checkpoint's
    assert [row["lr"] for row in rows] == pytest.approx([row["lr"] * 0.2 for row in original[2:]])
    assert [row["tokens"] for row in rows] == [row["tokens"] for row in original[2:]]  # cumulative, not from 0
    assert json.loads((out / "training_config.json").read_text())["learning_rate"] == 1e-3


def test_run_info_records_the_base_model_and_the_package(first_run, tiny_model):
    folder, _ = first_run
    info = json.loads((folder / "run" / "run_info.json").read_text())
    assert info["package"] == "polyglot-trainer" and info["version"]
    assert len(info["base_model"]["config_sha256"]) == 64
    assert info["base_model"]["weights"]["model.safetensors"]["size"] == (tiny_model / "model.safetensors").stat().st_size
    record = json.loads((folder / "run" / "checkpoints" / "step-000002" / "checkpoint.json").read_text())
    assert record["world_size"] == 1 and record["counters"]["tokens"] == metrics(folder / "run")[1]["tokens"]


@pytest.fixture(scope="module")
def tiny_mixtral(tmp_path_factory, tiny_model):
    from transformers import AutoTokenizer, MixtralConfig, MixtralForCausalLM

    torch.manual_seed(0)
    config = MixtralConfig(vocab_size=300, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2,
                           bos_token_id=1, eos_token_id=2, pad_token_id=3, router_aux_loss_coef=0.02)
    folder = tmp_path_factory.mktemp("mixtral") / "model"
    MixtralForCausalLM(config).save_pretrained(str(folder))
    AutoTokenizer.from_pretrained(str(tiny_model)).save_pretrained(str(folder))
    return folder


def test_mixtral_lora_targets_attention_by_default_and_experts_on_request(tiny_mixtral):
    from transformers import AutoModelForCausalLM

    from polyglot_trainer.model import apply_lora

    model, _, _ = apply_lora(AutoModelForCausalLM.from_pretrained(str(tiny_mixtral)), 4, 8, 0.0, ["all-linear"])
    adapted = {name.split(".lora_A")[0].rsplit(".", 1)[-1] for name, _ in model.named_parameters() if "lora_A" in name}
    assert adapted == {"q_proj", "k_proj", "v_proj", "o_proj"}  # not the router (gate), not the experts
    model, _, _ = apply_lora(AutoModelForCausalLM.from_pretrained(str(tiny_mixtral)), 4, 8, 0.0,
                             ["q_proj", "v_proj", "experts"])
    names = [name for name, parameter in model.named_parameters() if parameter.requires_grad]
    assert any("experts" in name for name in names) and not any(".gate." in name for name in names)
    with pytest.raises(TrainerError, match="mixture-of-experts models only"):
        apply_lora(_dense(), 4, 8, 0.0, ["experts"])


def _dense():
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, num_key_value_heads=1))


def test_the_router_auxiliary_loss_is_added_in_training(tiny_mixtral):
    from transformers import AutoModelForCausalLM
    from transformers.models.mixtral.modeling_mixtral import load_balancing_loss_func

    from polyglot_trainer.model import TokenLoss

    model = AutoModelForCausalLM.from_pretrained(str(tiny_mixtral))
    loss = TokenLoss(model)
    ids = torch.tensor([[1, 40, 50, 60, 70, 80]])
    targets = torch.tensor([[-100, 50, 60, 70, 80, -100]])
    with torch.no_grad():
        lm_sum, count = loss(ids, targets, use_cache=False)  # evaluation: the LM loss alone
    trained_sum, _ = loss(ids, targets, use_cache=False)
    with torch.no_grad():
        router_logits = model.model(input_ids=ids, output_router_logits=True).router_logits
    aux = float(load_balancing_loss_func(router_logits, 4, 2, None))
    assert loss.last_router_aux_loss == pytest.approx(aux, rel=1e-5) and aux > 0
    assert float(trained_sum.detach()) == pytest.approx(float(lm_sum) + 0.02 * aux * count, rel=1e-5)


def test_yaml_numbers_and_every_problem_at_once(tmp_path):
    path = tmp_path / "lora.yaml"
    path.write_text("data: d.arrow\nmodel: m\nlearning_rate: 2e-4\nwarmup_ratio: 3e-2\n")
    config = resolve_config(read_config_file(path))
    assert config.learning_rate == 2e-4 and config.warmup_ratio == 0.03
    with pytest.raises(ConfigError) as caught:
        resolve_config({"data": "d", "model": "m", "epochs": "three", "lora_r": 0, "warmup_ratio": 1.5})
    assert len(caught.value.problems) == 3  # a type error does not hide the range errors


def test_clear_messages_for_cpu_attention_and_a_missing_model_folder(tmp_path, tiny_model):
    data = write_jsonl(tmp_path / "d.jsonl", make_records(2))
    result = run_cli("train", "--data", str(data), "--model", str(tiny_model), "--device", "cpu", "--out",
                     str(tmp_path / "r"), "--attention", "flex")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "attention 'flex' needs a CUDA GPU" in result.stderr and "--attention sdpa" in result.stderr
    result = run_cli("train", "--data", str(data), "--model", str(tmp_path / "no-such-model"), "--device", "cpu",
                     "--out", str(tmp_path / "r2"))
    assert result.returncode == 2 and "model folder not found" in result.stderr
