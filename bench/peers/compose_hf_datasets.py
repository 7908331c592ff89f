"""Peer of the benchmark: the Bactrian-X composition workload written with Hugging Face `datasets`.

    python bench/peers/compose_hf_datasets.py --input DIR --out OUT [--seed 42] [--sample 1030]

Loads DIR/{en,de,fr,it,es}.json.gz with `load_dataset("json", ...)` (its cache goes to OUT/.hf-cache, so every
run starts cold), normalises with `Dataset.map`, keeps the ids present in all five languages (the first row of
a duplicated id), samples Bactrian-X-small (1,030 ids), and writes the 9 compositions of both corpora as
OUT/<corpus>/<COMPOSITION>.jsonl and .arrow (Arrow IPC file). The sets of ids follow polyglot-instruct's
documented algorithm (seedrandom ARC4 shuffles, ported in seedrandom_port.py); the row order inside a file
comes from `Dataset.shuffle(seed=...)`. JSONL is written with json (ensure_ascii=False, compact separators):
`Dataset.to_json` goes through pandas, which escapes "/" as "\\/" and so would not write the canonical lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import pyarrow as pa
import pyarrow.ipc
from datasets import Dataset, concatenate_datasets, disable_progress_bars, load_dataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seedrandom_port import shuffle_ids  # noqa: E402
from workload import ARROW_SCHEMA, COMPOSITIONS, ENCODER, LANGUAGES, SOURCE, study_ids, write_study  # noqa: E402



def to_canonical(batch: dict, lang: str) -> dict:
    """Batched map: Bactrian-X columns -> canonical record columns (meta as a JSON string, as in the Arrow files)."""
    messages = [
        [
            {"role": "user", "content": instruction + "\n\n" + input_ if input_ else instruction},
            {"role": "assistant", "content": output},
        ]
        for instruction, input_, output in zip(batch["instruction"], batch["input"], batch["output"])
    ]
    count = len(batch["id"])
    return {
        "id": batch["id"],
        "lang": [lang] * count,
        "source": [SOURCE] * count,
        "messages": messages,
        "meta": [ENCODER.encode({"origin": id_.split("-", 1)[0]}) for id_ in batch["id"]],
    }


def load_language(path: str, lang: str, cache_dir: str) -> tuple[Dataset, dict[str, int]]:
    """One language as canonical records, and the row index of the first occurrence of each id."""
    raw = load_dataset("json", data_files=path, split="train", cache_dir=cache_dir)
    dataset = raw.map(to_canonical, batched=True, fn_kwargs={"lang": lang}, remove_columns=raw.column_names)
    first_row: dict[str, int] = {}
    for index, id_ in enumerate(dataset["id"]):
        first_row.setdefault(id_, index)
    return dataset, first_row


def composition_languages(name: str) -> list[str]:
    base = name.removesuffix("-sampled")
    return [base[index : index + 2].lower() for index in range(0, len(base), 2)]


def build_composition(languages: dict, ids: list[str], name: str, seed: int) -> Dataset:
    langs = composition_languages(name)
    if name.endswith("-sampled"):
        order = shuffle_ids(ids, seed, "assign:" + name.removesuffix("-sampled"))
        size, extra = divmod(len(order), len(langs))
        parts, start = [], 0
        for index, lang in enumerate(langs):
            end = start + size + (1 if index < extra else 0)
            parts.append((lang, order[start:end]))
            start = end
    else:
        parts = [(lang, ids) for lang in langs]
    selected = []
    for lang, part_ids in parts:
        dataset, first_row = languages[lang]
        selected.append(dataset.select([first_row[id_] for id_ in part_ids]))
    return concatenate_datasets(selected).shuffle(seed=seed)


def write_jsonl(dataset: Dataset, path: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        for batch in dataset.iter(batch_size=10_000):
            lines = [
                ENCODER.encode(
                    {
                        "id": id_,
                        "lang": lang,
                        "source": source,
                        "messages": messages,
                        "meta": json.loads(meta),
                    }
                )
                for id_, lang, source, messages, meta in zip(
                    batch["id"], batch["lang"], batch["source"], batch["messages"], batch["meta"]
                )
            ]
            file.write("\n".join(lines) + "\n")


def write_arrow(dataset: Dataset, path: str) -> None:
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, ARROW_SCHEMA) as writer:
        for batch in dataset.with_format("arrow").iter(batch_size=16_384):
            # A batch read through the shuffle's indices mapping comes back with one chunk per row; without
            # combine_chunks every row would become its own record batch in the file.
            writer.write_table(batch.select(ARROW_SCHEMA.names).cast(ARROW_SCHEMA).combine_chunks())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sample", type=int, default=1030)
    arguments = parser.parse_args()
    disable_progress_bars()
    started = time.perf_counter()
    cache_dir = os.path.join(arguments.out, ".hf-cache")

    languages = {
        lang: load_language(os.path.join(arguments.input, f"{lang}.json.gz"), lang, cache_dir) for lang in LANGUAGES
    }
    common_ids, small_ids = study_ids([languages[lang][1] for lang in LANGUAGES], arguments.seed, arguments.sample)
    print(f"loaded {len(LANGUAGES)} languages, {len(common_ids)} common ids ({time.perf_counter() - started:.1f} s)")
    build = lambda ids, name: build_composition(languages, ids, name, arguments.seed)  # noqa: E731
    write_study(arguments.out, (("bactrian-x", common_ids), ("bactrian-x-small", small_ids)), build, write_jsonl, write_arrow, started)


if __name__ == "__main__":
    main()
