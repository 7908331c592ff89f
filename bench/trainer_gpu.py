"""Throughput of the polyglot trainer against a naive Hugging Face + peft loop, on one GPU (not a test).

    PYTHONPATH=src/trainer python bench/trainer_gpu.py                 # ~4 minutes on one H100/H200
    PYTHONPATH=src/trainer python bench/trainer_gpu.py --smoke         # tiny shapes on the CPU: proves it runs
    PYTHONPATH=src/trainer python bench/trainer_gpu.py --out results.jsonl --budget 200

Models: Llama-architecture, random bf16 weights (nothing downloaded): "1b" is TinyLlama-1.1B's shape, "7b" is
Llama-2-7B's. LoRA r=16, alpha 32, on all linear layers, for both loops. Sequence lengths are drawn from
log-normal fits of the two corpora (token counts, prompt and answer separately; see LENGTHS).

naive:   peft model, batches of 8 examples padded to their longest, labels -100 on prompt and padding, SDPA,
         transformers' own loss over full logits; gradient checkpointing for the 7B shape (as the issue measured).
trainer: this package's path: best-fit-decreasing packing into 8,192-token rows, document-masked flex attention
         (or torch's flash varlen kernel), loss only on answer tokens before the LM head, fused AdamW,
         no gradient checkpointing when memory allows.

Reported per run: real (non-padding) tokens per second, MFU and peak memory.
FLOP accounting (per real token, model FLOPs, not hardware FLOPs): a LoRA step needs the forward (2N) and the
gradient with respect to activations (2N) of every frozen matrix, but no weight gradient for them, so
4 * N_matmul, where N_matmul counts the decoder's linear weights and the LM head (not the embedding lookup);
plus attention: for a causal document of L tokens, QK^T and PV cost 2 * L^2 * h per layer forward (each is
2 * L^2 * h in full, halved by the causal mask) and about twice that backward, so 6 * n_layers * h * L^2 per
document. Recomputation by gradient
checkpointing and work on padding are not counted (they are waste, not progress). MFU = that / elapsed / peak,
with the dense bf16 peak of the card (989 TFLOP/s for H100 SXM and H200).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src" / "trainer"))

from polyglot_trainer.attention import attention_inputs, register_varlen_attention  # noqa: E402
from polyglot_trainer.data import IGNORE_INDEX, Example  # noqa: E402
from polyglot_trainer.model import TokenLoss, apply_lora  # noqa: E402
from polyglot_trainer.packing import collate_rows, pack_best_fit_decreasing  # noqa: E402

SHAPES = {
    "1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
               num_key_value_heads=4, vocab_size=32000),
    "7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=32, vocab_size=32000),
    "smoke": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=512),
}
# (median, sigma) of log-normal token counts, clipped to [low, high]: LIMA has short prompts and long, curated
# answers (mean about 2,800 characters); Bactrian-X has short Alpaca-style instructions and answers.
LENGTHS = {
    "lima": {"prompt": (55, 1.0, 4, 1024), "answer": (430, 0.6, 16, 2000)},
    "bactrian": {"prompt": (28, 0.7, 4, 512), "answer": (110, 0.8, 8, 1024)},
}
PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12}
MAX_LENGTH = 2048
ROW_TOKENS = 8192


def sample_examples(kind: str, count: int, vocab: int, seed: int) -> list[Example]:
    generator = random.Random(seed)
    examples = []
    for index in range(count):
        sizes = []
        for part in ("prompt", "answer"):
            median, sigma, low, high = LENGTHS[kind][part]
            sizes.append(int(min(high, max(low, round(math.exp(generator.gauss(math.log(median), sigma)))))))
        prompt, answer = sizes
        total = min(prompt + answer, MAX_LENGTH)
        ids = [generator.randrange(10, vocab) for _ in range(total)]
        targets = [ids[t + 1] if t + 1 >= prompt else IGNORE_INDEX for t in range(total - 1)] + [IGNORE_INDEX]
        examples.append(Example(f"{kind}-{index}", "en", ids, targets))
    return examples


def model_flops(examples: list[Example], shape: dict, parameters: int) -> float:
    attention = sum(6 * shape["num_hidden_layers"] * shape["hidden_size"] * len(e) ** 2 for e in examples)
    return 4 * parameters * sum(len(e) for e in examples) + attention


def matmul_parameters(model) -> int:
    embedding = model.get_input_embeddings().weight.numel()
    return sum(p.numel() for n, p in model.named_parameters() if "lora_" not in n) - embedding


def build_model(shape_name: str, device: torch.device, dtype: torch.dtype, attention: str):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**SHAPES[shape_name], max_position_embeddings=8192, use_cache=False)
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with device:
            model = LlamaForCausalLM._from_config(config, attn_implementation=attention, dtype=dtype)
    finally:
        torch.set_default_dtype(previous)
    return model


def set_attention(model, name: str) -> None:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if hasattr(base, "set_attn_implementation"):
        base.set_attn_implementation(name)
    else:
        base.config._attn_implementation = name


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(step, batches, warmup: int, device, budget_seconds: float):
    """Run `warmup` untimed steps, then timed steps until the batches or the time budget run out."""
    for batch in batches[:warmup]:
        step(batch)
    synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    done = []
    for batch in batches[warmup:]:
        step(batch)
        done.append(batch)
        if time.perf_counter() - start > budget_seconds:
            break
    synchronize(device)
    elapsed = time.perf_counter() - start
    memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return done, elapsed, memory


def naive_loop(model, examples, device, budget, warmup, batch_size=8):
    from torch.nn.utils.rnn import pad_sequence

    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-5, fused=device.type == "cuda")
    batches = [examples[i:i + batch_size] for i in range(0, len(examples), batch_size)]

    def step(group):
        ids = pad_sequence([torch.tensor(e.input_ids) for e in group], batch_first=True, padding_value=0).to(device)
        mask = pad_sequence([torch.ones(len(e), dtype=torch.long) for e in group], batch_first=True).to(device)
        # transformers shifts labels itself: label t = input t where the token is part of the answer
        labels = pad_sequence([torch.tensor([IGNORE_INDEX] + [e.input_ids[t + 1] if e.target_ids[t] != IGNORE_INDEX
                                                               else IGNORE_INDEX for t in range(len(e) - 1)])
                               for e in group], batch_first=True, padding_value=IGNORE_INDEX).to(device)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    done, elapsed, memory = measure(step, batches, warmup, device, budget)
    return [e for group in done for e in group], elapsed, memory


def trainer_loop(model, examples, device, dtype, attention, budget, warmup):
    loss_module = TokenLoss(model)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-5, fused=device.type == "cuda")
    row_tokens = ROW_TOKENS if device.type == "cuda" else MAX_LENGTH
    rows = pack_best_fit_decreasing([len(e) for e in examples], row_tokens)
    random.Random(0).shuffle(rows)
    batches = [[examples[i] for i in row] for row in rows]

    def step(row):
        batch = collate_rows([row], pad_id=0, pad_to=row_tokens if attention == "flex" else None).to(device)
        loss_sum, count = loss_module(batch.input_ids, batch.target_ids, **attention_inputs(batch, attention, dtype))
        (loss_sum / count).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    done, elapsed, memory = measure(step, batches, warmup, device, budget)
    return [e for row in done for e in row], elapsed, memory


def equivalence_check(model, examples, device, dtype, attention) -> float:
    """Relative difference between a packed row's loss and its examples' losses one by one (bf16 on GPU)."""
    loss_module = TokenLoss(model)
    row = examples[:6]
    with torch.no_grad():
        batch = collate_rows([row], pad_id=0, pad_to=ROW_TOKENS if attention == "flex" and device.type == "cuda"
                             else None).to(device)
        packed, _ = loss_module(batch.input_ids, batch.target_ids, **attention_inputs(batch, attention, dtype))
        set_attention(model, "sdpa")
        single = 0.0
        for example in row:
            one = collate_rows([[example]], pad_id=0).to(device)
            value, _ = loss_module(one.input_ids, one.target_ids, **attention_inputs(one, "sdpa", dtype))
            single += float(value)
    return abs(float(packed) - single) / single


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny shapes on the CPU, a few steps")
    parser.add_argument("--runs", default="1b:bactrian,7b:lima,1b:lima,7b:bactrian",
                        help="shape:lengths pairs, run in this order")
    parser.add_argument("--attention", default="flex,varlen", help="trainer attention paths to measure")
    parser.add_argument("--seconds", type=float, default=12.0, help="timed seconds per loop and run")
    parser.add_argument("--budget", type=float, default=220.0, help="stop starting new runs after this many seconds")
    parser.add_argument("--out", help="append one JSON line per measurement here")
    options = parser.parse_args()

    started = time.perf_counter()
    device = torch.device("cpu" if options.smoke or not torch.cuda.is_available() else "cuda")
    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = next((value for key, value in PEAK_FLOPS.items() if key in name), None)
    import transformers

    print(f"device {name}; torch {torch.__version__}; transformers {transformers.__version__}", flush=True)
    attentions = [a for a in options.attention.split(",") if a]
    if device.type == "cpu":
        attentions = ["sdpa"]  # flex needs a compiler toolchain and varlen needs CUDA
    if "varlen" in attentions:
        try:
            register_varlen_attention()
        except Exception as error:  # noqa: BLE001 - an older torch has no varlen kernel
            print(f"varlen attention unavailable ({error}); skipped", flush=True)
            attentions.remove("varlen")
    results = []
    runs = options.runs.split(",")
    if options.smoke:
        runs = list(dict.fromkeys("smoke:" + run.split(":")[1] for run in runs))
    for run in runs:
        shape_name, lengths = run.split(":")
        if time.perf_counter() - started > options.budget:
            print(f"budget spent: skipping {run}", flush=True)
            continue
        shape = SHAPES[shape_name]
        examples = sample_examples(lengths, 4000 if device.type == "cuda" else 48, shape["vocab_size"], seed=1)
        model = build_model(shape_name, device, dtype, "sdpa")
        model, _, _ = apply_lora(model, 16, 32, 0.0, ["all-linear"])
        parameters = matmul_parameters(model)
        checkpointing = shape_name == "7b"
        seconds = options.seconds if device.type == "cuda" else 2.0
        variants = [("naive", "sdpa", checkpointing)] + [(f"trainer-{a}", a, False) for a in attentions]
        for label, attention, use_checkpointing in variants:
            if use_checkpointing:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            else:
                model.gradient_checkpointing_disable()
            row = {"device": name, "shape": shape_name, "lengths": lengths, "loop": label,
                   "gradient_checkpointing": use_checkpointing}
            try:
                set_attention(model, {"flex": "flex_attention", "varlen": "polyglot_varlen"}.get(attention, attention))
                if label == "naive":
                    done, elapsed, memory = naive_loop(model, examples, device, seconds, warmup=2)
                else:
                    row["packed_vs_single_relative_difference"] = equivalence_check(model, examples, device, dtype,
                                                                                     attention)
                    set_attention(model, {"flex": "flex_attention", "varlen": "polyglot_varlen"}[attention]
                                  if attention in ("flex", "varlen") else attention)
                    try:
                        done, elapsed, memory = trainer_loop(model, examples, device, dtype, attention, seconds,
                                                             warmup=3)
                    except torch.OutOfMemoryError:
                        # the trainer's answer to a card too small for 8k-token rows: gradient checkpointing
                        torch.cuda.empty_cache()
                        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
                        row["gradient_checkpointing"] = True
                        done, elapsed, memory = trainer_loop(model, examples, device, dtype, attention, seconds,
                                                             warmup=2)
            except torch.OutOfMemoryError:
                row["error"] = "out of memory"
                torch.cuda.empty_cache()
            except Exception as error:  # noqa: BLE001 - report and go on with the other loops
                row["error"] = f"{type(error).__name__}: {error}"[:500]
            else:
                tokens = sum(len(e) for e in done)
                flops = model_flops(done, shape, parameters)
                row.update(tokens=tokens, seconds=round(elapsed, 3), tokens_per_second=round(tokens / elapsed, 1),
                           mfu=round(flops / elapsed / peak, 4) if peak else None,
                           peak_memory_gb=round(memory, 2) if memory is not None else None)
            results.append(row)
            print(json.dumps(row), flush=True)
            if options.out:
                with open(options.out, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    print("\nshape  lengths   loop              tokens/s    MFU   peak GB  speed-up")
    for row in results:
        naive = next((r for r in results if r["shape"] == row["shape"] and r["lengths"] == row["lengths"]
                      and r["loop"] == "naive" and "tokens_per_second" in r), None)
        if "tokens_per_second" not in row:
            print(f"{row['shape']:<6} {row['lengths']:<9} {row['loop']:<16} {row.get('error')}")
            continue
        ratio = row["tokens_per_second"] / naive["tokens_per_second"] if naive else float("nan")
        mfu = f"{row['mfu']:.1%}" if row["mfu"] is not None else "-"
        memory = f"{row['peak_memory_gb']:.1f}" if row["peak_memory_gb"] is not None else "-"
        print(f"{row['shape']:<6} {row['lengths']:<9} {row['loop']:<16} {row['tokens_per_second']:>9.0f} {mfu:>6} "
              f"{memory:>8} {ratio:>8.2f}x")
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0 if all("error" not in row for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
