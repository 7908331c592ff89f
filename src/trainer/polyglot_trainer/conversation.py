"""One tokenisation of a conversation, shared by training and generation.

    chat_format = load_chat_format(tokenizer, "opengptx")
    encoded = encode_conversation(chat_format, tokenizer, messages, lang="de")          # training: ids + labels
    prompt = encode_conversation(chat_format, tokenizer, history, lang="de", add_generation_prompt=True).input_ids

The conversation (with the language's system message) is rendered to one string and tokenised once, exactly as
an inference engine tokenises the prompt it is sent, so training never shows the model a token sequence that
generation will not produce. Labels come from character spans: each assistant turn's text and its end-of-turn
marker (the last special token of the turn, e.g. `</s>` or `<|im_end|>`, not the newline after it) is a span of
the rendering, and a token is an assistant token when its characters (the tokenizer's offset mapping) overlap a
span. A token that straddles the boundary, such as byte-level BPE's `ĠA` or SentencePiece's `▁A` holding the space
of `Assistant: ` and the answer's first letter, is learned: the model writes it.

Generation prompts are cut where training cuts them: the ids are the training ids of the conversation with a
next assistant turn, up to that turn's first assistant token. They are a prefix of the training ids whenever the
real answer's first token absorbs the header's separator as the probe answer's does (any answer starting with a
letter). Where it cannot be (`plain`'s `Assistant: ` before an answer starting with a digit, which SentencePiece
writes as a lone `▁` then the digit), the prompt ends before the `▁` and the model writes it; `opengptx` ends
its prompt with `Assistant:` and has no such case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import TrainerError
from .templates import (Message, Render, make_renderer, opengptx_system_message, resolve_template_name, split_segments,
                        template_prefix)

# The first word of the assistant turn that generation prompts are cut against (see the module docstring).
PROBE_ANSWER = "A"


@dataclass
class ChatFormat:
    """A resolved chat template with its system messages: everything that turns messages into text."""

    template: str  # resolved name: tokenizer | opengptx | plain | chatml
    render: Render
    prefix_ids: list[int]  # ids put before the rendering (BOS for the named templates)
    system_message: str | None = None  # used when an example has none and its language has no entry below
    system_messages: dict[str, str] = field(default_factory=dict)  # per language ("de" or "DE")
    special_tokens: frozenset[str] = frozenset()  # texts of the tokenizer's special tokens (end-of-turn markers)

    def system_for(self, lang: str | None) -> str | None:
        """The system message for an example in `lang`: the configured one, else opengptx's own (always one)."""
        for key in (lang, (lang or "").lower(), (lang or "").upper()):
            if key and key in self.system_messages:
                return self.system_messages[key]
        if self.system_message is not None:
            return self.system_message
        if self.template == "opengptx":
            return opengptx_system_message(lang)
        return None


@dataclass
class EncodedConversation:
    input_ids: list[int]
    is_assistant: list[bool]  # per token: learned (assistant turn or its end-of-turn marker)
    text: str  # the rendering (after the prefix ids)


def special_token_texts(tokenizer) -> frozenset[str]:
    texts = set(getattr(tokenizer, "all_special_tokens", []) or [])
    for token in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values():
        if getattr(token, "special", False):
            texts.add(str(token))
    return frozenset(text for text in texts if text)


def load_chat_format(tokenizer, template: str = "auto", system_message: str | None = None,
                     system_messages: dict[str, str] | None = None) -> ChatFormat:
    """Resolve `template` ("auto" picks the tokenizer's own, else plain) for `tokenizer`."""
    name = resolve_template_name(template, tokenizer)
    return ChatFormat(name, make_renderer(name, tokenizer), template_prefix(name, tokenizer), system_message,
                      dict(system_messages or {}), special_token_texts(tokenizer))


def with_system_message(chat_format: ChatFormat, messages: list[Message], lang: str | None) -> list[Message]:
    """Prepend the language's system message when the conversation has none."""
    if messages and messages[0]["role"] == "system":
        return messages
    text = chat_format.system_for(lang)
    return messages if text is None else [{"role": "system", "content": text}, *messages]


def _end_of_turn(segment: str, special_tokens: frozenset[str]) -> int:
    """Length of an assistant segment up to its end-of-turn marker: the end of the last special token in it, else
    the segment without trailing whitespace (the separator before the next turn is prompt, not answer)."""
    end = -1
    for token in special_tokens:
        position = segment.rfind(token)
        if position >= 0:
            end = max(end, position + len(token))
    return end if end >= 0 else len(segment.rstrip())


def render_with_spans(chat_format: ChatFormat, messages: list[Message]) -> tuple[str, list[tuple[int, int]]]:
    """The rendering and the character spans of its assistant turns (text and end-of-turn marker)."""
    text, spans = "", []
    for segment, is_assistant in split_segments(messages, chat_format.render):
        if is_assistant:
            spans.append((len(text), len(text) + _end_of_turn(segment, chat_format.special_tokens)))
        text += segment
    return text, spans


def tokenize_with_offsets(tokenizer, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    if not getattr(tokenizer, "is_fast", True):
        raise TrainerError(f"the tokenizer {type(tokenizer).__name__} gives no character offsets, which the labels "
                           "are found with; load a fast (tokenizers-backed) tokenizer: a tokenizer.json beside the model")
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return list(encoded["input_ids"]), [tuple(pair) for pair in encoded["offset_mapping"]]


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    if start == end:  # a token that covers no character (an inserted prefix) belongs where it stands
        return any(span_start <= start < span_end for span_start, span_end in spans)
    return any(start < span_end and end > span_start for span_start, span_end in spans)


def encode_conversation(chat_format: ChatFormat, tokenizer, messages: list[Message], lang: str | None = None,
                        add_generation_prompt: bool = False) -> EncodedConversation:
    """Token ids of the rendered conversation (one pass), with per-token assistant flags.

    With `add_generation_prompt` the ids end where the next assistant turn's first token would be learned in
    training (the prompt for generation); `text` is then the template's generation-prompt rendering.
    """
    messages = with_system_message(chat_format, list(messages), lang)
    if add_generation_prompt:
        probe = encode_conversation(chat_format, tokenizer, [*messages, {"role": "assistant", "content": PROBE_ANSWER}])
        cut = len(probe.input_ids)
        while cut > 0 and not probe.is_assistant[cut - 1]:  # after the probe turn (e.g. chatml's newline)
            cut -= 1
        while cut > 0 and probe.is_assistant[cut - 1]:  # the probe turn itself
            cut -= 1
        return EncodedConversation(probe.input_ids[:cut], probe.is_assistant[:cut],
                                   chat_format.render(messages, True))
    text, spans = render_with_spans(chat_format, messages)
    ids, offsets = tokenize_with_offsets(tokenizer, text)
    flags = [_overlaps(start, end, spans) for start, end in offsets]
    prefix = list(chat_format.prefix_ids)
    return EncodedConversation(prefix + ids, [False] * len(prefix) + flags, text)


def end_of_turn_ids(chat_format: ChatFormat, tokenizer) -> list[int]:
    """Token ids that end an assistant turn (generation stops on these only): eos and the special tokens that
    close an assistant turn in this template (e.g. `<|im_end|>`). Never a whitespace or text token."""
    stops = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    turn = [{"role": "user", "content": "x"}, {"role": "assistant", "content": PROBE_ANSWER}]
    encoded = encode_conversation(chat_format, tokenizer, turn)
    special_ids = set(getattr(tokenizer, "all_special_ids", []) or [])
    special_ids |= {index for index, token in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items()
                    if getattr(token, "special", False)}
    stops |= {token for token, flag in zip(encoded.input_ids, encoded.is_assistant) if flag and token in special_ids}
    return sorted(stops)
