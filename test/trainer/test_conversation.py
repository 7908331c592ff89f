"""One tokenisation: training ids are the one-pass tokenisation of the rendering, labels are exactly the assistant
spans plus end-of-turn, generation prompts are prefixes of the training ids. Real Mistral/Mixtral v1 SentencePiece
tokenizer (from the mistral-common wheel) and a byte-level BPE; every named template and a tokenizer template."""

import json
from pathlib import Path

import pytest

from polyglot_trainer.conversation import encode_conversation, end_of_turn_ids, load_chat_format, render_with_spans
from polyglot_trainer.conversation import with_system_message
from polyglot_trainer.templates import CHATML_JINJA

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference-data" / "mt_bench_x" / "opengptx_template.json"

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
    {"role": "user", "content": "What is 2 + 2?"},
    {"role": "assistant", "content": "Sure: 2 + 2 is 4."},
    {"role": "user", "content": "Und auf Deutsch?"},
    {"role": "assistant", "content": "Zwei plus zwei ist vier."},
    {"role": "user", "content": "Merci!"},
    {"role": "assistant", "content": "12 is not 4."},  # starts with a digit: no word to absorb the separator
]
TEMPLATES = ["opengptx", "plain", "chatml", "tokenizer"]


@pytest.fixture(scope="session")
def bpe_tokenizer():
    """A byte-level BPE (GPT-2/Llama-3 style pre-tokenizer) whose vocabulary merges `ĠS`, `ĠZ`, `ĠA` ..."""
    from polyglot_trainer.tiny_model import train_tokenizer

    texts = [message["content"] for message in CONVERSATION] * 20 + ["System: User: Assistant: A Sure Zwei"] * 20
    return train_tokenizer(texts, vocab_size=400)


def bpe_tokenizer_decodes(tokenizer, token_id):
    return tokenizer.decode([token_id])


def tokenizers_and_templates():
    return [(tokenizer, template) for tokenizer in ("mistral", "bpe") for template in TEMPLATES]


def setup(request, tokenizer_name, template):
    tokenizer = request.getfixturevalue(f"{tokenizer_name}_tokenizer")
    if template == "tokenizer":
        import copy

        tokenizer = copy.deepcopy(tokenizer)
        tokenizer.chat_template = LLAMA2_JINJA
    return tokenizer, load_chat_format(tokenizer, template, system_messages={"de": "Antworte kurz."})


@pytest.mark.parametrize("tokenizer_name, template", tokenizers_and_templates())
def test_training_ids_are_the_one_pass_tokenisation_and_labels_the_assistant_spans(request, tokenizer_name, template):
    tokenizer, chat_format = setup(request, tokenizer_name, template)
    encoded = encode_conversation(chat_format, tokenizer, CONVERSATION, lang="de")
    one_pass = tokenizer(encoded.text, add_special_tokens=False, return_offsets_mapping=True)
    assert encoded.input_ids == chat_format.prefix_ids + one_pass["input_ids"]
    if template != "tokenizer":
        assert encoded.input_ids[0] == tokenizer.bos_token_id
    # labels: exactly the tokens whose characters overlap an assistant turn's text + end-of-turn marker
    _, spans = render_with_spans(chat_format, with_system_message(chat_format, CONVERSATION, "de"))
    eot = {"opengptx": "</s>", "plain": "</s>", "chatml": "<|im_end|>", "tokenizer": " </s>"}[template]
    answers = [message["content"] for message in CONVERSATION if message["role"] == "assistant"]
    assert [encoded.text[start:end] for start, end in spans] == [
        (" " if template in ("opengptx", "tokenizer") else "") + answer + eot for answer in answers]
    flags = encoded.is_assistant[len(chat_format.prefix_ids):]
    for (start, end), flag in zip(one_pass["offset_mapping"], flags):
        assert flag == any(start < span_end and end > span_start for span_start, span_end in spans)
    # every labelled run covers its span and at most the whitespace before it
    runs, position = [], 0
    offsets = one_pass["offset_mapping"]
    while position < len(flags):
        if flags[position]:
            first = position
            while position < len(flags) and flags[position]:
                position += 1
            runs.append(encoded.text[offsets[first][0]:offsets[position - 1][1]])
        position += 1
    assert [run.lstrip(" ") for run in runs] == [answer + eot for answer in answers]
    end_ids = {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")}
    if template == "chatml" and tokenizer_name == "bpe":
        # the newline after <|im_end|> is not learned
        closing = [index for index, token in enumerate(encoded.input_ids) if token in end_ids and encoded.is_assistant[index]]
        assert len(closing) == 3 and not any(encoded.is_assistant[index + 1] for index in closing)
        assert bpe_tokenizer_decodes(tokenizer, encoded.input_ids[closing[0] + 1]) == "\n"


@pytest.mark.parametrize("tokenizer_name, template", tokenizers_and_templates())
def test_generation_prompts_are_prefixes_of_the_training_ids(request, tokenizer_name, template):
    tokenizer, chat_format = setup(request, tokenizer_name, template)
    full = encode_conversation(chat_format, tokenizer, CONVERSATION, lang="de")
    starts = [index for index, flag in enumerate(full.is_assistant) if flag and not full.is_assistant[index - 1]]
    for turn, index in enumerate([1, 3, 5]):
        prompt = encode_conversation(chat_format, tokenizer, CONVERSATION[:index], lang="de", add_generation_prompt=True)
        assert prompt.text == chat_format.render(with_system_message(chat_format, CONVERSATION[:index], "de"), True)
        digit_answer = index == 5
        if digit_answer and template == "plain":
            # documented limit: `Assistant: ` before a digit; the training ids hold the separator as its own token
            assert full.input_ids[:len(prompt.input_ids)] == prompt.input_ids
            assert len(prompt.input_ids) < starts[turn]
            assert tokenizer.decode(full.input_ids[len(prompt.input_ids):starts[turn]]).strip() == ""
        else:
            assert prompt.input_ids == full.input_ids[:starts[turn]], (turn, template)


def test_mistral_sees_no_stray_space_after_the_end_of_a_turn(mistral_tokenizer):
    chat_format = load_chat_format(mistral_tokenizer, "plain")
    encoded = encode_conversation(chat_format, mistral_tokenizer, CONVERSATION)
    tokens = mistral_tokenizer.convert_ids_to_tokens(encoded.input_ids)
    eos = [index for index, token in enumerate(tokens) if token == "</s>"]
    assert len(eos) == 3
    assert [tokens[index:index + 3] for index in eos[:2]] == [["</s>", "<0x0A>", "User"]] * 2
    # the opengptx prompt ends with ':' and the answer's first token carries the space: '▁S' of 'Sure'
    prompt = encode_conversation(load_chat_format(mistral_tokenizer, "opengptx"), mistral_tokenizer, CONVERSATION[:1],
                                 add_generation_prompt=True)
    assert mistral_tokenizer.convert_ids_to_tokens(prompt.input_ids)[-3:] == ["Ass", "istant", ":"]
    # plain's generation prompt text ends with a space, but the ids stop before it, as training cut them
    plain_prompt = encode_conversation(chat_format, mistral_tokenizer, CONVERSATION[:1], add_generation_prompt=True)
    assert plain_prompt.text.endswith("Assistant: ")
    assert mistral_tokenizer.convert_ids_to_tokens(plain_prompt.input_ids)[-1] == ":"


def test_byte_level_bpe_learns_the_space_with_the_first_letter(bpe_tokenizer):
    chat_format = load_chat_format(bpe_tokenizer, "plain")
    encoded = encode_conversation(chat_format, bpe_tokenizer, CONVERSATION[:2])
    tokens = bpe_tokenizer.convert_ids_to_tokens(encoded.input_ids)
    first = encoded.is_assistant.index(True)
    assert tokens[first - 1:first + 1] == [":", "ĠSure"]


def test_stop_ids_are_end_of_turn_markers_only(mistral_tokenizer, bpe_tokenizer):
    import copy

    llama2 = copy.deepcopy(mistral_tokenizer)
    llama2.chat_template = LLAMA2_JINJA
    # the end-of-turn text ' </s>' starts with '▁▁' (a double space): never a stop id
    assert end_of_turn_ids(load_chat_format(llama2, "tokenizer"), llama2) == [mistral_tokenizer.eos_token_id]
    assert end_of_turn_ids(load_chat_format(mistral_tokenizer, "opengptx"), mistral_tokenizer) == [2]
    im_end = bpe_tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert end_of_turn_ids(load_chat_format(bpe_tokenizer, "chatml"), bpe_tokenizer) == sorted(
        {bpe_tokenizer.eos_token_id, im_end})
    jinja = copy.deepcopy(bpe_tokenizer)
    jinja.chat_template = CHATML_JINJA
    assert im_end in end_of_turn_ids(load_chat_format(jinja, "auto"), jinja)


def test_opengptx_matches_the_reference_for_every_language(bpe_tokenizer):
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    chat_format = load_chat_format(bpe_tokenizer, "opengptx")
    german = reference["system_messages"]["DE"]
    assert reference["example"].startswith(f"System: {german}\n")
    conversation = [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"},
                    {"role": "user", "content": "Q2"}]
    assert len(reference["system_messages"]) == 24
    for language, system_message in reference["system_messages"].items():
        expected = reference["example"].replace(german, system_message, 1)
        for lang in (language, language.lower()):
            prompt = encode_conversation(chat_format, bpe_tokenizer, conversation, lang=lang, add_generation_prompt=True)
            assert prompt.text == expected, language
    other = encode_conversation(chat_format, bpe_tokenizer, conversation, lang="xx", add_generation_prompt=True)
    assert other.text == reference["example"].replace(german, reference["default_system_message"], 1)
    # a system message of the conversation or of the config wins; the system line is always there
    configured = load_chat_format(bpe_tokenizer, "opengptx", system_messages={"de": "Kurz."})
    assert configured.render(with_system_message(configured, conversation, "de"), True).startswith("System: Kurz.\nUser")
    # the training rendering is the generation prompt followed by the answer
    training = encode_conversation(chat_format, bpe_tokenizer, [*conversation, {"role": "assistant", "content": "A2"}],
                                   lang="DE")
    assert training.text == reference["example"] + " A2</s>"
