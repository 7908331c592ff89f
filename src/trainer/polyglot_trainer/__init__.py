"""polyglot_trainer: LoRA instruction tuning on polyglot-instruct compositions.

    python -m polyglot_trainer make-tiny-model --data out/lima-x/ENDEFRITES.arrow --out tiny
    python -m polyglot_trainer train --data out/lima-x/ENDEFRITES.arrow --model tiny --out run --max-steps 40 --device cpu
    python -m polyglot_trainer generate --model tiny --adapter run --bench mt-bench-x --lang de,fr --out answers
"""

__version__ = "0.1.0"
