"""MT-Bench-X answering throughput: `generate --engine hf` against the server path (`--engine openai --serve vllm`),
in one run, on one GPU (not a test).

    npm run build && pip install vllm                              # the server engine, on the GPU machine
    PYTHONPATH=src/trainer python bench/generate_gpu.py --out results.jsonl
    PYTHONPATH=src/trainer python bench/generate_gpu.py --smoke    # tiny shapes on the CPU, hf path only: proves it runs

Workload (issue 16): one base model of TinyLlama-1.1B's shape (hidden 2048, 22 layers, GQA 32/4, random bf16
weights, Mistral's v1 SentencePiece tokenizer from the mistral-common wheel, so nothing is downloaded), 5 random
LoRA adapters (r=16, alpha 32, q/k/v/o projections, B initialised non-zero so each adapter changes the answers),
every question of the MT-Bench-X reference bench (80 questions x 2 turns x 5 languages per adapter), opengptx
template, FastChat temperatures, up to --max-new-tokens per turn (1,024 as FastChat; a random model rarely
stops early, so most turns run to the limit: the worst case for the hf path's padded batches).

hf:     `python -m polyglot_trainer generate` per adapter (one model load and merge per adapter, batches of 8);
        --hf-adapters of them (default 1: at 1B an adapter takes long), the rate is per adapter.
server: `build-datasets generate --engine openai --serve vllm --runs RUNS` (all 5 adapters in one vLLM, questions
        interleaved, 64 in flight), measured from the command's start (server start-up and adapter loading included)
        and, separately, without the start-up (the time after /v1/models listed every adapter).

Reported: answers per second (a question with both turns is one answer) and generated tokens per second (the
answers' text re-tokenised with the base tokenizer, the same count for both paths).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO.parent / "shared" / "reference-data" / "mt_bench_x"
LANGUAGES = ["DE", "EN", "ES", "FR", "IT"]
SHAPES = {
    "1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
               num_key_value_heads=4),
    "smoke": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2),
}


def make_base_model(folder: Path, shape: str) -> Path:
    import mistral_common
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer_folder = folder / "tokenizer"
    tokenizer_folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(mistral_common.__file__).parent / "data" / "tokenizer.model.v1", tokenizer_folder / "tokenizer.model")
    (tokenizer_folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}))
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_folder))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), max_position_embeddings=4096, bos_token_id=1, eos_token_id=2,
                         torch_dtype="bfloat16", **SHAPES[shape])
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    base = folder / "base"
    model.save_pretrained(str(base))
    tokenizer.save_pretrained(str(base))
    return base


def make_adapters(base: Path, runs: Path, count: int) -> list[Path]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    folders = []
    for index in range(count):
        torch.manual_seed(100 + index)
        model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.bfloat16)
        config = LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                            init_lora_weights=False, task_type="CAUSAL_LM")
        peft_model = get_peft_model(model, config)
        folder = runs / f"adapter-{index}"
        peft_model.save_pretrained(str(folder))
        (folder / "training_config.json").write_text(json.dumps({"chat_template": "opengptx"}))
        folders.append(folder)
    return folders


def count_answers(out: Path, tokenizer, names: list[str]) -> tuple[int, int]:
    answers = tokens = 0
    for language in LANGUAGES:
        for name in names:
            path = out / f"mt_bench_{language}" / "model_answer" / f"{name}.jsonl"
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                answers += 1
                tokens += sum(len(tokenizer(turn, add_special_tokens=False)["input_ids"]) for turn in row["choices"][0]["turns"])
    return answers, tokens


def run_hf(base: Path, adapters: list[Path], out: Path, max_new_tokens: int, device: str) -> float:
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src" / "trainer")}
    started = time.perf_counter()
    for adapter in adapters:
        subprocess.run([sys.executable, "-m", "polyglot_trainer", "generate", "--model", str(base), "--adapter",
                        str(adapter), "--bench", str(BENCH), "--lang", ",".join(LANGUAGES), "--out", str(out),
                        "--max-new-tokens", str(max_new_tokens), "--device", device], check=True, env=environment)
    return time.perf_counter() - started


def run_server(base: Path, runs: Path, out: Path, max_new_tokens: int, log: Path) -> tuple[float, float]:
    """Seconds of the whole command, and seconds after the CLI said the server lists every adapter."""
    cli = REPO / "dist" / "cli" / "main.js"
    started = time.perf_counter()
    ready = None
    with log.open("w") as handle, subprocess.Popen(
            ["node", str(cli), "generate", "--engine", "openai", "--serve", "vllm", "--model", str(base), "--runs",
             str(runs), "--bench", str(BENCH), "--out", str(out), "--max-tokens", str(max_new_tokens)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            handle.write(line)
            if ready is None and "vllm serves" in line:
                ready = time.perf_counter()
        if process.wait() != 0:
            raise SystemExit(f"the server path failed; see {log}")
    finished = time.perf_counter()
    return finished - started, finished - (ready or started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default=str(REPO / "bench" / ".data" / "generate"), help="scratch folder")
    parser.add_argument("--out", help="append the results as JSON lines here")
    parser.add_argument("--adapters", type=int, default=5)
    parser.add_argument("--hf-adapters", type=int, default=1, help="adapters answered by the hf path")
    parser.add_argument("--max-new-tokens", type=int, default=1024)
    parser.add_argument("--smoke", action="store_true", help="tiny model on the CPU, 2 new tokens, hf path only")
    options = parser.parse_args()
    from transformers import AutoTokenizer

    work = Path(options.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    base = make_base_model(work, "smoke" if options.smoke else "1b")
    runs = work / "runs"
    adapters = make_adapters(base, runs, options.adapters)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    max_new_tokens = 2 if options.smoke else options.max_new_tokens
    results = []

    hf_adapters = adapters[: options.hf_adapters]
    seconds = run_hf(base, hf_adapters, work / "answers-hf", max_new_tokens, "cpu" if options.smoke else "cuda")
    answers, tokens = count_answers(work / "answers-hf", tokenizer, [adapter.name for adapter in hf_adapters])
    results.append({"path": "hf", "adapters": len(hf_adapters), "answers": answers, "generated_tokens": tokens,
                    "seconds": round(seconds, 1), "answers_per_s": round(answers / seconds, 3),
                    "tokens_per_s": round(tokens / seconds, 1)})

    if options.smoke:
        print("server path skipped (--smoke)", file=sys.stderr)
    elif shutil.which("vllm") is None or shutil.which("node") is None:
        print("server path skipped: vllm or node is not installed here (pip install vllm; Node 20)", file=sys.stderr)
        results.append({"path": "server", "skipped": "vllm or node missing"})
    else:
        total, answering = run_server(base, runs, work / "answers-server", max_new_tokens, work / "server-cli.log")
        answers, tokens = count_answers(work / "answers-server", tokenizer, [adapter.name for adapter in adapters])
        results.append({"path": "server (vllm, all adapters in one server)", "adapters": len(adapters),
                        "answers": answers, "generated_tokens": tokens, "seconds": round(total, 1),
                        "seconds_without_startup": round(answering, 1), "answers_per_s": round(answers / total, 3),
                        "tokens_per_s": round(tokens / total, 1),
                        "tokens_per_s_without_startup": round(tokens / max(answering, 1e-9), 1)})

    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    for result in results:
        result["device"] = device
        print(json.dumps(result))
        if options.out:
            with open(options.out, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
