from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from spark_client.engine import analyze
from spark_client.types import EngineOptions, InputFile

CONFIG = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


def engine_options(**overrides) -> EngineOptions:
    cfg = yaml.safe_load(CONFIG.read_text())["analytics"]
    base = dict(
        assume_year=2024,
        top_n=cfg["top_n"],
        rollup_cap=cfg["rollup_cap"],
        unparsed_samples_per_file=cfg["unparsed_samples_per_file"],
        level_aliases=cfg["levels"],
        level_inference=[(r["level"], r["pattern"]) for r in cfg["level_inference"]],
        column_aliases=cfg["column_aliases"],
        trend_max_buckets=cfg["trend_max_buckets"],
        max_line_chars=cfg["max_line_chars"],
    )
    base.update(overrides)
    return EngineOptions(**base)


@pytest.fixture
def run(spark, tmp_path):
    """run({"name": text_or_bytes, ...}, formats={name: format}, years={name: year},
    **options) -> AnalysisOutput."""

    def run_files(
        files: dict[str, str | bytes],
        formats: dict[str, str] | None = None,
        years: dict[str, int] | None = None,
        **options,
    ):
        inputs = []
        for i, (name, content) in enumerate(files.items(), start=1):
            path = tmp_path / name
            path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
            inputs.append(InputFile(i, str(path), name, (formats or {}).get(name), (years or {}).get(name)))
        return analyze(spark, inputs, engine_options(**options))

    return run_files
