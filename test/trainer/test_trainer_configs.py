"""A built study loads unchanged in the trainers researchers use, with the configs `build` writes beside it:
LLaMA-Factory's own loader and converter (dataset_info.json), axolotl's own loader and chat_template strategy
(axolotl/<config>.yaml), TRL's SFTTrainer on the JSONL with assistant_only_loss; and `datasets` memory-maps every
.arrow file (the IPC stream format)."""

import json
import math
from pathlib import Path

import pytest
import yaml

from conftest import build_study

IGNORE_INDEX = -100


def manifest_of(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def jsonl_messages(path: Path) -> list[list[dict]]:
    return [json.loads(line)["messages"] for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def tiny_chat_model(built_study, tmp_path_factory):
    """make-tiny-model's default: a tokenizer with the plain template as Jinja, {% generation %} markers included."""
    from polyglot_trainer.tiny_model import make_tiny_model

    return make_tiny_model(str(built_study / "lima-x" / "ENDE-sampled.jsonl"), str(tmp_path_factory.mktemp("tiny-chat")),
                           vocab_size=400, hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate_size=32)


def test_the_manifest_lists_the_trainer_configs_and_their_hashes(built_study):
    import hashlib

    configs = manifest_of(built_study)["trainerConfigs"]
    paths = {config["path"]: config for config in configs}
    assert "dataset_info.json" in paths and paths["dataset_info.json"]["tool"] == "llama-factory"
    assert {path for path in paths if path.startswith("axolotl/")} == {
        f"axolotl/{corpus}-{composition}.yaml" for corpus in ("lima-x", "bactrian-x") for composition in ("EN", "DE", "ENDE-sampled")}
    for path, config in paths.items():
        data = (built_study / path).read_bytes()
        assert config["sha256"] == hashlib.sha256(data).hexdigest() and config["bytes"] == len(data)
    card = (built_study / "README.md").read_text(encoding="utf-8")
    for line in ("assistant_only_loss=True", "dataset_dir: path/to/this/folder", "dataset: lima-x-EN",
                 "eval_dataset: lima-x-EN-validation", "axolotl/lima-x-EN.yaml", "Dataset.from_file"):
        assert line in card


def import_llama_factory_data():
    """LLaMA-Factory's dataset parser, file types and converter. `llamafactory.data/__init__.py` imports the whole
    data pipeline, whose multimodal plugin imports torchaudio at import time, and torchaudio has no release for
    the torch this venv pins (its last, 2.11, fails to load against torch 2.13). So the package is entered without
    its __init__ and the three modules a dataset load goes through are imported on their own; they are
    LLaMA-Factory's code, unchanged."""
    import importlib
    import os
    import sys
    import types

    os.environ.setdefault("DISABLE_VERSION_CHECK", "1")  # LLaMA-Factory 0.9.5 pins transformers<=5.6 in its checks
    import llamafactory

    if "llamafactory.data" not in sys.modules:
        package = types.ModuleType("llamafactory.data")
        package.__path__ = [str(Path(llamafactory.__file__).parent / "data")]
        sys.modules["llamafactory.data"] = package
    parser = importlib.import_module("llamafactory.data.parser")
    converter = importlib.import_module("llamafactory.data.converter")
    constants = importlib.import_module("llamafactory.extras.constants")
    hparams = importlib.import_module("llamafactory.hparams")
    return parser.get_dataset_list, converter.align_dataset, constants.FILEEXT2TYPE, hparams.DataArguments


def test_llama_factory_loads_every_composition_and_split_with_its_own_converter(built_study, tmp_path):
    from datasets import load_dataset
    from transformers import Seq2SeqTrainingArguments

    get_dataset_list, align_dataset, file_types, DataArguments = import_llama_factory_data()
    info = json.loads((built_study / "dataset_info.json").read_text(encoding="utf-8"))
    outputs = [output for output in manifest_of(built_study)["outputs"] if output["format"] == "jsonl"]
    assert len(info) == len(outputs) == 12
    data_args = DataArguments(dataset_dir=str(built_study))
    training_args = Seq2SeqTrainingArguments(output_dir=str(tmp_path / "llama-factory"), report_to=[])
    for attribute in get_dataset_list(list(info), str(built_study)):
        assert attribute.load_from == "file" and attribute.formatting == "sharegpt"
        # what llamafactory.data.loader._load_single_dataset does for a local file
        path = Path(data_args.dataset_dir) / attribute.dataset_name
        dataset = load_dataset(path=file_types[path.suffix[1:]], data_files=[str(path)], split=attribute.split,
                               cache_dir=str(tmp_path / "cache"))
        aligned = align_dataset(dataset, attribute, data_args, training_args)
        expected = jsonl_messages(path)
        assert len(aligned) == len(expected) > 0
        for row, messages in zip(aligned, expected):
            assert row["_prompt"] + row["_response"] == messages, attribute.dataset_name


def test_axolotl_loads_a_composition_with_its_own_loader_and_chat_template_strategy(built_study, tiny_chat_model):
    from axolotl.prompt_strategies import load as load_strategy
    from axolotl.utils.data.shared import load_dataset_with_config
    from axolotl.utils.dict import DictDefault
    from axolotl.utils.schemas.datasets import SFTDataset
    from polyglot_trainer.model import load_tokenizer

    snippet = yaml.safe_load((built_study / "axolotl" / "lima-x-ENDE-sampled.yaml").read_text(encoding="utf-8"))
    assert set(snippet) == {"datasets", "test_datasets"}
    tokenizer = load_tokenizer(str(tiny_chat_model))
    cfg = DictDefault({"sequence_len": 4096, "train_on_inputs": False, "chat_template": "tokenizer_default"})
    for entry in snippet["datasets"] + snippet["test_datasets"]:
        SFTDataset(**entry)  # axolotl's own schema of a `datasets:` entry accepts it as written
        # axolotl resolves local paths against the folder it runs in: the study folder
        config = DictDefault({**entry, "path": str(built_study / entry["path"])})
        dataset = load_dataset_with_config(config, use_auth_token=False, streaming=False)
        strategy = load_strategy(entry["type"], tokenizer, cfg, entry)
        expected = jsonl_messages(built_study / entry["path"])
        assert len(dataset) == len(expected) > 0
        for row, messages in zip(dataset, expected):
            turns = strategy.get_conversation_thread(row)
            assert [{"role": turn["role"], "content": turn["content"]} for turn in turns] == messages
            tokenized = strategy.tokenize_prompt(row)
            learned = [token for token, label in zip(tokenized["input_ids"], tokenized["labels"]) if label != IGNORE_INDEX]
            answers = "".join(message["content"] + tokenizer.eos_token for message in messages if message["role"] == "assistant")
            # byte-level BPE may fold the space after "Assistant:" into an answer's first token
            assert "".join(tokenizer.decode(learned).split()) == "".join(answers.split())


def test_trl_sft_trainer_trains_two_steps_on_the_jsonl_with_assistant_only_loss(built_study, tiny_chat_model, tmp_path):
    from datasets import load_dataset
    from polyglot_trainer.conversation import encode_conversation, load_chat_format
    from polyglot_trainer.model import load_tokenizer
    from trl import SFTConfig, SFTTrainer

    train = load_dataset("json", data_files=str(built_study / "lima-x" / "ENDE-sampled.jsonl"), split="train",
                         cache_dir=str(tmp_path / "cache"))
    arguments = SFTConfig(output_dir=str(tmp_path / "run"), max_steps=2, per_device_train_batch_size=2,
                          assistant_only_loss=True, max_length=4096, logging_steps=1, save_strategy="no",
                          report_to=[], use_cpu=True, dataloader_num_workers=0, seed=0)
    trainer = SFTTrainer(model=str(tiny_chat_model), train_dataset=train, args=arguments)
    # TRL learns exactly the tokens the bundled trainer learns on the same conversation (the template's
    # {% generation %} spans): the answers and their end-of-turn tokens
    tokenizer = load_tokenizer(str(tiny_chat_model))
    chat_format = load_chat_format(tokenizer, "auto")
    for processed, record in zip(trainer.train_dataset, train):
        ours = encode_conversation(chat_format, tokenizer, record["messages"])
        assert processed["input_ids"] == ours.input_ids
        assert [label != IGNORE_INDEX for label in processed["labels"]] == ours.is_assistant
    result = trainer.train()
    assert trainer.state.global_step == 2 and math.isfinite(result.training_loss)


@pytest.mark.parametrize("arrow_format", ["stream", "file"])
def test_every_arrow_file_has_the_layout_asked_for(built_study, tmp_path, arrow_format):
    import pyarrow as pa
    import pyarrow.ipc as ipc

    out = built_study if arrow_format == "stream" else build_study(tmp_path / "out", arrow_format="file")
    arrows = [output for output in manifest_of(out)["outputs"] if output["format"] == "arrow"]
    assert len(arrows) == 12
    for output in arrows:
        source = pa.memory_map(str(out / output["path"]))
        table = (ipc.open_stream(source) if arrow_format == "stream" else ipc.open_file(source)).read_all()
        assert table.num_rows == output["rows"]


def test_datasets_memory_maps_every_arrow_file_of_a_built_study(built_study):
    from datasets import Dataset

    arrows = [output for output in manifest_of(built_study)["outputs"] if output["format"] == "arrow"]
    assert len(arrows) == 12
    for output in arrows:
        path = built_study / output["path"]
        dataset = Dataset.from_file(str(path))
        # memory-mapped in place, not copied into a cache
        assert [file["filename"] for file in dataset.cache_files] == [str(path)]
        assert len(dataset) == output["rows"]
        assert dataset["messages"] == jsonl_messages(path.with_suffix(".jsonl"))
