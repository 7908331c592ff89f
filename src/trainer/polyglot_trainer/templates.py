"""Chat templates, and the split of a rendered conversation into prompt and assistant segments.

A template is a function `render(messages, add_generation_prompt) -> str`. The split is found by incremental
rendering: for every assistant message i, `render(messages[:i], add_generation_prompt=True)` is the prompt and
`render(messages[:i + 1])` minus that prompt is what the model must learn to write (content and end-of-turn
marker). This needs no generation markers in the template, so it works for any template whose renderings of a
conversation's prefixes are prefixes of each other, which is checked.
"""

from __future__ import annotations

from typing import Callable

from .errors import TrainerError

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}
Render = Callable[[list[Message], bool], str]

# The study's format for base models without a chat template; "</s>" stands for the tokenizer's eos token.
PLAIN_HEADERS = {"system": "System: ", "user": "User: ", "assistant": "Assistant: "}

CHATML_JINJA = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def render_plain(messages: list[Message], add_generation_prompt: bool, eos_token: str) -> str:
    """`System: ...\\nUser: ...\\nAssistant: ...</s>\\nUser: ...` (the named template "plain")."""
    pieces = []
    for message in messages:
        text = PLAIN_HEADERS[message["role"]] + message["content"]
        if message["role"] == "assistant":
            text += eos_token
        pieces.append(text)
    if add_generation_prompt:
        pieces.append(PLAIN_HEADERS["assistant"])
    return "\n".join(pieces)


def render_chatml(messages: list[Message], add_generation_prompt: bool) -> str:
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def resolve_template_name(name: str, tokenizer) -> str:
    """"auto" becomes "tokenizer" when the tokenizer ships a chat template, else "plain"."""
    if name == "auto":
        return "tokenizer" if getattr(tokenizer, "chat_template", None) else "plain"
    if name == "tokenizer" and not getattr(tokenizer, "chat_template", None):
        raise TrainerError(
            "chat_template: 'tokenizer' was asked for but the tokenizer has no chat template; "
            "use --chat-template plain (System:/User:/Assistant: ...</s>) or chatml"
        )
    return name


def make_renderer(name: str, tokenizer) -> Render:
    """The render function for a resolved template name ("tokenizer", "plain" or "chatml")."""
    if name == "plain":
        if tokenizer.eos_token is None:
            raise TrainerError("chat_template plain needs a tokenizer with an eos token (it ends every assistant turn)")
        eos = tokenizer.eos_token
        return lambda messages, add_generation_prompt: render_plain(messages, add_generation_prompt, eos)
    if name == "chatml":
        return render_chatml
    if name == "tokenizer":
        def render_with_tokenizer(messages: list[Message], add_generation_prompt: bool) -> str:
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)

        return render_with_tokenizer
    raise TrainerError(f"unknown chat template {name!r}")


def template_prefix(name: str, tokenizer) -> list[int]:
    """Token ids put before the rendered text: the plain and chatml templates start with BOS when the model has one;
    a tokenizer template writes its own BOS into the text."""
    if name in ("plain", "chatml") and tokenizer.bos_token_id is not None:
        return [tokenizer.bos_token_id]
    return []


def split_segments(messages: list[Message], render: Render, generation_prompt: bool = False) -> list[tuple[str, bool]]:
    """Split the rendered conversation into (text, is_assistant) segments whose concatenation is the full render.

    With `generation_prompt`, the last segment is the prompt for the next assistant turn, cut exactly as training
    cuts the prompt before an assistant turn (so generation reads the tokens training showed the model).
    """
    segments: list[tuple[str, bool]] = []
    done = ""
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = render(messages[:index], True)
        full = render(messages[: index + 1], False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            raise TrainerError(
                "the chat template renders a conversation's prefixes inconsistently (a later turn rewrites earlier "
                "text), so assistant tokens cannot be located; use --chat-template plain or chatml"
            )
        segments.append((prompt[len(done):], False))
        segments.append((full[len(prompt):], True))
        done = full
    final = render(messages, generation_prompt)
    if not final.startswith(done):
        raise TrainerError("the chat template's full rendering does not extend its rendering of the prefixes")
    if final[len(done):]:
        segments.append((final[len(done):], False))
    return [(text, is_assistant) for text, is_assistant in segments if text]
