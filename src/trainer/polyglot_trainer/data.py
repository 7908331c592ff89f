"""Datasets: read the library's Arrow/JSONL files, tokenise conversations (conversation.py), shift labels, truncate.

An example becomes `input_ids` and `target_ids` of the same length, already shifted: `target_ids[t]` is the
token the model must predict after reading `input_ids[: t + 1]`, or -100 where nothing is learned (prompt, system
and user tokens, and the last position of every example). Shifting per example, before packing, is what keeps
the last token of one example from being trained to predict the first token of the next.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .errors import DatasetError
from .conversation import ChatFormat, encode_conversation

IGNORE_INDEX = -100
ROLES = ("system", "user", "assistant")
ARROW_FILE_MAGIC = b"ARROW1"
ARROW_STREAM_MAGIC = b"\xff\xff\xff\xff"
HOW_TO_BUILD = "build one with `npx build-datasets build --out out` (or `compose`) and pass out/<corpus>/<COMPOSITION>.arrow"


@dataclass
class Record:
    id: str
    lang: str
    messages: list[dict]


@dataclass
class Example:
    id: str
    lang: str
    input_ids: list[int]
    target_ids: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class TokenizedDataset:
    examples: list[Example]
    excluded_ids: list[str] = field(default_factory=list)  # every assistant token was cut by truncation
    truncated: int = 0  # examples cut to max_length that kept some assistant tokens
    tokens_per_language: dict[str, int] = field(default_factory=dict)
    target_tokens_per_language: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "examples": len(self.examples),
            "excluded_empty_after_truncation": len(self.excluded_ids),
            "excluded_ids": self.excluded_ids[:50],
            "truncated": self.truncated,
            "tokens_per_language": self.tokens_per_language,
            "target_tokens_per_language": self.target_tokens_per_language,
        }


# ---------------------------------------------------------------- reading


def detect_format(path: Path) -> str:
    """"arrow-file", "arrow-stream" or "jsonl", from the magic bytes (the extension is only a hint)."""
    if not path.is_file():
        raise DatasetError(f"dataset not found: {path}; {HOW_TO_BUILD}")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(ARROW_FILE_MAGIC):
        return "arrow-file"
    if head.startswith(ARROW_STREAM_MAGIC):
        return "arrow-stream"
    if head.startswith(b"PAR1"):
        raise DatasetError(f"{path} is a Parquet file, not a polyglot-instruct dataset (Arrow IPC or JSONL); {HOW_TO_BUILD}")
    if head.lstrip()[:1] == b"{":
        return "jsonl"
    raise DatasetError(
        f"{path} is not a polyglot-instruct dataset: expected an Arrow IPC file (magic ARROW1) or JSONL with one "
        f"{{\"id\", \"lang\", \"messages\": [{{\"role\", \"content\"}}]}} record per line; {HOW_TO_BUILD}"
    )


def _check_record(raw: dict, where: str) -> Record:
    problems = []
    for key in ("id", "lang", "messages"):
        if key not in raw:
            problems.append(f"missing field {key!r}")
    if problems:
        raise DatasetError(f"{where}: {', '.join(problems)}; expected the canonical record "
                           f"{{\"id\", \"lang\", \"source\", \"messages\", \"meta\"}}; {HOW_TO_BUILD}")
    messages = raw["messages"]
    if not isinstance(messages, list) or not messages:
        raise DatasetError(f"{where}: field 'messages' must be a non-empty list of {{role, content}}")
    clean = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES or not isinstance(message.get("content"), str):
            raise DatasetError(f"{where}: messages[{index}] must be {{\"role\": system|user|assistant, \"content\": str}}, "
                               f"got {json.dumps(message, ensure_ascii=False)[:200]}")
        clean.append({"role": message["role"], "content": message["content"]})
    if not any(message["role"] == "assistant" for message in clean):
        raise DatasetError(f"{where}: no assistant message, nothing to learn from")
    return Record(id=str(raw["id"]), lang=str(raw["lang"] or ""), messages=clean)


def _read_arrow(path: Path, kind: str) -> Iterator[Record]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    source = pa.memory_map(str(path), "r")
    try:
        reader = ipc.open_file(source) if kind == "arrow-file" else ipc.open_stream(source)
    except pa.ArrowInvalid as error:
        raise DatasetError(f"{path}: unreadable Arrow IPC data ({error}); {HOW_TO_BUILD}") from error
    schema = reader.schema
    missing = [name for name in ("id", "lang", "messages") if name not in schema.names]
    if missing:
        raise DatasetError(f"{path}: Arrow columns {missing} are missing (found {schema.names}); this is not a "
                           f"polyglot-instruct dataset; {HOW_TO_BUILD}")
    messages_type = schema.field("messages").type
    if not (pa.types.is_list(messages_type) or pa.types.is_large_list(messages_type)) or not pa.types.is_struct(
        messages_type.value_type
    ) or {messages_type.value_type.field(i).name for i in range(messages_type.value_type.num_fields)} < {"role", "content"}:
        raise DatasetError(f"{path}: column 'messages' must be list<struct<role, content>>, got {messages_type}")
    batches = (reader.get_batch(i) for i in range(reader.num_record_batches)) if kind == "arrow-file" else reader
    row = 0
    for batch in batches:
        columns = {name: batch.column(name).to_pylist() for name in ("id", "lang", "messages")}
        for index in range(batch.num_rows):
            raw = {name: columns[name][index] for name in columns}
            yield _check_record(raw, f"{path} row {row}")
            row += 1


def _read_jsonl(path: Path) -> Iterator[Record]:
    with path.open("r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(f"{path} line {number}: not JSON ({error.msg}); {HOW_TO_BUILD}") from error
            if not isinstance(raw, dict):
                raise DatasetError(f"{path} line {number}: expected a JSON object per line")
            yield _check_record(raw, f"{path} line {number}")


def read_records(path: str | Path) -> list[Record]:
    """All records of an Arrow IPC (file or stream, memory-mapped) or JSONL dataset, validated."""
    path = Path(path)
    kind = detect_format(path)
    records = list(_read_jsonl(path) if kind == "jsonl" else _read_arrow(path, kind))
    if not records:
        raise DatasetError(f"{path}: the dataset holds no records")
    return records


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_dataset_file(path: str | Path) -> dict:
    """sha256 of the dataset and of the study manifest beside it or up to two folders above, for the run record."""
    path = Path(path).resolve()
    info: dict = {"path": str(path), "sha256": sha256_file(path), "manifest": None}
    for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
        manifest = folder / "manifest.json"
        if manifest.is_file():
            info["manifest"] = {"path": str(manifest), "sha256": sha256_file(manifest)}
            try:
                outputs = json.loads(manifest.read_text(encoding="utf-8")).get("outputs", [])
                listed = [o for o in outputs if isinstance(o, dict) and o.get("sha256") == info["sha256"]]
                info["manifest"]["lists_this_file"] = bool(listed)
            except (json.JSONDecodeError, AttributeError):
                info["manifest"]["lists_this_file"] = False
            break
    return info


# ---------------------------------------------------------------- templating and masking


def tokenize_conversation(messages: list[dict], tokenizer, chat_format: ChatFormat,
                          lang: str | None = None) -> tuple[list[int], list[bool]]:
    """Token ids of the whole conversation (rendered and tokenised once) and, per token, whether it is learned."""
    encoded = encode_conversation(chat_format, tokenizer, messages, lang)
    return encoded.input_ids, encoded.is_assistant


def shift_targets(ids: list[int], is_assistant: list[bool]) -> list[int]:
    """target[t] = ids[t + 1] where token t + 1 is an assistant token, else IGNORE_INDEX."""
    targets = [ids[t + 1] if is_assistant[t + 1] else IGNORE_INDEX for t in range(len(ids) - 1)]
    return targets + [IGNORE_INDEX]


def tokenize_records(records: list[Record], tokenizer, chat_format: ChatFormat, max_length: int) -> TokenizedDataset:
    """Template, tokenize, mask and truncate every record; count what truncation emptied instead of training on it."""
    result = TokenizedDataset(examples=[])
    tokens: Counter = Counter()
    targets: Counter = Counter()
    for record in records:
        ids, is_assistant = tokenize_conversation(record.messages, tokenizer, chat_format, record.lang)
        truncated = len(ids) > max_length
        if truncated:
            ids, is_assistant = ids[:max_length], is_assistant[:max_length]
        target_ids = shift_targets(ids, is_assistant)
        count = sum(1 for target in target_ids if target != IGNORE_INDEX)
        if count == 0:
            result.excluded_ids.append(record.id)
            continue
        result.truncated += truncated
        result.examples.append(Example(record.id, record.lang, ids, target_ids))
        tokens[record.lang] += len(ids)
        targets[record.lang] += count
    result.tokens_per_language = dict(sorted(tokens.items()))
    result.target_tokens_per_language = dict(sorted(targets.items()))
    return result
