"""Config: defaults, file + command-line overrides, every problem listed, errors the CLI shows."""

import json

import pytest

import subprocess
import sys

from conftest import TRAINER_SOURCE, run_cli
from polyglot_trainer.config import TrainConfig, describe_fields, resolve_config
from polyglot_trainer.errors import ConfigError


def test_defaults_suit_7b_lora():
    config = TrainConfig()
    assert (config.lora_r, config.lora_alpha, config.learning_rate, config.lr_scheduler, config.warmup_ratio) == (
        16, 32, 2e-4, "cosine", 0.03)
    assert config.lora_target_modules == ["all-linear"]


def test_every_field_has_a_comment():
    rows = describe_fields()
    assert rows and all(comment for _, _, _, comment in rows), [name for name, _, _, comment in rows if not comment]


def test_file_values_then_command_line_overrides(tmp_path):
    import yaml

    path = tmp_path / "lora.yaml"
    path.write_text(yaml.safe_dump({"data": "d.arrow", "model": "m", "lora_r": 8, "learning_rate": 1e-4,
                                    "system_messages": {"de": "Antworte auf Deutsch."}}))
    from polyglot_trainer.config import read_config_file

    config = resolve_config(read_config_file(path), {"learning-rate": "3e-4", "packing": "false", "max_steps": "40",
                                                     "lora-target-modules": "q_proj,v_proj"})
    assert config.lora_r == 8
    assert config.learning_rate == 3e-4
    assert config.packing is False and config.max_steps == 40
    assert config.lora_target_modules == ["q_proj", "v_proj"]
    assert config.system_messages == {"de": "Antworte auf Deutsch."}


def test_unknown_keys_and_wrong_types_are_all_listed():
    with pytest.raises(ConfigError) as caught:
        resolve_config({"data": "d", "model": "m", "lora_rank": 8, "learning_rate": "fast", "packing": "yes"},
                       {"max-stesp": "40", "epochs": "three"})
    problems = caught.value.problems
    assert len(problems) == 5, problems
    text = str(caught.value)
    assert "lora_rank: unknown key (config file); did you mean 'lora_r'?" in text
    assert "max-stesp: unknown key (command line); did you mean 'max_steps'?" in text
    assert "learning_rate: expected a number, got 'fast' (config file)" in text
    # a YAML/JSON file must hold real booleans; only the command line parses text
    assert "packing: expected a boolean" in text
    assert "epochs: expected an integer, got 'three' (command line)" in text


def test_invalid_values_are_listed():
    with pytest.raises(ConfigError) as caught:
        resolve_config({}, {"attention": "fast", "lora_r": "0", "warmup_ratio": "1.5"})
    text = str(caught.value)
    for expected in ("attention: 'fast' is not one of", "lora_r: must be at least 1", "warmup_ratio: must be in [0, 1)",
                     "data: required", "model: required"):
        assert expected in text


def test_cli_reports_config_typos_without_a_traceback(tmp_path):
    config_file = tmp_path / "c.json"
    config_file.write_text(json.dumps({"lora_alpah": 16}))
    result = run_cli("train", "--config", str(config_file), "--data", "d.arrow", "--model", "m", "--max-stesp", "3")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "did you mean 'lora_alpha'" in result.stderr and "did you mean 'max_steps'" in result.stderr


def test_cli_help_lists_fields_with_their_comments():
    result = run_cli("train", "--help")
    assert result.returncode == 0
    assert "--gradient-accumulation-steps" in result.stdout
    assert "micro-batches per optimizer step" in result.stdout


def test_missing_dependency_says_what_to_install(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "1", "lang": "en", "messages": []}\n')
    # Hide peft from the import system, as on a machine where it is not installed.
    code = ("import sys; sys.modules['peft'] = None; sys.path.insert(0, %r); "
            "from polyglot_trainer.__main__ import main; sys.exit(main(['train', '--data', %r, '--model', 'm']))"
            % (str(TRAINER_SOURCE), str(data)))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "missing Python package: peft" in result.stderr
    assert "pip install -e" in result.stderr and "src/trainer" in result.stderr
