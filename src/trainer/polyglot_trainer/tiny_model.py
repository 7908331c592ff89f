"""make-tiny-model: a random Llama-architecture model and a byte-level BPE tokenizer trained on local text.

Nothing is downloaded, so the whole chain (dataset -> train -> generate) can be smoke-tested on a CPU. The tokenizer
carries the chosen template as a Jinja chat template with `{% generation %}` markers, so other trainers (TRL's
`SFTTrainer` with `assistant_only_loss=True`, axolotl) train on the same text and tokens as this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import torch

from .data import read_records
from .errors import TrainerError
from .templates import JINJA_TEMPLATES

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>"]


def texts_of(path: str) -> Iterable[str]:
    for record in read_records(path):
        for message in record.messages:
            yield message["content"]


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A byte-level BPE tokenizer (every input is encodable) with Llama-style special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>", additional_special_tokens=SPECIAL_TOKENS[4:],
                                   model_max_length=4096)


def make_tiny_model(data: str | None, out: str, vocab_size: int = 512, hidden_size: int = 64, layers: int = 2,
                    heads: int = 4, kv_heads: int = 2, intermediate_size: int = 128, max_positions: int = 4096,
                    initializer_range: float = 0.02, seed: int = 0, texts: list[str] | None = None,
                    chat_template: str | None = "plain") -> Path:
    """Write `out/` with config.json, model.safetensors and the tokenizer files; returns the path.

    `chat_template` ("plain", "opengptx", "chatml" or None for none) is saved as the tokenizer's Jinja template.
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    if chat_template is not None and chat_template not in JINJA_TEMPLATES:
        raise TrainerError(f"make-tiny-model: unknown chat template {chat_template!r}; choose from "
                           f"{', '.join(JINJA_TEMPLATES)} or none")
    corpus = list(texts) if texts is not None else list(texts_of(data))
    tokenizer = train_tokenizer(corpus, vocab_size)
    if chat_template is not None:
        tokenizer.chat_template = JINJA_TEMPLATES[chat_template]
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=intermediate_size,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
                         max_position_embeddings=max_positions, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=False, use_cache=True,
                         initializer_range=initializer_range)
    model = LlamaForCausalLM(config)
    # LoRA leaves the LM head frozen. With the usual 0.02 init and a hidden size of 32-64 its logits are nearly
    # uniform and cannot be sharpened, so nothing could be learned; a head with unit-variance logits (std
    # 1/sqrt(hidden)) over a small-init decoder lets LoRA lower the loss within a few dozen steps at lr 2e-4.
    with torch.no_grad():
        model.get_output_embeddings().weight.normal_(0.0, hidden_size ** -0.5)
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path), safe_serialization=True)
    tokenizer.save_pretrained(str(path))
    return path
