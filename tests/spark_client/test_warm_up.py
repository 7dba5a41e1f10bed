"""The server's warm-up analyses real volumes of the formats users upload most."""

from __future__ import annotations

from analyses.engine_config import engine_options_from_config
from spark_client.engine import analyze
from spark_client.server.warm_up import volume_files, warm_up
from spark_client.types import InputFile


def test_volume_warm_up_runs_the_real_analysis_over_csv_and_log4j(spark, tmp_path):
    options = engine_options_from_config()
    seconds = warm_up(spark, tmp_path, options=options, volume_lines=3000, volume_rounds=1)
    assert seconds > 0

    csv_path, log_path = volume_files(tmp_path, 3000)  # kept from the warm-up
    assert csv_path.exists() and log_path.exists()
    csv_lines = csv_path.read_text().splitlines()[1:]
    log_lines = log_path.read_text().splitlines()
    assert len(csv_lines) == len(log_lines) == 3000
    errors = sum(1 for line in csv_lines if line.split(",")[1] in ("ERROR", "CRITICAL"))
    assert 0 < errors < 3000

    for path, fmt in ((csv_path, "csv"), (log_path, "log4j_iso")):
        out = analyze(spark, [InputFile(1, str(path), path.name)], options)
        report = out.files[0]
        assert (report.format, report.error) == (fmt, None)
        # Every line parses, with its timestamp and level: the warm-up runs the
        # same code paths as a clean user file, not the error paths.
        assert out.summary["total_logs"] == 3000
        assert out.summary["unparsed_lines"] == 0
        assert out.summary["error_count"] == errors
        assert len(out.tables["errors_per_service"]) == 8
