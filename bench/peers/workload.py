"""The benchmark workload both Python peers run: languages, compositions and the canonical output shapes."""
import json

import pyarrow as pa

LANGUAGES = ["en", "de", "fr", "it", "es"]
COMPOSITIONS = ["EN", "DE", "FR", "IT", "ES", "ENDEFRITES", "DEFRITES", "ENDEFRITES-sampled", "DEFRITES-sampled"]
SOURCE = "bactrian-x"
ARROW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("lang", pa.string()),
        ("source", pa.string()),
        ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("meta", pa.string()),
    ]
)
ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
