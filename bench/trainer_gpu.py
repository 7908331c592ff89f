"""Throughput of the polyglot trainer against TRL's SFTTrainer and a naive Hugging Face + peft loop, in one run,
on one GPU (not a test).

    pip install trl                                                    # the peer (pure Python)
    PYTHONPATH=src/trainer python bench/trainer_gpu.py                 # ~6 minutes on one H100/H200
    PYTHONPATH=src/trainer python bench/trainer_gpu.py --smoke         # tiny shapes on the CPU: proves it runs
    PYTHONPATH=src/trainer python bench/trainer_gpu.py --out results.jsonl --checkpointing on

Equal terms: every loop of a run uses the same gradient checkpointing (--checkpointing: off, on, or auto = on
for the 7B shape only), the same LoRA (r=16, alpha 32, all linear layers), the same examples, and about the
same tokens per optimizer step (the naive loop's padded batches are filled up to ROW_TOKENS, as the trainer's
and TRL's packed rows are).

Models: Llama-architecture, random bf16 weights (nothing downloaded): "1b" is TinyLlama-1.1B's shape, "7b" is
Llama-2-7B's. LoRA r=16, alpha 32, on all linear layers, for both loops. Sequence lengths are drawn from
log-normal fits of the two corpora (token counts, prompt and answer separately; see LENGTHS).

naive:   peft model, batches of examples padded to their longest, as many as fit ROW_TOKENS padded tokens, labels
         -100 on prompt and padding, SDPA, transformers' own loss over full logits.
trl:     TRL's SFTTrainer on the same pre-tokenised examples with `assistant_masks` (the masks assistant_only_loss
         uses; TRL applies them to pre-tokenised data): packing=True (strategy bfd), padding_free=True,
         max_length=ROW_TOKENS, batch size 1, fused AdamW, bf16;
         attention flex (transformers infers the documents from the position ids), else SDPA.
trainer: this package's path: best-fit-decreasing packing into 8,192-token rows, document-masked flex attention
         (or torch's flash varlen kernel), loss only on answer tokens before the LM head, fused AdamW,
         the trainer at its default config (flex) and at its fastest measured path.

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


def token_budget_batches(examples, budget_tokens: int) -> list[list[Example]]:
    """Consecutive examples while the padded batch (count x longest) stays within `budget_tokens`."""
    batches, current, longest = [], [], 0
    for example in examples:
        if current and max(longest, len(example)) * (len(current) + 1) > budget_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(example)
        longest = max(longest, len(example))
    return batches + ([current] if current else [])


def naive_loop(model, examples, device, budget, warmup):
    from torch.nn.utils.rnn import pad_sequence

    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-5, fused=device.type == "cuda")
    batches = token_budget_batches(examples, ROW_TOKENS if device.type == "cuda" else MAX_LENGTH)

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


def trl_loop(model, examples, device, dtype, budget, warmup, checkpointing: bool):
    """TRL's SFTTrainer, packing (bfd) + padding-free + assistant-only loss, timed after `warmup` steps."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    row_tokens = ROW_TOKENS if device.type == "cuda" else MAX_LENGTH
    rows = [{"input_ids": e.input_ids,
             "assistant_masks": [0] + [int(t != IGNORE_INDEX) for t in e.target_ids[:-1]]} for e in examples]
    # TRL's assistant_only_loss=True checks for a conversational dataset; on a pre-tokenised one the
    # `assistant_masks` column is what it applies (always), which is the same loss on assistant tokens only
    dataset = Dataset.from_list(rows)
    steps = 10_000
    config = SFTConfig(output_dir="/tmp/polyglot-bench-trl", per_device_train_batch_size=1, max_steps=steps,
                       packing=True, packing_strategy="bfd", padding_free=True,
                       max_length=row_tokens, learning_rate=1e-5, lr_scheduler_type="constant", warmup_steps=0,
                       bf16=dtype == torch.bfloat16, gradient_checkpointing=checkpointing,
                       gradient_checkpointing_kwargs={"use_reentrant": False}, optim="adamw_torch_fused"
                       if device.type == "cuda" else "adamw_torch", logging_steps=10_000, save_strategy="no",
                       report_to="none", dataloader_num_workers=0, use_cpu=device.type == "cpu",
                       disable_tqdm=True)
    from polyglot_trainer.tiny_model import train_tokenizer

    # the examples are token ids already; TRL only needs a tokenizer for its pad/eos ids (pad 3, eos 2: in vocabulary)
    tokenizer = train_tokenizer(["a b c"], vocab_size=300)
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer)
    collate = trainer.data_collator
    state = {"tokens": 0, "steps": 0, "start": None, "done": []}

    def counting_collator(features):
        state["steps"] += 1
        if state["steps"] == warmup + 1:
            synchronize(device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            state["start"] = time.perf_counter()
        elif state["start"] is not None and time.perf_counter() - state["start"] > budget:
            trainer.control.should_training_stop = True
        if state["start"] is not None:
            state["tokens"] += sum(len(feature["input_ids"]) for feature in features)
        return collate(features)

    from transformers import TrainerCallback

    class StopAfterBudget(TrainerCallback):
        def on_step_end(self, args, control_state, control, **kwargs):
            if state["start"] is not None and time.perf_counter() - state["start"] > budget:
                control.should_training_stop = True
            return control

    trainer.data_collator = counting_collator
    trainer.add_callback(StopAfterBudget())
    trainer.train()
    synchronize(device)
    elapsed = time.perf_counter() - state["start"]
    memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    # the collator may count one batch prepared but not trained when the budget stops it (one of hundreds)
    return state["tokens"], elapsed, memory


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
    parser.add_argument("--checkpointing", choices=["off", "on", "auto"], default="auto",
                        help="gradient checkpointing for every loop of a run (auto: on for the 7B shape)")
    parser.add_argument("--peers", default="naive,trl", help="peers to measure beside the trainer")
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
        checkpointing = options.checkpointing == "on" or (options.checkpointing == "auto" and shape_name == "7b")
        seconds = options.seconds if device.type == "cuda" else 2.0
        peers = [peer for peer in options.peers.split(",") if peer]
        variants = [(peer, "sdpa", checkpointing) for peer in peers] + [
            (f"trainer-{a}", a, checkpointing) for a in attentions]
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
                elif label == "trl":
                    trl_attention = "flex_attention" if device.type == "cuda" else "sdpa"
                    set_attention(model, trl_attention)
                    row["attention"] = trl_attention
                    tokens, elapsed, memory = trl_loop(model, examples, device, dtype, seconds, 3, checkpointing)
                    done = None
                else:
                    row["packed_vs_single_relative_difference"] = equivalence_check(model, examples, device, dtype,
                                                                                     attention)
                    set_attention(model, {"flex": "flex_attention", "varlen": "polyglot_varlen"}[attention]
                                  if attention in ("flex", "varlen") else attention)
                    done, elapsed, memory = trainer_loop(model, examples, device, dtype, attention, seconds, warmup=3)
            except torch.OutOfMemoryError:
                row["error"] = "out of memory"
                torch.cuda.empty_cache()
            except Exception as error:  # noqa: BLE001 - report and go on with the other loops
                row["error"] = f"{type(error).__name__}: {error}"[:500]
            else:
                if done is not None:
                    tokens = sum(len(e) for e in done)
                    flops = model_flops(done, shape, parameters)
                else:  # TRL: the same examples' mean FLOPs per token (its packing draws rows in its own order)
                    flops = model_flops(examples, shape, parameters) / sum(len(e) for e in examples) * tokens
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
    print("\nshape  lengths   loop              tokens/s    MFU   peak GB  vs naive  vs trl")
    for row in results:
        naive = next((r for r in results if r["shape"] == row["shape"] and r["lengths"] == row["lengths"]
                      and r["loop"] == "naive" and "tokens_per_second" in r), None)
        if "tokens_per_second" not in row:
            print(f"{row['shape']:<6} {row['lengths']:<9} {row['loop']:<16} {row.get('error')}")
            continue
        ratio = row["tokens_per_second"] / naive["tokens_per_second"] if naive else float("nan")
        trl = next((r for r in results if r["shape"] == row["shape"] and r["lengths"] == row["lengths"]
                    and r["loop"] == "trl" and "tokens_per_second" in r), None)
        trl_ratio = row["tokens_per_second"] / trl["tokens_per_second"] if trl else float("nan")
        mfu = f"{row['mfu']:.1%}" if row["mfu"] is not None else "-"
        memory = f"{row['peak_memory_gb']:.1f}" if row["peak_memory_gb"] is not None else "-"
        print(f"{row['shape']:<6} {row['lengths']:<9} {row['loop']:<16} {row['tokens_per_second']:>9.0f} {mfu:>6} "
              f"{memory:>8} {ratio:>8.2f}x {trl_ratio:>6.2f}x")
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0 if all("error" not in row for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
