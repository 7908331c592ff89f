"""Labels are exactly the assistant tokens (every turn, end-of-turn marker included), checked token by token."""

import copy

import pytest

from polyglot_trainer.data import IGNORE_INDEX, Record, shift_targets, tokenize_conversation, tokenize_records
from polyglot_trainer.errors import TrainerError
from polyglot_trainer.conversation import load_chat_format
from polyglot_trainer.templates import CHATML_JINJA, resolve_template_name

LLAMA2_JINJA = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' }}"
    "{% if loop.index0 == 1 and messages[0]['role'] == 'system' %}"
    "{{ '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' }}{% endif %}"
    "{{ message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}"
    "{% endfor %}"
)

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "the quick brown fox?"},
    {"role": "assistant", "content": "jumps over the lazy dog."},
    {"role": "user", "content": "und der Fuchs?"},
    {"role": "assistant", "content": "springt! 1 2 3"},
]

# (template name, jinja to install on the tokenizer or None, expected assistant texts, expected full text)
CASES = {
    "plain": (None, ["jumps over the lazy dog.</s>", "springt! 1 2 3</s>"],
              "<s>System: Be brief.\nUser: the quick brown fox?\nAssistant: jumps over the lazy dog.</s>\n"
              "User: und der Fuchs?\nAssistant: springt! 1 2 3</s>"),
    "chatml-jinja": (CHATML_JINJA, ["jumps over the lazy dog.<|im_end|>", "springt! 1 2 3<|im_end|>"],
                     "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nthe quick brown fox?<|im_end|>\n"
                     "<|im_start|>assistant\njumps over the lazy dog.<|im_end|>\n<|im_start|>user\nund der Fuchs?"
                     "<|im_end|>\n<|im_start|>assistant\nspringt! 1 2 3<|im_end|>\n"),
    "llama2-jinja": (LLAMA2_JINJA, ["jumps over the lazy dog. </s>", "springt! 1 2 3 </s>"],
                     "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nthe quick brown fox? [/INST] jumps over the lazy dog. "
                     "</s><s>[INST] und der Fuchs? [/INST] springt! 1 2 3 </s>"),
}


def setup_template(tokenizer, case):
    tokenizer = copy.deepcopy(tokenizer)
    jinja = CASES[case][0]
    tokenizer.chat_template = jinja
    name = resolve_template_name("auto", tokenizer)
    assert name == ("plain" if jinja is None else "tokenizer")
    return tokenizer, load_chat_format(tokenizer, name)


def assistant_runs(ids, is_assistant):
    runs, current = [], []
    for token, flag in zip(ids, is_assistant):
        if flag:
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


@pytest.mark.parametrize("case", list(CASES))
def test_labels_are_exactly_the_assistant_tokens_of_every_turn(tokenizer, case):
    tokenizer, chat_format = setup_template(tokenizer, case)
    ids, is_assistant = tokenize_conversation(CONVERSATION, tokenizer, chat_format)
    _, expected_runs, expected_text = CASES[case]
    assert tokenizer.decode(ids) == expected_text
    runs = assistant_runs(ids, is_assistant)
    # a token holding the header's space and the answer's first letter is learned (the model writes it)
    assert [tokenizer.decode(run).lstrip(" ") for run in runs] == expected_runs
    end_token = tokenizer.convert_tokens_to_ids("<|im_end|>" if case == "chatml-jinja" else "</s>")
    assert all(end_token in run for run in runs)
    # Every token outside the runs is prompt: system, user, headers.
    prompt_text = "".join(tokenizer.decode([t]) for t, flag in zip(ids, is_assistant) if not flag)
    assert "Be brief." in prompt_text and "und der Fuchs?" in prompt_text and "lazy dog" not in prompt_text

    targets = shift_targets(ids, is_assistant)
    assert len(targets) == len(ids) and targets[-1] == IGNORE_INDEX
    for t in range(len(ids) - 1):
        assert targets[t] == (ids[t + 1] if is_assistant[t + 1] else IGNORE_INDEX), t


def test_single_turn_plain(tokenizer):
    tokenizer, chat_format = setup_template(tokenizer, "plain")
    ids, is_assistant = tokenize_conversation(CONVERSATION[1:3], tokenizer, chat_format)
    assert [tokenizer.decode(run).lstrip(" ") for run in assistant_runs(ids, is_assistant)] == [
        "jumps over the lazy dog.</s>"]
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id and is_assistant[-1]


def test_truncation_that_removes_every_assistant_token_is_counted_and_excluded(tokenizer):
    tokenizer, chat_format = setup_template(tokenizer, "plain")
    long_prompt = {"role": "user", "content": "the quick brown fox " * 30}
    records = [Record("short", "en", [{"role": "user", "content": "fox?"}, {"role": "assistant", "content": "dog."}]),
               Record("cut", "de", [long_prompt, {"role": "assistant", "content": "ok"}]),
               Record("partly", "fr", [CONVERSATION[1], {"role": "assistant", "content": "jumps " * 80}])]
    result = tokenize_records(records, tokenizer, chat_format, max_length=40)
    assert [example.id for example in result.examples] == ["short", "partly"]
    assert result.excluded_ids == ["cut"]
    assert result.truncated == 1  # 'partly' kept its first assistant tokens
    assert all(len(example) <= 40 for example in result.examples)
    assert result.summary()["excluded_empty_after_truncation"] == 1
    assert set(result.tokens_per_language) == {"en", "fr"}


def test_per_language_system_message_is_added_only_when_missing(tokenizer):
    tokenizer, _ = setup_template(tokenizer, "plain")
    chat_format = load_chat_format(tokenizer, "plain", system_message="Global.", system_messages={"de": "Antworte kurz."})
    records = [Record("a", "de", CONVERSATION[1:3]), Record("b", "fr", CONVERSATION[1:3]), Record("c", "de", CONVERSATION)]
    result = tokenize_records(records, tokenizer, chat_format, 512)
    texts = [tokenizer.decode(example.input_ids) for example in result.examples]
    assert texts[0].startswith("<s>System: Antworte kurz.\nUser:")
    assert texts[1].startswith("<s>System: Global.\nUser:")
    assert texts[2].startswith("<s>System: Be brief.\nUser:")


def test_a_template_that_rewrites_earlier_turns_is_refused(tokenizer):
    tokenizer = copy.deepcopy(tokenizer)
    # Renders only the last message: prefixes are not prefixes of the full rendering.
    tokenizer.chat_template = "{{ messages[-1]['content'] }}"
    with pytest.raises(TrainerError, match="inconsistently"):
        tokenize_conversation(CONVERSATION, tokenizer, load_chat_format(tokenizer, "tokenizer"))
