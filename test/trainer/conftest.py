"""Shared fixtures: a tiny random Llama model and tokenizer built once per session, and dataset writers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
TRAINER_SOURCE = REPO / "src" / "trainer"
if str(TRAINER_SOURCE) not in sys.path:
    sys.path.insert(0, str(TRAINER_SOURCE))

from polyglot_trainer.tiny_model import make_tiny_model  # noqa: E402

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

WORDS = ("the quick brown fox jumps over a lazy dog der schnelle braune Fuchs springt le renard brun saute "
         "il cane pigro el perro marrón salta code print return 1 2 3 4 5 6 7 8 9 0 ? ! . ,").split()


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU (skipped without one)")
    # peft <= 0.21 reads an attribute transformers 5 deprecated; not the trainer's to fix
    config.addinivalue_line("filterwarnings", "ignore:.*is_gradient_checkpointing.*:FutureWarning")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (run on a GPU machine)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def make_records(count: int, seed: int = 0, multi_turn_every: int = 4, min_words: int = 3, max_words: int = 30):
    import random

    generator = random.Random(seed)
    languages = ["en", "de", "fr", "it", "es"]
    records = []
    for index in range(count):
        def sentence():
            return " ".join(generator.choices(WORDS, k=generator.randint(min_words, max_words)))

        messages = [{"role": "user", "content": sentence()}, {"role": "assistant", "content": sentence()}]
        if multi_turn_every and index % multi_turn_every == 0:
            messages += [{"role": "user", "content": sentence()}, {"role": "assistant", "content": sentence()}]
        records.append({"id": f"t-{index:04d}", "lang": languages[index % 5], "source": "test", "messages": messages,
                        "meta": {"index": index}})
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")
    return path


def write_arrow(path: Path, records: list[dict], stream: bool = False) -> Path:
    """The library's Arrow layout: utf8 columns, messages list<struct<role, content>>, meta as a JSON string."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    schema = pa.schema([("id", pa.utf8()), ("lang", pa.utf8()), ("source", pa.utf8()),
                        ("messages", pa.list_(pa.struct([("role", pa.utf8()), ("content", pa.utf8())]))),
                        ("meta", pa.utf8())])
    table = pa.Table.from_pylist([{**record, "meta": json.dumps(record.get("meta", {}))} for record in records],
                                 schema=schema)
    with pa.OSFile(str(path), "wb") as sink:
        writer = ipc.new_stream(sink, schema) if stream else ipc.new_file(sink, schema)
        writer.write_table(table, max_chunksize=7)
        writer.close()
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    texts = [message["content"] for record in make_records(200, seed=1) for message in record["messages"]]
    # No chat template, as most base models: `auto` resolves to plain (test_tiny_model.py covers the saved ones).
    return make_tiny_model(None, str(tmp_path_factory.mktemp("tiny") / "model"), vocab_size=300, hidden_size=32,
                           layers=2, heads=4, kv_heads=2, intermediate_size=64, seed=0, texts=texts,
                           chat_template=None)


@pytest.fixture(scope="session")
def tokenizer(tiny_model):
    from polyglot_trainer.model import load_tokenizer

    return load_tokenizer(str(tiny_model))


def run_cli(*arguments: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300):
    """Run `python -m polyglot_trainer ...` in a subprocess (as the npm CLI does) and return the completed process."""
    environment = {**os.environ, "PYTHONPATH": str(TRAINER_SOURCE), "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    return subprocess.run([sys.executable, "-m", "polyglot_trainer", *arguments], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout)


CLI = REPO / "dist" / "cli" / "main.js"


def build_study(out: Path, arrow_format: str = "stream") -> Path:
    """`build-datasets build` of a small study (Lima-X from the translation cache with its multi-turn conversations,
    Bactrian-X; en and de; a validation split) into `out`, as a user runs it."""
    if not CLI.is_file():
        pytest.fail(f"{CLI} is missing: run `npm run build` first (npm test does)")
    fixtures = REPO / "fixtures"
    config = {
        "seed": 42, "languages": ["en", "de"], "compositions": ["EN", "DE", "ENDE-sampled"],
        "formats": ["jsonl", "arrow"], "validationFraction": 0.1,
        "corpora": {
            "lima-x": {"translate": {"input": str(fixtures / "lima" / "train.jsonl"), "from": "en", "to": ["de"],
                                     "provider": "cache", "cache": str(fixtures / "translation-cache")}},
            "bactrian-x": {"path": str(fixtures / "bactrian-x"), "format": "bactrian-x"},
        },
    }
    config_path = out.parent / f"{out.name}-study.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    built = subprocess.run(["node", str(CLI), "build", "--config", str(config_path), "--out", str(out),
                            "--arrow-format", arrow_format, "--quiet"], cwd=REPO, capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr
    return out


@pytest.fixture(scope="session")
def built_study(tmp_path_factory) -> Path:
    return build_study(tmp_path_factory.mktemp("study") / "out")


@pytest.fixture(scope="session")
def mistral_tokenizer(tmp_path_factory):
    """Mistral-7B / Mixtral-8x7B's tokenizer.model (v1), loaded as their hub folders load it."""
    import mistral_common
    from transformers import AutoTokenizer

    source = Path(mistral_common.__file__).parent / "data" / "tokenizer.model.v1"
    folder = tmp_path_factory.mktemp("mistral")
    shutil.copy(source, folder / "tokenizer.model")
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    assert tokenizer.convert_tokens_to_ids("</s>") == 2 and len(tokenizer) == 32000
    return tokenizer
