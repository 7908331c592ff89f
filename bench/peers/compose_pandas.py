"""Peer of the benchmark: the Bactrian-X composition workload written with pandas + pyarrow.

    python bench/peers/compose_pandas.py --input DIR --out OUT [--seed 42] [--sample 1030]

Reads DIR/{en,de,fr,it,es}.json.gz (Bactrian-X JSON arrays), normalises every row to the canonical record,
keeps the ids present in all five languages (the first row of a duplicated id), samples Bactrian-X-small
(1,030 ids), and writes the 9 compositions of both corpora as OUT/<corpus>/<COMPOSITION>.jsonl and .arrow
(Arrow IPC file). The sets of ids follow polyglot-instruct's documented algorithm (seedrandom ARC4 shuffles,
ported in seedrandom_port.py) so that every JSONL file holds the same lines as polyglot-instruct's; the row
order inside a file is shuffled with pandas' own generator, as a pandas user would (the benchmark compares
sets of lines, not their order).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seedrandom_port import shuffle_ids  # noqa: E402
from workload import ARROW_SCHEMA, COMPOSITIONS, ENCODER, LANGUAGES, SOURCE, study_ids, write_study  # noqa: E402



def read_language(path: str) -> pd.DataFrame:
    """One Bactrian-X file as a frame indexed by id: user message, assistant message, origin."""
    frame = pd.read_json(path, orient="records", dtype=False)
    frame = frame.drop_duplicates("id", keep="first")
    has_input = frame["input"] != ""
    user = frame["instruction"].where(~has_input, frame["instruction"] + "\n\n" + frame["input"])
    return pd.DataFrame(
        {
            "user": user.to_numpy(),
            "assistant": frame["output"].to_numpy(),
            "origin": frame["id"].str.split("-", n=1).str[0].to_numpy(),
        },
        index=pd.Index(frame["id"].to_numpy(), name="id"),
    )


def composition_languages(name: str) -> list[str]:
    base = name.removesuffix("-sampled")
    return [base[index : index + 2].lower() for index in range(0, len(base), 2)]


def build_composition(frames: dict[str, pd.DataFrame], ids: list[str], name: str, seed: int) -> pd.DataFrame:
    """The rows of one composition (columns id, lang, user, assistant, origin), shuffled."""
    languages = composition_languages(name)
    if name.endswith("-sampled"):
        order = shuffle_ids(ids, seed, "assign:" + name.removesuffix("-sampled"))
        size, extra = divmod(len(order), len(languages))
        parts, start = [], 0
        for index, lang in enumerate(languages):
            end = start + size + (1 if index < extra else 0)
            parts.append(frames[lang].loc[order[start:end]].assign(lang=lang))
            start = end
    else:
        parts = [frames[lang].loc[ids].assign(lang=lang) for lang in languages]
    rows = pd.concat(parts).reset_index()
    return rows.sample(frac=1, random_state=seed).reset_index(drop=True)


def write_jsonl(rows: pd.DataFrame, path: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        lines = []
        for id_, lang, user, assistant, origin in zip(
            rows["id"], rows["lang"], rows["user"], rows["assistant"], rows["origin"]
        ):
            record = {
                "id": id_,
                "lang": lang,
                "source": SOURCE,
                "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
                "meta": {"origin": origin},
            }
            lines.append(ENCODER.encode(record))
            if len(lines) == 10_000:
                file.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            file.write("\n".join(lines) + "\n")


def write_arrow(rows: pd.DataFrame, path: str) -> None:
    count = len(rows)
    contents = np.empty(2 * count, dtype=object)
    contents[0::2] = rows["user"].to_numpy()
    contents[1::2] = rows["assistant"].to_numpy()
    roles = pa.array(np.tile(np.array(["user", "assistant"], dtype=object), count), type=pa.string())
    messages = pa.ListArray.from_arrays(
        pa.array(np.arange(0, 2 * count + 1, 2, dtype=np.int32)),
        pa.StructArray.from_arrays([roles, pa.array(contents, type=pa.string())], names=["role", "content"]),
    )
    meta = ('{"origin":' + rows["origin"].map(json.dumps) + "}").to_numpy()
    table = pa.Table.from_arrays(
        [
            pa.array(rows["id"].to_numpy(), type=pa.string()),
            pa.array(rows["lang"].to_numpy(), type=pa.string()),
            pa.array(np.full(count, SOURCE, dtype=object), type=pa.string()),
            messages,
            pa.array(meta, type=pa.string()),
        ],
        schema=ARROW_SCHEMA,
    )
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, ARROW_SCHEMA) as writer:
        writer.write_table(table, max_chunksize=16_384)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sample", type=int, default=1030)
    arguments = parser.parse_args()
    started = time.perf_counter()

    frames = {lang: read_language(os.path.join(arguments.input, f"{lang}.json.gz")) for lang in LANGUAGES}
    common_ids, small_ids = study_ids([frames[lang].index for lang in LANGUAGES], arguments.seed, arguments.sample)
    print(f"read {len(LANGUAGES)} languages, {len(common_ids)} common ids ({time.perf_counter() - started:.1f} s)")
    build = lambda ids, name: build_composition(frames, ids, name, arguments.seed)  # noqa: E731
    write_study(arguments.out, (("bactrian-x", common_ids), ("bactrian-x-small", small_ids)), build, write_jsonl, write_arrow, started)


if __name__ == "__main__":
    main()
