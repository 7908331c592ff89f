"""Reading the library's datasets: Arrow IPC (file and stream, memory-mapped) and JSONL; clear errors otherwise."""

import json

import pytest

from conftest import make_records, write_arrow, write_jsonl
from polyglot_trainer.data import describe_dataset_file, detect_format, read_records, sha256_file
from polyglot_trainer.errors import DatasetError


def test_arrow_file_stream_and_jsonl_read_the_same_records(tmp_path):
    records = make_records(20)
    from_file = read_records(write_arrow(tmp_path / "a.arrow", records))
    from_stream = read_records(write_arrow(tmp_path / "s.arrow", records, stream=True))
    from_jsonl = read_records(write_jsonl(tmp_path / "a.jsonl", records))
    assert detect_format(tmp_path / "a.arrow") == "arrow-file"
    assert detect_format(tmp_path / "s.arrow") == "arrow-stream"
    assert from_file == from_stream == from_jsonl
    assert [record.id for record in from_file] == [record["id"] for record in records]
    assert from_file[0].messages == records[0]["messages"]


@pytest.mark.parametrize("name, content, expected", [
    ("data.csv", b"id,text\n1,hello\n", "is not a polyglot-instruct dataset"),
    ("data.parquet", b"PAR1\x00\x00", "is a Parquet file"),
    ("lima.jsonl", b'{"conversations": ["hi", "hello"], "source": "x"}\n', "missing field 'id'"),
    ("bad.jsonl", b'{"id": "1", "lang": "en", "messages": [{"role": "bot", "content": "x"}]}\n', "messages[0] must be"),
    ("noanswer.jsonl", b'{"id": "1", "lang": "en", "messages": [{"role": "user", "content": "x"}]}\n', "no assistant"),
])
def test_files_that_are_not_datasets_say_how_to_build_one(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DatasetError) as caught:
        read_records(path)
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)


def test_arrow_with_another_schema_is_rejected(tmp_path):
    import pyarrow as pa
    import pyarrow.ipc as ipc

    table = pa.table({"instruction": ["a"], "output": ["b"]})
    path = tmp_path / "alpaca.arrow"
    with ipc.new_file(str(path), table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(DatasetError, match=r"Arrow columns \['id', 'lang', 'messages'\] are missing.*build-datasets"):
        read_records(path)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="dataset not found"):
        read_records(tmp_path / "nope.arrow")


def test_run_record_has_dataset_and_manifest_sha256(tmp_path):
    corpus = tmp_path / "out" / "lima-x"
    corpus.mkdir(parents=True)
    data = write_arrow(corpus / "ENDE.arrow", make_records(5))
    manifest = tmp_path / "out" / "manifest.json"
    manifest.write_text(json.dumps({"outputs": [{"path": "lima-x/ENDE.arrow", "sha256": sha256_file(data)}]}))
    info = describe_dataset_file(data)
    assert info["sha256"] == sha256_file(data)
    assert info["manifest"]["sha256"] == sha256_file(manifest)
    assert info["manifest"]["lists_this_file"] is True
