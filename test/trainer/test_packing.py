"""Packing: best-fit-decreasing bins, and a packed batch's loss equals the loss of its examples run one by one."""

import random

import pytest
import torch

from conftest import make_records
from polyglot_trainer.attention import attention_inputs
from polyglot_trainer.data import Record, tokenize_records
from polyglot_trainer.model import TokenLoss, load_model
from polyglot_trainer.packing import build_rows, collate_rows, epoch_order, pack_best_fit_decreasing
from polyglot_trainer.conversation import load_chat_format


def first_fit_bins(lengths, capacity):
    bins = []
    for length in lengths:
        for index, used in enumerate(bins):
            if used + length <= capacity:
                bins[index] += length
                break
        else:
            bins.append(length)
    return len(bins)


def test_best_fit_decreasing_places_every_example_once_within_capacity():
    generator = random.Random(3)
    lengths = [generator.randint(1, 512) for _ in range(500)]
    bins = pack_best_fit_decreasing(lengths, 512)
    assert sorted(index for bin_ in bins for index in bin_) == list(range(500))
    assert all(sum(lengths[index] for index in bin_) <= 512 for bin_ in bins)
    assert len(bins) <= first_fit_bins(lengths, 512)
    assert len(bins) >= -(-sum(lengths) // 512)
    assert bins == pack_best_fit_decreasing(lengths, 512)  # deterministic


def test_epoch_order_reshuffles_per_epoch_and_is_reproducible():
    assert epoch_order(50, seed=1, epoch=0) == epoch_order(50, seed=1, epoch=0)
    assert epoch_order(50, seed=1, epoch=0) != epoch_order(50, seed=1, epoch=1)
    assert sorted(epoch_order(50, seed=1, epoch=1)) == list(range(50))


@pytest.fixture(scope="module")
def examples(tokenizer):
    records = [Record(r["id"], r["lang"], r["messages"]) for r in make_records(9, seed=5, multi_turn_every=3)]
    return tokenize_records(records, tokenizer, load_chat_format(tokenizer, "plain"), max_length=200).examples


def context_sensitive(model):
    """Re-draw the tiny model's weights with a large scale: the default init (std 0.02) makes attention nearly uniform
    and outputs nearly context-free, so a leak across examples would change the loss by less than the tolerance."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    return model


def example_by_example_loss(loss_module, examples, dtype, attention="sdpa"):
    total, count = 0.0, 0
    for example in examples:
        batch = collate_rows([[example]], pad_id=0)
        loss_sum, tokens = loss_module(batch.input_ids, batch.target_ids, **attention_inputs(batch, attention, dtype))
        total += float(loss_sum)
        count += tokens
    return total, count


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_packed_loss_equals_example_by_example_loss(tiny_model, tokenizer, examples, attention):
    torch.manual_seed(0)
    model = context_sensitive(load_model(str(tiny_model), torch.float32, attention, torch.device("cpu"))).eval()
    loss_module = TokenLoss(model, chunk_tokens=64)
    capacity = 256
    rows = build_rows(examples, capacity, packing=True)
    assert any(len(row) > 1 for row in rows), "the test needs rows holding several examples"
    batch = collate_rows([[examples[i] for i in row] for row in rows], tokenizer.pad_token_id)
    assert batch.input_ids.shape[0] == len(rows) >= 2  # several rows, the shorter ones padded
    with torch.no_grad():
        packed_sum, packed_count = loss_module(batch.input_ids, batch.target_ids,
                                               **attention_inputs(batch, attention, torch.float32))
        single_sum, single_count = example_by_example_loss(TokenLoss(model), examples, torch.float32, attention)
    assert packed_count == single_count
    assert abs(float(packed_sum) / packed_count - single_sum / single_count) < 1e-4
    assert abs(float(packed_sum) - single_sum) / single_sum < 1e-5


def test_the_equivalence_test_would_catch_a_leak(tiny_model, tokenizer, examples):
    """Without the document mask (plain causal attention over the row) the losses differ, so the test has teeth.
    It also pins the transformers 5 pitfall: packed detection from position ids is skipped when a cache exists."""
    model = context_sensitive(load_model(str(tiny_model), torch.float32, "sdpa", torch.device("cpu"))).eval()
    rows = build_rows(examples, 256, packing=True)
    batch = collate_rows([[examples[i] for i in row] for row in rows], tokenizer.pad_token_id)
    with torch.no_grad():
        reference, count = example_by_example_loss(TokenLoss(model), examples, torch.float32)
        decoder = model.get_decoder()

        def loss_of(hidden):
            logits = model.get_output_embeddings()(hidden).float()
            selected = batch.target_ids != -100
            return float(torch.nn.functional.cross_entropy(logits[selected], batch.target_ids[selected], reduction="sum"))

        # a leak moves the mean token loss by more than 10x the 1e-4 tolerance of the equivalence test
        causal_only = decoder(input_ids=batch.input_ids, use_cache=False).last_hidden_state
        assert abs(loss_of(causal_only) - reference) / count > 1e-3
        # position ids alone: transformers infers the documents, but only without a cache ...
        inferred = decoder(input_ids=batch.input_ids, position_ids=batch.position_ids, use_cache=False).last_hidden_state
        assert abs(loss_of(inferred) - reference) / count < 1e-5
        # ... with a cache (the default use_cache=True of most configs) examples attend across boundaries.
        model.config.use_cache = True
        leaky = decoder(input_ids=batch.input_ids, position_ids=batch.position_ids, use_cache=True).last_hidden_state
        assert abs(loss_of(leaky) - reference) / count > 1e-3


@pytest.mark.cuda
@pytest.mark.parametrize("attention", ["flex", "varlen", "sdpa"])
def test_packed_loss_equals_example_by_example_loss_on_cuda(tiny_model, tokenizer, examples, attention):
    device = torch.device("cuda")
    model = context_sensitive(load_model(str(tiny_model), torch.float32, attention, device)).eval()
    rows = build_rows(examples, 256, packing=True)
    batch = collate_rows([[examples[i] for i in row] for row in rows], tokenizer.pad_token_id, pad_to=256).to(device)
    with torch.no_grad():
        packed_sum, _ = TokenLoss(model)(batch.input_ids, batch.target_ids,
                                         **attention_inputs(batch, attention, torch.float32))
        reference_model = context_sensitive(load_model(str(tiny_model), torch.float32, "sdpa", device)).eval()
        total = 0.0
        for example in examples:
            single = collate_rows([[example]], pad_id=0).to(device)
            loss_sum, _ = TokenLoss(reference_model)(single.input_ids, single.target_ids,
                                                     **attention_inputs(single, "sdpa", torch.float32))
            total += float(loss_sum)
    # flash kernels run float32 inputs through TF32/bf16 paths: a looser bound than the CPU test
    assert abs(float(packed_sum) - total) / total < 2e-3
