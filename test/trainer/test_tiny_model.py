"""make-tiny-model saves the chosen template as Jinja with {% generation %} markers: it renders exactly the text of
the trainer's own template code, and marks exactly the tokens the trainer learns."""

import pytest

from conftest import make_records, run_cli
from polyglot_trainer.conversation import encode_conversation, load_chat_format
from polyglot_trainer.model import load_tokenizer
from polyglot_trainer.templates import JINJA_TEMPLATES, make_renderer
from polyglot_trainer.tiny_model import make_tiny_model

CONVERSATIONS = [
    [{"role": "user", "content": "the quick brown fox?"}, {"role": "assistant", "content": "jumps over 2 dogs."}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "der Fuchs"},
     {"role": "assistant", "content": "springt"}, {"role": "user", "content": "and then?"},
     {"role": "assistant", "content": "1 2 3\n\n- it stops"}],
    [{"role": "user", "content": "only a question"}],
]


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    texts = [message["content"] for record in make_records(60, seed=3) for message in record["messages"]]
    made = {}
    for name in JINJA_TEMPLATES:
        path = make_tiny_model(None, str(tmp_path_factory.mktemp(name)), vocab_size=300, hidden_size=32, layers=1,
                               heads=2, kv_heads=1, intermediate_size=32, texts=texts, chat_template=name)
        made[name] = load_tokenizer(str(path))
    return made


@pytest.mark.parametrize("name", sorted(JINJA_TEMPLATES))
def test_the_saved_template_renders_the_trainers_text(tokenizers, name):
    tokenizer = tokenizers[name]
    render = make_renderer(name, tokenizer)
    for messages in CONVERSATIONS:
        for add_generation_prompt in (False, True):
            saved = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
            assert saved == tokenizer.bos_token + render(messages, add_generation_prompt), (messages, add_generation_prompt)


@pytest.mark.parametrize("name", sorted(JINJA_TEMPLATES))
def test_generation_markers_mark_the_tokens_the_trainer_learns(tokenizers, name):
    tokenizer = tokenizers[name]
    named = load_chat_format(tokenizer, name)
    saved = load_chat_format(tokenizer, "auto")
    assert saved.template == "tokenizer"
    for messages in CONVERSATIONS[:2]:
        # opengptx's named template adds the language's system message; without a language both use the default
        expected = encode_conversation(named, tokenizer, messages)
        assert encode_conversation(saved, tokenizer, messages).input_ids == expected.input_ids
        marked = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
                                               return_assistant_tokens_mask=True)
        assert marked["input_ids"] == expected.input_ids
        assert [bool(flag) for flag in marked["assistant_masks"]] == expected.is_assistant
        assert any(expected.is_assistant) and not all(expected.is_assistant)


def test_the_command_line_saves_plain_by_default(tmp_path, tokenizer):
    data = tmp_path / "data.jsonl"
    data.write_text("".join(
        '{"id": "%d", "lang": "en", "messages": [{"role": "user", "content": "hi %d"}, '
        '{"role": "assistant", "content": "hello there %d"}]}\n' % (index, index, index) for index in range(20)))
    made = run_cli("make-tiny-model", "--data", str(data), "--out", str(tmp_path / "tiny"), "--vocab-size", "280",
                   "--hidden-size", "16", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--intermediate-size", "16")
    assert made.returncode == 0, made.stderr
    assert load_tokenizer(str(tmp_path / "tiny")).chat_template == JINJA_TEMPLATES["plain"]
    # chat_template=None (`--chat-template none`), as the shared fixture's: no template, so `auto` means plain
    assert tokenizer.chat_template is None and load_chat_format(tokenizer, "auto").template == "plain"
