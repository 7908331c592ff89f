"""The prompt ids `render-prompts` gives an inference server (`generate --engine openai`) are exactly the ids
`generate` (`--engine hf`) hands `model.generate`: all 80 questions of the MT-Bench-X reference bench, both turns
(the second with the first answer in its history), for the plain, opengptx, chatml and llama3 templates, with a
byte-level BPE and with Mistral/Mixtral's real v1 SentencePiece tokenizer (from the mistral-common wheel). The
study's pair (Mistral's tokenizer, opengptx) runs every language; the others German and English (a non-ASCII
language and the one whose opengptx system message lacks a space), to keep the file at a minute or two."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TRAINER_SOURCE
from polyglot_trainer import generate as generate_module
from polyglot_trainer.generate import GenerateOptions, generate_answers

BENCH = Path(__file__).resolve().parents[3] / "shared" / "reference-data" / "mt_bench_x"
ALL_LANGUAGES = ["DE", "EN", "ES", "FR", "IT"]
LLAMA3_TOKENS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]


def save_with_tokenizer(tokenizer, folder: Path, seed: int = 0) -> Path:
    """A tiny random Llama whose vocabulary covers `tokenizer`, saved with it."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def bpe_model(tmp_path_factory, tiny_model):
    """The tiny test model's byte-level BPE plus Llama 3's special tokens (BOS `<|begin_of_text|>`)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    tokenizer.add_tokens(LLAMA3_TOKENS, special_tokens=True)
    return save_with_tokenizer(tokenizer, tmp_path_factory.mktemp("bpe"))


@pytest.fixture(scope="module")
def mistral_model(tmp_path_factory):
    """Mistral-7B / Mixtral-8x7B's tokenizer.model (v1), loaded as their hub folders load it."""
    import mistral_common
    from transformers import AutoTokenizer

    source = Path(mistral_common.__file__).parent / "data" / "tokenizer.model.v1"
    folder = tmp_path_factory.mktemp("mistral-tokenizer")
    shutil.copy(source, folder / "tokenizer.model")
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    assert len(tokenizer) == 32000 and tokenizer.is_fast
    tokenizer.pad_token = tokenizer.eos_token
    return save_with_tokenizer(tokenizer, tmp_path_factory.mktemp("mistral"))


def questions_of(language: str) -> list[dict]:
    path = BENCH / f"mt_bench_{language}" / "question.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def render_prompts(model: Path, template: str, requests: list[dict]) -> list[dict]:
    """The trainer's `render-prompts` command, run as the TypeScript CLI runs it (a subprocess speaking JSONL)."""
    completed = subprocess.run(
        [sys.executable, "-m", "polyglot_trainer", "render-prompts", "--model", str(model), "--chat-template", template],
        input="".join(json.dumps(request, ensure_ascii=False) + "\n" for request in requests), capture_output=True,
        text=True, timeout=600, env={"PYTHONPATH": str(TRAINER_SOURCE), "TOKENIZERS_PARALLELISM": "false",
                                     "PATH": "/usr/bin:/bin"})
    assert completed.returncode == 0, completed.stderr
    return [json.loads(line) for line in completed.stdout.splitlines()]


@pytest.mark.parametrize("tokenizer_name, template", [
    ("bpe", "plain"), ("bpe", "opengptx"), ("bpe", "chatml"), ("bpe", "llama3"),
    ("mistral", "plain"), ("mistral", "opengptx"), ("mistral", "chatml"),
])
def test_ids_sent_to_a_server_are_the_ids_hf_generate_feeds(request, tmp_path, monkeypatch, tokenizer_name, template):
    languages = ALL_LANGUAGES if (tokenizer_name, template) == ("mistral", "opengptx") else ["DE", "EN"]
    model_path = request.getfixturevalue(f"{tokenizer_name}_model")
    fed: list[tuple[int, ...]] = []
    stops_fed = set()
    real_load = generate_module.load_generation_model

    def load_and_record(options, device):
        model = real_load(options, device)
        real_generate = model.generate

        def recording_generate(input_ids, attention_mask, **kwargs):
            for row, mask in zip(input_ids.tolist(), attention_mask.tolist()):
                fed.append(tuple(token for token, keep in zip(row, mask) if keep))
            stops_fed.add(tuple(kwargs["eos_token_id"]))
            return real_generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)

        model.generate = recording_generate
        return model

    monkeypatch.setattr(generate_module, "load_generation_model", load_and_record)
    generate_answers(GenerateOptions(model=str(model_path), bench=str(BENCH), out=str(tmp_path), lang=languages,
                                     model_id="m", chat_template=template, max_new_tokens=3, batch_size=16,
                                     device="cpu"))

    requests = []
    for language in languages:
        answers = {}
        for line in (tmp_path / f"mt_bench_{language}" / "model_answer" / "m.jsonl").read_text().splitlines():
            row = json.loads(line)
            answers[row["question_id"]] = row["choices"][0]["turns"]
        for question in questions_of(language):
            first, second = question["turns"][:2]
            history = [{"role": "user", "content": first}]
            requests.append({"messages": history, "lang": language})
            requests.append({"messages": [*history, {"role": "assistant", "content": answers[question["question_id"]][0]},
                                          {"role": "user", "content": second}], "lang": language})
    assert len(requests) == 2 * 80 * len(languages)
    rendered = render_prompts(model_path, template, requests)
    assert all("ids" in answer for answer in rendered), [answer for answer in rendered if "ids" not in answer][:1]
    assert sorted(tuple(answer["ids"]) for answer in rendered) == sorted(fed)
    assert {tuple(answer["stop_token_ids"]) for answer in rendered} == stops_fed
    if template == "llama3":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model_path))
        eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
        assert eot in rendered[0]["stop_token_ids"]
        assert tokenizer.decode(rendered[0]["ids"]).startswith(tokenizer.bos_token + "<|start_header_id|>user")


def test_render_prompts_reports_a_bad_request_and_goes_on(bpe_model):
    answers = render_prompts(bpe_model, "plain", [{"messages": [{"role": "assistant", "content": "x"}]},
                                                  {"messages": [{"role": "user", "content": "Hallo?"}], "lang": "DE"}])
    assert "last message must be the user's" in answers[0]["error"]
    assert answers[1]["ids"] and answers[1]["stop_token_ids"]
