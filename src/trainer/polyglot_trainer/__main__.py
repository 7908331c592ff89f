"""Command line: python -m polyglot_trainer train|make-tiny-model|generate|merge [options].

    python -m polyglot_trainer make-tiny-model --data out/lima-x/ENDEFRITES.arrow --out tiny
    python -m polyglot_trainer train --data out/lima-x/ENDEFRITES.arrow --model tiny --out run --max-steps 40 --device cpu
    python -m polyglot_trainer train --help          # every config field with its default and meaning
    python -m polyglot_trainer generate --model tiny --adapter run --bench mt-bench-x --lang de --out answers
    python -m polyglot_trainer render-prompts --model tiny < requests.jsonl   # prompt ids for a server (prompts.py)
    torchrun --nproc-per-node 2 -m polyglot_trainer train --config lora.yaml
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

# The choices of --chat-template (config.py's, without importing the config's dependencies twice).
CHAT_TEMPLATES = ("auto", "tokenizer", "opengptx", "plain", "chatml", "llama3")
REQUIRED = ("torch", "transformers", "peft", "pyarrow", "safetensors", "tokenizers", "yaml", "tqdm")
INSTALL_HINT = (f"{sys.executable} -m pip install torch && "
                f"{sys.executable} -m pip install -e {Path(__file__).resolve().parent.parent}")


def check_dependencies() -> None:
    from .errors import DependencyError

    missing = []
    for name in REQUIRED:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append("pyyaml" if name == "yaml" else name)
    if missing:
        raise DependencyError(f"missing Python package{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
                              f"Install the trainer's dependencies with:\n  {INSTALL_HINT}\n"
                              "(on a GPU machine keep its CUDA build of torch; on a CPU-only machine "
                              "`pip install torch --index-url https://download.pytorch.org/whl/cpu` is much smaller)")


def parse_overrides(arguments: list[str]) -> tuple[str | None, dict[str, str]]:
    """`--key value`, `--key=value`, bare `--flag` (true) and `--no-flag` (false); returns (config file, overrides)."""
    from .config import TrainConfig
    from .errors import ConfigError
    import typing

    hints = typing.get_type_hints(TrainConfig)
    overrides: dict[str, str] = {}
    config_file = None
    problems = []
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        index += 1
        if not argument.startswith("--"):
            problems.append(f"{argument}: unexpected argument (options look like --max-steps 40)")
            continue
        key, has_value, value = argument[2:].partition("=")
        name = key.replace("-", "_")
        if not has_value:
            is_flag = hints.get(name) is bool or (name.startswith("no_") and hints.get(name[3:]) is bool)
            if is_flag and (index >= len(arguments) or arguments[index].startswith("--")):
                if name.startswith("no_") and hints.get(name[3:]) is bool:
                    key, value = name[3:], "false"
                else:
                    value = "true"
            elif index < len(arguments):
                value = arguments[index]
                index += 1
            else:
                problems.append(f"--{key}: missing value")
                continue
        if name == "config":
            config_file = value
        else:
            overrides[key] = value
    if problems:
        raise ConfigError(problems)
    return config_file, overrides


def train_help() -> str:
    from .config import describe_fields

    lines = ["usage: python -m polyglot_trainer train [--config FILE.yaml|json] [--FIELD VALUE ...]", "",
             "Fields (file keys use underscores; on the command line dashes or underscores):"]
    for name, type_name, default, comment in describe_fields():
        lines.append(f"  --{name.replace('_', '-'):<28} {type_name:<16} default {default!r}")
        lines.append(f"      {comment}")
    return "\n".join(lines)


def command_train(arguments: list[str]) -> int:
    if "-h" in arguments or "--help" in arguments:
        print(train_help())
        return 0
    from .config import read_config_file, resolve_config

    # The config is checked before the heavy imports, so a typo is reported at once.
    config_file, overrides = parse_overrides(arguments)
    file_values = read_config_file(config_file) if config_file else {}
    config = resolve_config(file_values, overrides)
    from .data import detect_format

    detect_format(Path(config.data))  # a wrong file is reported before torch is imported
    from .trackers import check_trackers

    check_trackers(config.report_to)  # as is a missing tracker package
    check_dependencies()
    from .train import train

    train(config)
    return 0


def command_make_tiny_model(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m polyglot_trainer make-tiny-model",
                                     description="Write a tiny random Llama model and a tokenizer trained on --data.")
    parser.add_argument("--data", required=True, help="Arrow or JSONL dataset whose texts train the tokenizer")
    parser.add_argument("--out", required=True, help="output model directory")
    parser.add_argument("--vocab-size", type=int, default=512)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--intermediate-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args(arguments)
    check_dependencies()
    from .tiny_model import make_tiny_model

    path = make_tiny_model(options.data, options.out, vocab_size=options.vocab_size, hidden_size=options.hidden_size,
                           layers=options.layers, heads=options.heads, kv_heads=options.kv_heads,
                           intermediate_size=options.intermediate_size, seed=options.seed)
    print(f"tiny model written to {path}", file=sys.stderr)
    return 0


def command_generate(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m polyglot_trainer generate",
                                     description="Answer MT-Bench(-X) questions in FastChat's answer format.")
    parser.add_argument("--model", required=True, help="base model directory")
    parser.add_argument("--adapter", help="training run folder (adapter + training_config.json)")
    parser.add_argument("--bench", required=True, help="folder with mt_bench_<LANG>/question.jsonl")
    parser.add_argument("--lang", help="comma-separated languages, e.g. de,fr (default: all in --bench)")
    parser.add_argument("--out", required=True, help="answers folder")
    parser.add_argument("--model-id", help="model name written in the answers (default: the adapter folder's name)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=1024)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chat-template", choices=CHAT_TEMPLATES)
    parser.add_argument("--system-message")
    options = parser.parse_args(arguments)
    check_dependencies()
    from .generate import GenerateOptions, generate_answers

    languages = [item.strip() for item in options.lang.split(",") if item.strip()] if options.lang else None
    written = generate_answers(GenerateOptions(
        model=options.model, adapter=options.adapter, bench=options.bench, out=options.out, lang=languages,
        model_id=options.model_id, batch_size=options.batch_size, max_new_tokens=options.max_new_tokens,
        device=options.device, dtype=options.dtype, seed=options.seed, chat_template=options.chat_template,
        system_message=options.system_message))
    for language, path in written.items():
        print(f"{language}: {path}", file=sys.stderr)
    return 0


def command_render_prompts(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m polyglot_trainer render-prompts",
        description="Read JSONL {adapter, messages, lang} on stdin; write JSONL {ids, stop_token_ids} on stdout: the "
                    "prompt token ids `generate` feeds the model, for an OpenAI-compatible server's /v1/completions.")
    parser.add_argument("--model", required=True, help="base model directory (its tokenizer, unless a run saved one)")
    parser.add_argument("--chat-template", choices=CHAT_TEMPLATES, help="override the runs' template")
    parser.add_argument("--system-message", help="override the runs' system messages")
    options = parser.parse_args(arguments)
    check_dependencies()
    from .prompts import main_render_prompts

    return main_render_prompts(options.model, options.chat_template, options.system_message)


def command_merge(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m polyglot_trainer merge",
                                     description="Write base weights with a trained adapter merged in.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--adapter", required=True)
    parser.add_argument("--out", required=True)
    options = parser.parse_args(arguments)
    check_dependencies()
    from .model import merge_adapter

    merge_adapter(options.model, options.adapter, options.out)
    return 0


COMMANDS = {"train": command_train, "make-tiny-model": command_make_tiny_model, "generate": command_generate,
            "render-prompts": command_render_prompts, "merge": command_merge}


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] in ("-h", "--help") or arguments[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        if arguments and arguments[0] not in ("-h", "--help"):
            print(f"\nerror: unknown command {arguments[0]!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
            return 2
        return 0 if arguments else 2
    from .errors import TrainerError

    try:
        return COMMANDS[arguments[0]](arguments[1:])
    except TrainerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; resume with --resume-from latest", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
