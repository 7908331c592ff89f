"""generate: FastChat answer files for MT-Bench-X, two turns, per-category temperatures, resume."""

import json

import pytest

from conftest import make_records, run_cli, write_jsonl
from polyglot_trainer import generate as generate_module
from polyglot_trainer.config import resolve_config
from polyglot_trainer.errors import TrainerError
from polyglot_trainer.generate import GenerateOptions, generate_answers, temperature_for
from polyglot_trainer.train import train

QUESTIONS = {
    "DE": [{"question_id": "81_DE", "category": "writing", "turns": ["Schreibe über den Fuchs.", "Kürzer!"]},
           {"question_id": "111_DE", "category": "math", "turns": ["1 2 3?", "4 5 6?"]},
           {"question_id": "131_DE", "category": "stem", "turns": ["der Hund?", "und?"]}],
    "EN": [{"question_id": 81, "category": "writing", "turns": ["Write about the fox.", "Shorter!"]}],
}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("generate")
    data = write_jsonl(folder / "d.jsonl", make_records(8, seed=6, max_words=8))
    run = folder / "run"
    train(resolve_config({}, {"data": str(data), "model": str(tiny_model), "out": str(run), "max_steps": "2",
                              "device": "cpu", "max_length": "64", "progress_bar": "false",
                              "system_messages": '{"de": "Antworte auf Deutsch."}'}))
    bench = folder / "bench"
    for language, questions in QUESTIONS.items():
        (bench / f"mt_bench_{language}").mkdir(parents=True)
        write_jsonl(bench / f"mt_bench_{language}" / "question.jsonl", questions)
    return run, bench


def test_fastchat_temperatures():
    assert [temperature_for(c) for c in ("writing", "roleplay", "stem", "humanities", "math", "coding", "reasoning",
                                         "extraction")] == [0.7, 0.7, 0.1, 0.1, 0.0, 0.0, 0.0, 0.0]
    assert temperature_for("arena-hard") == 0.7  # FastChat's default for categories it does not list


def test_answers_both_turns_with_history_template_and_system_message(trained_run, tiny_model, tokenizer, tmp_path,
                                                                      monkeypatch):
    run, bench = trained_run
    calls = []
    real = generate_module.generate_batch

    def recording(model, tok, prompts, temperature, *rest):
        outputs = real(model, tok, prompts, temperature, *rest)
        calls.append(([tok.decode(p) for p in prompts], temperature, outputs))
        return outputs

    monkeypatch.setattr(generate_module, "generate_batch", recording)
    written = generate_answers(GenerateOptions(model=str(tiny_model), adapter=str(run), bench=str(bench),
                                               out=str(tmp_path), lang=["de"], max_new_tokens=6, batch_size=4,
                                               device="cpu"))
    path = tmp_path / "mt_bench_DE" / "model_answer" / "run.jsonl"
    assert written == {"DE": path}
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [row["question_id"] for row in rows] == ["81_DE", "111_DE", "131_DE"]  # question order
    for row in rows:
        assert row["model_id"] == "run" and isinstance(row["tstamp"], float) and row["answer_id"]
        assert row["choices"][0]["index"] == 0 and len(row["choices"][0]["turns"]) == 2
    # one batch per temperature, each answering turn 1 then turn 2
    assert sorted({temperature for _, temperature, _ in calls}) == [0.0, 0.1, 0.7]
    first_prompts, _, first_answers = next(call for call in calls if call[1] == 0.7 and "Kürzer" not in call[0][0])
    second_prompts = next(call[0] for call in calls if call[1] == 0.7 and "Kürzer" in call[0][0])
    # the training template (plain) and the run's German system message; turn 2 sees question and answer 1
    assert first_prompts[0] == "<s>System: Antworte auf Deutsch.\nUser: Schreibe über den Fuchs.\nAssistant: "
    assert second_prompts[0].startswith(first_prompts[0] + first_answers[0])
    assert second_prompts[0].endswith("</s>\nUser: Kürzer!\nAssistant: ")
    assert rows[0]["choices"][0]["turns"][0] == first_answers[0]


def test_a_rerun_answers_only_the_missing_questions(trained_run, tiny_model, tmp_path, monkeypatch):
    run, bench = trained_run
    options = GenerateOptions(model=str(tiny_model), adapter=str(run), bench=str(bench), out=str(tmp_path),
                              lang=["de", "en"], max_new_tokens=4, device="cpu", model_id="tiny-lora")
    generate_answers(options)
    path = tmp_path / "mt_bench_DE" / "model_answer" / "tiny-lora.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n" + lines[2][:20])  # a kill cut the last line
    asked = []
    real = generate_module.generate_batch
    monkeypatch.setattr(generate_module, "generate_batch",
                        lambda model, tok, prompts, *rest: asked.extend(prompts) or real(model, tok, prompts, *rest))
    generate_answers(options)
    assert len(asked) == 2  # two turns of the one missing question
    new_lines = path.read_text().splitlines()
    assert new_lines[:2] == lines[:2] and json.loads(new_lines[2])["question_id"] == "131_DE"
    english = tmp_path / "mt_bench_EN" / "model_answer" / "tiny-lora.jsonl"
    assert json.loads(english.read_text())["question_id"] == 81


def test_generate_cli(trained_run, tiny_model, tmp_path):
    run, bench = trained_run
    result = run_cli("generate", "--model", str(tiny_model), "--adapter", str(run), "--bench", str(bench),
                     "--lang", "en", "--out", str(tmp_path), "--max-new-tokens", "3", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mt_bench_EN" / "model_answer" / "run.jsonl").is_file()
    with pytest.raises(TrainerError, match="question.jsonl not found"):
        generate_answers(GenerateOptions(model=str(tiny_model), bench=str(tmp_path / "nope"), lang=["de"],
                                         out=str(tmp_path), device="cpu"))
