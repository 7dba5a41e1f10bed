"""config/config.yaml is validated at start-up with errors that name the key."""

from pathlib import Path

import pytest

from logplatform import config

BASE = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "override.yaml"
    path.write_text(text)
    return path


def test_it_loads_the_shipped_file():
    data = config.load(BASE)
    assert data["analytics"]["top_n"] >= 50
    assert data["alerts"]["defaults"][0]["kind"] == "error_rate"


def test_it_merges_an_override(tmp_path):
    data = config.load(BASE, write(tmp_path, "analytics:\n  top_n: 7\n"))
    assert data["analytics"]["top_n"] == 7
    assert data["analytics"]["rollup_cap"] == config.load(BASE)["analytics"]["rollup_cap"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("analytics:\n  top_n: many\n", "analytics.top_n must be an integer"),
        ("analytics:\n  topn: 5\n", "unknown key analytics.topn"),
        ("analytics:\n  store_lines: sometimes\n", "analytics.store_lines must be true or false"),
        ("spark:\n  connect_url: http://x\n", "spark.connect_url must be a string matching"),
        (
            "analytics:\n  level_inference:\n    - level: ERROR\n      pattern: '(['\n",
            "analytics.level_inference[0].pattern",
        ),
        (
            "alerts:\n  defaults:\n    - kind: nonsense\n      threshold: 1\n      severity: warning\n",
            "alerts.defaults[0].kind must be one of",
        ),
        ("worker:\n  workers: 0\n", "worker.workers must be an integer >= 1"),
        (
            "alerts:\n  webhook_allow_networks: ['10.0.0.0/33']\n",
            "alerts.webhook_allow_networks[0] must be an IP network",
        ),
        ("alerts:\n  max_rules_per_team: 0\n", "alerts.max_rules_per_team must be an integer >= 1"),
        (
            "spark:\n  shuffle_partitions_per_core: -1\n",
            "spark.shuffle_partitions_per_core must be an integer >= 0",
        ),
        (
            "analytics:\n  patterns:\n    masks:\n      - name: ip\n        pattern: '(\\d+'\n",
            "analytics.patterns.masks[0].pattern must be a valid regular expression (missing ), unterminated",
        ),
        (
            "analytics:\n  patterns:\n    masks:\n      - {name: n, pattern: x}\n      - {name: n, pattern: y}\n",
            "analytics.patterns.masks must be masks with different names (got ['n'])",
        ),
        (
            "analytics:\n  patterns:\n    similarity: 1.5\n",
            "analytics.patterns.similarity must be a number above 0",
        ),
        ("analytics:\n  patterns:\n    depth: 1\n", "analytics.patterns.depth must be an integer >= 2"),
    ],
)
def test_it_names_the_bad_key(tmp_path, override, message):
    with pytest.raises(config.ConfigError) as excinfo:
        config.load(BASE, write(tmp_path, override))
    assert message in str(excinfo.value)


def test_it_rejects_invalid_yaml(tmp_path):
    with pytest.raises(config.ConfigError, match="not valid YAML"):
        config.load(BASE, write(tmp_path, "analytics: [unclosed\n"))


def test_a_django_process_gives_arrow_the_c_library_allocator():
    """Arrow's mimalloc kept what it freed, so a worker's peak memory grew with the
    size of the results it stored; settings choose the system allocator before
    pyarrow is first imported (bench: worker memory flat with file size)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    env["DJANGO_SETTINGS_MODULE"] = "logplatform.settings"
    code = "import django; django.setup(); import pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=BASE.parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "system"
