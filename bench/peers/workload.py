"""The benchmark workload both Python peers run: languages, compositions and the canonical output shapes."""
import json
import os
import time

import pyarrow as pa

LANGUAGES = ["en", "de", "fr", "it", "es"]
COMPOSITIONS = ["EN", "DE", "FR", "IT", "ES", "ENDEFRITES", "DEFRITES", "ENDEFRITES-sampled", "DEFRITES-sampled"]
SOURCE = "bactrian-x"
ARROW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("lang", pa.string()),
        ("source", pa.string()),
        ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("meta", pa.string()),
    ]
)
ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def study_ids(id_lists: list, seed: int, sample: int) -> tuple:
    """The ids present in every language, sorted, and the Bactrian-X-small sample of them."""
    from seedrandom_port import shuffle_ids

    common = set(id_lists[0])
    for ids in id_lists[1:]:
        common &= set(ids)
    common_ids = sorted(common)
    return common_ids, sorted(shuffle_ids(common_ids, seed, "sample")[:sample])


def write_study(out: str, corpora: tuple, build, write_jsonl, write_arrow, started: float) -> None:
    """Writes every composition of every (corpus, ids) pair as JSONL and Arrow with the peer's own functions."""
    for corpus, ids in corpora:
        os.makedirs(os.path.join(out, corpus), exist_ok=True)
        for name in COMPOSITIONS:
            rows = build(ids, name)
            base = os.path.join(out, corpus, name)
            write_jsonl(rows, base + ".jsonl")
            write_arrow(rows, base + ".arrow")
        print(f"wrote {corpus} ({time.perf_counter() - started:.1f} s)")
