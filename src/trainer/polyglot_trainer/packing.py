"""Packing: best-fit-decreasing bins of examples, and collation of rows into padded tensors.

Inside a row every example keeps its own position ids (restarting at 0) and a document id; the attention
mask built from the document ids (see attention.py) lets no token attend across examples. Padding at the end of
a row is a document of its own whose targets are all ignored.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

import torch

from .data import IGNORE_INDEX, Example


def pack_best_fit_decreasing(lengths: list[int], capacity: int) -> list[list[int]]:
    """Group example indices into bins of at most `capacity` tokens: longest first, each into the fullest bin it fits.

    Ties are broken by index, so the packing is deterministic. O(n log n) lookups over the sorted free spaces.
    """
    order = sorted(range(len(lengths)), key=lambda index: (-lengths[index], index))
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # sorted (free tokens, bin index)
    for index in order:
        length = lengths[index]
        if length > capacity:
            raise ValueError(f"example {index} has {length} tokens, more than the row capacity {capacity}")
        position = bisect.bisect_left(free, (length, -1))
        if position < len(free):
            space, bin_index = free.pop(position)
            bins[bin_index].append(index)
            remaining = space - length
        else:
            bin_index = len(bins)
            bins.append([index])
            remaining = capacity - length
        if remaining > 0:
            bisect.insort(free, (remaining, bin_index))
    return bins


def build_rows(examples: list[Example], max_length: int, packing: bool) -> list[list[int]]:
    """Rows of example indices: packed bins, or one example per row."""
    if packing:
        return pack_best_fit_decreasing([len(example) for example in examples], max_length)
    return [[index] for index in range(len(examples))]


def epoch_order(row_count: int, seed: int, epoch: int) -> list[int]:
    """The order of rows in an epoch: a fresh shuffle per epoch, reproducible from (seed, epoch) alone (for resume)."""
    order = list(range(row_count))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


@dataclass
class Batch:
    input_ids: torch.Tensor  # (B, L) token ids, padding = pad id
    target_ids: torch.Tensor  # (B, L) next-token targets, IGNORE_INDEX where nothing is learned
    position_ids: torch.Tensor  # (B, L) positions restarting at 0 for every example (and for the padding)
    document_ids: torch.Tensor  # (B, L) example number within its row; padding has its own number
    sequence_lengths: list[list[int]]  # per row, the lengths of its documents (padding included) in order
    real_tokens: int  # tokens that are not padding
    target_tokens: int  # positions with a target

    def to(self, device: torch.device) -> "Batch":
        return Batch(self.input_ids.to(device, non_blocking=True), self.target_ids.to(device, non_blocking=True),
                     self.position_ids.to(device, non_blocking=True), self.document_ids.to(device, non_blocking=True),
                     self.sequence_lengths, self.real_tokens, self.target_tokens)


def collate_rows(rows: list[list[Example]], pad_id: int, pad_to: int | None = None, multiple_of: int = 1) -> Batch:
    """Concatenate each row's examples and pad all rows to `pad_to` (or the longest row, rounded up to `multiple_of`)."""
    row_lengths = [sum(len(example) for example in row) for row in rows]
    length = pad_to or -(-max(row_lengths) // multiple_of) * multiple_of
    input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    target_ids = torch.full((len(rows), length), IGNORE_INDEX, dtype=torch.long)
    position_ids = torch.zeros((len(rows), length), dtype=torch.long)
    document_ids = torch.zeros((len(rows), length), dtype=torch.long)
    sequence_lengths = []
    for row_index, row in enumerate(rows):
        start = 0
        lengths = []
        for document, example in enumerate(row):
            end = start + len(example)
            input_ids[row_index, start:end] = torch.tensor(example.input_ids)
            target_ids[row_index, start:end] = torch.tensor(example.target_ids)
            position_ids[row_index, start:end] = torch.arange(len(example))
            document_ids[row_index, start:end] = document
            lengths.append(len(example))
            start = end
        if start < length:
            position_ids[row_index, start:] = torch.arange(length - start)
            document_ids[row_index, start:] = len(row)
            lengths.append(length - start)
        sequence_lengths.append(lengths)
    return Batch(input_ids, target_ids, position_ids, document_ids, sequence_lengths,
                 real_tokens=sum(row_lengths), target_tokens=int((target_ids != IGNORE_INDEX).sum()))
