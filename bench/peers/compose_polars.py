"""Peer of the benchmark: the Bactrian-X composition workload written with polars.

    python bench/peers/compose_polars.py --input DIR --out OUT [--seed 42] [--sample 1030]

Reads DIR/{en,de,fr,it,es}.json.gz (Bactrian-X JSON arrays), normalises every row to the canonical record with
expressions, keeps the ids present in all five languages (the first row of a duplicated id), samples
Bactrian-X-small (1,030 ids), and writes the 9 compositions of both corpora as OUT/<corpus>/<COMPOSITION>.jsonl
(`write_ndjson` of the record's columns) and .arrow (the IPC stream format polyglot-instruct writes by default,
with its schema). Each language is parsed and normalised once; a composition is a semi-join of each language's
rows with its ids, concatenated and shuffled. The sets of ids follow polyglot-instruct's
documented algorithm (seedrandom ARC4 shuffles, ported in seedrandom_port.py); the row order inside a file is
polars' own seeded shuffle (the benchmark compares sets of lines, not their order).
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time

import polars as pl
import pyarrow as pa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seedrandom_port import shuffle_ids  # noqa: E402
from workload import ARROW_SCHEMA, LANGUAGES, SOURCE, study_ids, write_study  # noqa: E402

RAW_SCHEMA = {"instruction": pl.String, "input": pl.String, "id": pl.String, "output": pl.String}


def read_language(path: str, lang: str) -> pl.DataFrame:
    """One Bactrian-X file as canonical columns (id, lang, source, messages, meta), one row per id."""
    with gzip.open(path, "rb") as file:
        raw = pl.read_json(file.read(), schema=RAW_SCHEMA)
    user = (
        pl.when(pl.col("input") != "")
        .then(pl.concat_str(pl.col("instruction"), pl.lit("\n\n"), pl.col("input")))
        .otherwise(pl.col("instruction"))
    )
    return raw.unique("id", keep="first", maintain_order=True).select(
        pl.col("id"),
        pl.lit(lang).alias("lang"),
        pl.lit(SOURCE).alias("source"),
        pl.concat_list(
            pl.struct(pl.lit("user").alias("role"), user.alias("content")),
            pl.struct(pl.lit("assistant").alias("role"), pl.col("output").alias("content")),
        ).alias("messages"),
        pl.struct(pl.col("id").str.extract(r"^([^-]*)", 1).alias("origin")).alias("meta"),
    )


def composition_languages(name: str) -> list[str]:
    base = name.removesuffix("-sampled")
    return [base[index : index + 2].lower() for index in range(0, len(base), 2)]


def build_composition(frames: dict[str, pl.DataFrame], ids: list[str], name: str, seed: int) -> pl.DataFrame:
    """The rows of one composition, shuffled: each language's rows for its ids (all ids, or its part of them)."""
    languages = composition_languages(name)
    if name.endswith("-sampled"):
        order = shuffle_ids(ids, seed, "assign:" + name.removesuffix("-sampled"))
        size, extra = divmod(len(order), len(languages))
        parts, start = [], 0
        for index, lang in enumerate(languages):
            end = start + size + (1 if index < extra else 0)
            parts.append((lang, order[start:end]))
            start = end
    else:
        parts = [(lang, ids) for lang in languages]
    rows = pl.concat(
        [frames[lang].join(pl.DataFrame({"id": part}, schema={"id": pl.String}), on="id", how="semi") for lang, part in parts]
    )
    return rows.sample(fraction=1.0, shuffle=True, seed=seed)


def write_jsonl(rows: pl.DataFrame, path: str) -> None:
    rows.write_ndjson(path)


def write_arrow(rows: pl.DataFrame, path: str) -> None:
    # polars' own IPC writer has 64-bit offsets (large_string, large_list) or string views; the canonical schema
    # has 32-bit ones, so the columns go through pyarrow's cast (as the datasets peer's do) and its stream writer.
    table = rows.with_columns(pl.col("meta").struct.json_encode()).to_arrow(compat_level=pl.CompatLevel.oldest())
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, ARROW_SCHEMA) as writer:
        writer.write_table(table.cast(ARROW_SCHEMA), max_chunksize=16_384)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sample", type=int, default=1030)
    arguments = parser.parse_args()
    started = time.perf_counter()

    frames = {lang: read_language(os.path.join(arguments.input, f"{lang}.json.gz"), lang) for lang in LANGUAGES}
    common_ids, small_ids = study_ids([frames[lang]["id"].to_list() for lang in LANGUAGES], arguments.seed, arguments.sample)
    print(f"read {len(LANGUAGES)} languages, {len(common_ids)} common ids ({time.perf_counter() - started:.1f} s)")
    build = lambda ids, name: build_composition(frames, ids, name, arguments.seed)  # noqa: E731
    write_study(arguments.out, (("bactrian-x", common_ids), ("bactrian-x-small", small_ids)), build, write_jsonl, write_arrow, started)


if __name__ == "__main__":
    main()
