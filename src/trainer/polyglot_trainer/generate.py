"""generate: MT-Bench(-X) answers from a base model plus a trained adapter, in FastChat's answer format.

    python -m polyglot_trainer generate --model BASE --adapter RUN --bench mt-bench-x --lang de,fr --out answers

Reads `<bench>/mt_bench_<LANG>/question.jsonl`, writes `<out>/mt_bench_<LANG>/model_answer/<model_id>.jsonl`.
Both turns are answered, the second with the first question and answer in the history, with FastChat's
temperature per category, the chat template and system message the adapter was trained with (read from the
run's training_config.json), in batches. A rerun skips the question ids already written.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import TrainerError
from .model import resolve_device, resolve_dtype
from .prompts import load_prompt_format, prompt_ids

# FastChat llm_judge/common.py temperature_config; gen_model_answer.py uses 0.7 for categories not listed.
CATEGORY_TEMPERATURES = {"writing": 0.7, "roleplay": 0.7, "extraction": 0.0, "math": 0.0, "coding": 0.0,
                         "reasoning": 0.0, "stem": 0.1, "humanities": 0.1}
DEFAULT_TEMPERATURE = 0.7


def temperature_for(category: str) -> float:
    return CATEGORY_TEMPERATURES.get(category, DEFAULT_TEMPERATURE)


@dataclass
class GenerateOptions:
    model: str  # base model directory (or hub id)
    bench: str  # folder holding mt_bench_<LANG>/question.jsonl
    out: str  # answers folder; files go to <out>/mt_bench_<LANG>/model_answer/<model_id>.jsonl
    adapter: str | None = None  # training run folder (adapter + training_config.json); None answers with the base
    lang: list[str] | None = None  # languages, e.g. ["de", "fr"]; None: every mt_bench_* folder of the bench
    model_id: str | None = None  # name in the answers; default: the adapter's (or model's) folder name
    batch_size: int = 8  # questions generated together (left-padded)
    max_new_tokens: int = 1024  # per turn, as FastChat
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    dtype: str = "auto"  # auto (bfloat16 on CUDA, float32 on CPU) | bfloat16 | float16 | float32
    seed: int = 42  # seeds sampling for the categories with a temperature above 0
    chat_template: str | None = None  # override; default: the run's, else "auto"
    system_message: str | None = None  # override; default: the run's


def load_generation_model(options: GenerateOptions, device: torch.device):
    from transformers import AutoModelForCausalLM

    dtype = resolve_dtype(options.dtype, device)
    model = AutoModelForCausalLM.from_pretrained(options.model, dtype=dtype, attn_implementation="sdpa")
    if options.adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, options.adapter)
        model = model.merge_and_unload()  # merged weights generate faster and identically
    return model.to(device).eval()


@torch.no_grad()
def generate_batch(model, tokenizer, prompts: list[list[int]], temperature: float, max_new_tokens: int,
                   stops: list[int], device: torch.device) -> list[str]:
    width = max(len(prompt) for prompt in prompts)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
    attention_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
    sampling = {"do_sample": True, "temperature": temperature, "top_p": 1.0} if temperature > 0 else {"do_sample": False}
    output = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=max_new_tokens,
                            eos_token_id=stops, pad_token_id=pad, top_k=None, **sampling)
    return [tokenizer.decode(row[width:], skip_special_tokens=True).strip() for row in output]


def read_questions(path: Path) -> list[dict]:
    if not path.is_file():
        raise TrainerError(f"{path} not found; --bench must hold mt_bench_<LANG>/question.jsonl "
                           "(build it with `build-datasets mt-bench-x build`)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def answered_ids(path: Path) -> set:
    """Question ids already answered; a line cut by a kill is dropped from the file (and answered again)."""
    if not path.is_file():
        return set()
    done, kept = set(), []
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        try:
            done.add(json.loads(line)["question_id"])
            kept.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    if "".join(line + "\n" for line in kept) != text:
        partial = path.with_name(path.name + ".incomplete")
        partial.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        partial.replace(path)
    return done


def bench_languages(bench: Path, languages: list[str] | None) -> list[str]:
    if languages:
        return [language.upper() for language in languages]
    found = sorted(folder.name[len("mt_bench_"):] for folder in bench.glob("mt_bench_*") if folder.is_dir())
    if not found:
        raise TrainerError(f"{bench}: no mt_bench_<LANG> folders")
    return found


def generate_answers(options: GenerateOptions) -> dict[str, Path]:
    """Answer every unanswered question of each language; returns the answer file per language."""
    device = resolve_device(options.device)
    # The same prompt ids as `render-prompts` sends an inference server (prompts.py).
    prompt_format = load_prompt_format(options.model, options.adapter, options.chat_template, options.system_message)
    tokenizer, stops = prompt_format.tokenizer, prompt_format.stop_token_ids
    model_id = options.model_id or Path(options.adapter or options.model).resolve().name
    model = None
    written = {}
    for language in bench_languages(Path(options.bench), options.lang):
        questions = read_questions(Path(options.bench) / f"mt_bench_{language}" / "question.jsonl")
        answer_path = Path(options.out) / f"mt_bench_{language}" / "model_answer" / f"{model_id}.jsonl"
        answer_path.parent.mkdir(parents=True, exist_ok=True)
        done = answered_ids(answer_path)
        todo = [question for question in questions if question["question_id"] not in done]
        written[language] = answer_path
        if not todo:
            continue
        if model is None:
            model = load_generation_model(options, device)
        by_temperature: dict[float, list[dict]] = {}
        for question in todo:
            by_temperature.setdefault(temperature_for(question.get("category", "")), []).append(question)
        for temperature, group in sorted(by_temperature.items()):
            for start in range(0, len(group), options.batch_size):
                batch = group[start:start + options.batch_size]
                torch.manual_seed(options.seed + start)
                histories: list[list[dict]] = [[] for _ in batch]
                answers: list[list[str]] = [[] for _ in batch]
                turns = max(len(question["turns"]) for question in batch)
                for turn in range(turns):
                    active = [i for i, question in enumerate(batch) if turn < len(question["turns"])]
                    for i in active:
                        histories[i] = [*histories[i], {"role": "user", "content": batch[i]["turns"][turn]}]
                    prompts = [prompt_ids(prompt_format, histories[i], language) for i in active]
                    outputs = generate_batch(model, tokenizer, prompts, temperature, options.max_new_tokens, stops, device)
                    for i, text in zip(active, outputs):
                        answers[i].append(text)
                        histories[i] = [*histories[i], {"role": "assistant", "content": text}]
                with answer_path.open("a", encoding="utf-8") as handle:
                    for question, turns_answered in zip(batch, answers):
                        row = {"question_id": question["question_id"],
                               "answer_id": uuid.uuid5(uuid.NAMESPACE_URL, f"{model_id}/{question['question_id']}").hex,
                               "model_id": model_id, "choices": [{"index": 0, "turns": turns_answered}],
                               "tstamp": time.time()}
                        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        _sort_answers(answer_path, [question["question_id"] for question in questions])
    return written


def _sort_answers(path: Path, order: list) -> None:
    """Rewrite the answer file in question order (atomically), keeping one row per question."""
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        rows.setdefault(row["question_id"], line)
    lines = [rows[question_id] for question_id in order if question_id in rows]
    partial = path.with_name(path.name + ".incomplete")
    partial.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    partial.replace(path)
