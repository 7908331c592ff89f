"""prompts: the token ids an adapter is prompted with, for `generate` here and for any inference server.

    fmt = load_prompt_format("base-model", "runs/ENDEFRITES")            # the run's template + system messages
    ids = prompt_ids(fmt, [{"role": "user", "content": "Hallo?"}], "DE")  # what training showed before an answer
    python -m polyglot_trainer render-prompts --model BASE < requests.jsonl > ids.jsonl

`render-prompts` is how `build-datasets generate --engine openai` gets its prompts: it reads one JSON request a
line, `{"adapter": RUN, "messages": [...], "lang": "DE"}`, and answers each with one line `{"ids": [...],
"stop_token_ids": [...]}` (or `{"error": "..."}`), so a server is sent exactly the ids `--engine hf` hands
`model.generate` (both call `prompt_ids`), and those are cut from the ids training learned from
(conversation.encode_conversation). The server never applies a chat template or tokenises.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .conversation import ChatFormat, encode_conversation, end_of_turn_ids, load_chat_format
from .errors import TrainerError
from .model import load_tokenizer


@dataclass
class PromptFormat:
    """Everything that turns a conversation into the ids an adapter is prompted with."""

    tokenizer: object
    chat_format: ChatFormat
    stop_token_ids: list[int]  # generation ends on these (eos and the template's end-of-turn token)


def read_training_settings(adapter: str | None) -> dict:
    """The run's training_config.json (chat template, system messages); {} without an adapter."""
    if adapter is None:
        return {}
    path = Path(adapter) / "training_config.json"
    if not path.is_file():
        raise TrainerError(f"{path} not found: --adapter must be a training run folder written by `train`")
    return json.loads(path.read_text(encoding="utf-8"))


def load_prompt_format(model: str, adapter: str | None = None, chat_template: str | None = None,
                       system_message: str | None = None) -> PromptFormat:
    """The chat template and per-language system messages the adapter was trained with (its training_config.json),
    with the tokenizer it saved (else the base model's); `chat_template` and `system_message` override the run's."""
    settings = read_training_settings(adapter)
    has_own_tokenizer = adapter is not None and (Path(adapter) / "tokenizer.json").is_file()
    tokenizer = load_tokenizer(adapter if has_own_tokenizer else model)
    message = system_message if system_message is not None else settings.get("system_message")
    messages = settings.get("system_messages", {}) if system_message is None else {}
    chat_format = load_chat_format(tokenizer, chat_template or settings.get("chat_template", "auto"), message, messages)
    return PromptFormat(tokenizer, chat_format, end_of_turn_ids(chat_format, tokenizer))


def prompt_ids(prompt_format: PromptFormat, messages: list[dict], lang: str | None) -> list[int]:
    """The ids training showed the model before an assistant turn: the conversation so far, with the language's
    system message, cut where the next answer's first learned token would be."""
    return encode_conversation(prompt_format.chat_format, prompt_format.tokenizer, messages, lang,
                               add_generation_prompt=True).input_ids


def check_messages(messages) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise TrainerError("messages: expected a non-empty list of {role, content}")
    for index, message in enumerate(messages):
        if (not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant")
                or not isinstance(message.get("content"), str)):
            raise TrainerError(f"messages[{index}]: expected {{\"role\": system|user|assistant, \"content\": str}}")
    if messages[-1]["role"] != "user":
        raise TrainerError("messages: the last message must be the user's (the prompt asks for the next answer)")
    return messages


def serve_prompt_requests(model: str, source: IO[str], sink: IO[str], chat_template: str | None = None,
                          system_message: str | None = None) -> int:
    """Answer JSONL prompt requests from `source` on `sink`, one line each, in order; returns the count."""
    formats: dict[str | None, PromptFormat] = {}
    count = 0
    for line in source:
        if not line.strip():
            continue
        count += 1
        try:
            request = json.loads(line)
            adapter = request.get("adapter")
            if adapter not in formats:
                formats[adapter] = load_prompt_format(model, adapter, chat_template, system_message)
            prompt_format = formats[adapter]
            ids = prompt_ids(prompt_format, check_messages(request.get("messages")), request.get("lang"))
            answer = {"ids": ids, "stop_token_ids": prompt_format.stop_token_ids}
        except (TrainerError, json.JSONDecodeError, AttributeError) as error:
            answer = {"error": f"request {count}: {error}"}
        sink.write(json.dumps(answer) + "\n")
        sink.flush()
    return count


def main_render_prompts(model: str, chat_template: str | None, system_message: str | None) -> int:
    serve_prompt_requests(model, sys.stdin, sys.stdout, chat_template, system_message)
    return 0
