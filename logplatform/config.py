"""Product configuration: `config/config.yaml`, validated at start-up.

The shipped file holds every default. `LOGPLATFORM_CONFIG` may name a second YAML
file that is deep-merged over it. Validation walks a spec of the expected shape and
stops with a message naming the offending key (`analytics.top_n must be ...`), so a
typo never turns into a silent default.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")
ALERT_KINDS = (
    "error_rate",
    "error_count",
    "critical_count",
    "error_type_repeated",
    "errors_per_hour",
    "new_error_pattern",
)
ALERT_SEVERITIES = ("info", "warning", "critical")
COLUMN_NAMES = ("timestamp", "date", "log_level", "message", "ip", "service", "endpoint")


class ConfigError(Exception):
    """The configuration file is unreadable or holds a bad value."""


Check = Callable[[str, Any], None]


def _fail(key: str, expected: str, value: Any) -> None:
    raise ConfigError(f"config: {key} must be {expected} (got {value!r})")


def integer(minimum: int | None = None) -> Check:
    def check(key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(key, "an integer", value)
        if minimum is not None and value < minimum:
            _fail(key, f"an integer >= {minimum}", value)

    return check


def number(minimum: float | None = None) -> Check:
    def check(key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(key, "a number", value)
        if minimum is not None and value < minimum:
            _fail(key, f"a number >= {minimum}", value)

    return check


def string(pattern: str | None = None, choices: tuple[str, ...] | None = None) -> Check:
    def check(key: str, value: Any) -> None:
        if not isinstance(value, str) or not value:
            _fail(key, "a non-empty string", value)
        if pattern and not re.fullmatch(pattern, value):
            _fail(key, f"a string matching {pattern}", value)
        if choices and value not in choices:
            _fail(key, f"one of {', '.join(choices)}", value)

    return check


def boolean(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        _fail(key, "true or false", value)


def optional(inner: Check) -> Check:
    def check(key: str, value: Any) -> None:
        if value is not None:
            inner(key, value)

    return check


def network(key: str, value: Any) -> None:
    string()(key, value)
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        _fail(key, "an IP network such as 10.20.0.0/16 or 192.0.2.7/32", value)


def regex(key: str, value: Any) -> None:
    string()(key, value)
    try:
        re.compile(value)
    except re.error as exc:
        _fail(key, f"a valid regular expression ({exc})", value)


def fraction(key: str, value: Any) -> None:
    number()(key, value)
    if not 0 < value <= 1:
        _fail(key, "a number above 0 and at most 1", value)


def _replacement(key: str, value: Any) -> None:
    if not isinstance(value, str):
        _fail(key, "a string (it may be empty)", value)


def _masks(key: str, value: Any) -> None:
    """Template-mining masks: each pattern compiles and is named once. That it runs
    in linear time is the author's to keep (docs/patterns.md gives the rules)."""
    list_of({"name": string(), "pattern": regex, "replacement": ("optional", _replacement)})(key, value)
    names = [mask["name"] for mask in value]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        _fail(key, "masks with different names", repeated)


def list_of(inner: Check | dict, *, min_items: int = 0) -> Check:
    def check(key: str, value: Any) -> None:
        if not isinstance(value, list) or len(value) < min_items:
            _fail(key, f"a list of at least {min_items} item(s)", value)
        for i, item in enumerate(value):
            _validate(f"{key}[{i}]", item, inner)

    return check


def mapping_of(inner: Check) -> Check:
    """A mapping with free keys (strings) whose values pass `inner`."""

    def check(key: str, value: Any) -> None:
        if not isinstance(value, Mapping):
            _fail(key, "a mapping", value)
        for k, v in value.items():
            if not isinstance(k, str):
                _fail(f"{key}", "a mapping with string keys", k)
            inner(f"{key}.{k}", v)

    return check


def _scalar_string(key: str, value: Any) -> None:
    if not isinstance(value, str | int | float | bool):
        _fail(key, "a string", value)


def _level_map(key: str, value: Any) -> None:
    mapping_of(list_of(string(), min_items=1))(key, value)
    unknown = set(value) - set(LEVELS)
    if unknown:
        _fail(key, f"a mapping with keys among {', '.join(LEVELS)}", sorted(unknown))


def _aliases(key: str, value: Any) -> None:
    mapping_of(list_of(string(), min_items=1))(key, value)
    missing = set(COLUMN_NAMES) - set(value)
    unknown = set(value) - set(COLUMN_NAMES)
    if missing or unknown:
        _fail(key, f"a mapping with exactly the keys {', '.join(COLUMN_NAMES)}", sorted(value))


SPEC: dict[str, Any] = {
    "spark": {
        "connect_url": string(pattern=r"sc://.+"),
        "connect_timeout_seconds": number(minimum=1),
        "reconnect_wait_seconds": number(minimum=0),
        "local_server": {
            "host": string(),
            "port": integer(minimum=1),
            "master": string(),
            "driver_memory": string(pattern=r"\d+[kmgtKMGT]?"),
            "ui_enabled": boolean,
            "ui_port": integer(minimum=1),
            "startup_timeout_seconds": number(minimum=1),
            "warm_up_lines": integer(minimum=0),
            "conf": mapping_of(_scalar_string),
        },
        "session_conf": mapping_of(_scalar_string),
        "shuffle_partitions_per_core": integer(minimum=0),
    },
    "paths": {"data_dir": string(), "storage_root": string(), "reports_dir": string()},
    "uploads": {
        "max_file_mb": integer(minimum=1),
        "max_request_mb": integer(minimum=1),
        "max_files": integer(minimum=1),
        "stale_partial_minutes": integer(minimum=1),
        "disk_reserve_mb": integer(minimum=0),
        "team_quota_mb": integer(minimum=0),
    },
    "worker": {
        "workers": integer(minimum=1),
        "timeout_seconds": integer(minimum=10),
        "lease_seconds": integer(minimum=5),
        "max_attempts": integer(minimum=1),
        "reaper_interval_minutes": integer(minimum=1),
        "redispatch_after_seconds": integer(minimum=5),
    },
    "analytics": {
        "assume_year": optional(integer(minimum=1970)),
        "top_n": integer(minimum=1),
        "rollup_cap": integer(minimum=1),
        "unparsed_samples_per_file": integer(minimum=0),
        "csv_multiline_max_mb": integer(minimum=0),
        "finish_in_worker_max_mb": integer(minimum=0),
        "finish_in_worker_max_rows": integer(minimum=0),
        "detect_sample_lines": integer(minimum=1),
        "max_line_chars": integer(minimum=1000),
        "store_lines": boolean,
        "trend_max_buckets": integer(minimum=10),
        "error_levels": list_of(string(choices=LEVELS), min_items=1),
        "levels": _level_map,
        "level_inference": list_of({"level": string(choices=LEVELS), "pattern": regex}),
        "column_aliases": _aliases,
        "patterns": {
            "enabled": boolean,
            "max_listed": integer(minimum=1),
            "key_masks": list_of(regex),
            "grown_factor": number(minimum=1),
            "grown_min_points": number(minimum=0),
            "similarity": fraction,
            "depth": integer(minimum=2),
            "max_children": integer(minimum=1),
            "max_distinct": integer(minimum=1),
            "constant_alternatives": integer(minimum=0),
            "masks": _masks,
        },
    },
    "alerts": {
        "log_file": string(),
        "cooldown_minutes": integer(minimum=0),
        "webhook_timeout_seconds": number(minimum=0.1),
        "webhook_max_attempts": integer(minimum=1),
        "webhook_backoff_seconds": number(minimum=0),
        "webhook_allow_networks": list_of(network),
        "max_rules_per_team": integer(minimum=1),
        "max_recipients_per_rule": integer(minimum=1),
        "delivery_workers": integer(minimum=1),
        "defaults": list_of(
            {
                "kind": string(choices=ALERT_KINDS),
                "threshold": number(minimum=0),
                "min_rows": ("optional", integer(minimum=0)),
                "severity": string(choices=ALERT_SEVERITIES),
            }
        ),
    },
    "dashboard": {
        "refresh_seconds": integer(minimum=1),
        "history_page_size": integer(minimum=1),
        "sections": list_of(string()),
    },
    "lines": {
        "query_timeout_seconds": number(minimum=0.1),
        "export_timeout_seconds": number(minimum=0),
    },
    "api": {
        "throttle_user": string(pattern=r"\d+/(second|minute|hour|day)"),
        "throttle_upload": string(pattern=r"\d+/(second|minute|hour|day)"),
        "throttle_lines": string(pattern=r"\d+/(second|minute|hour|day)"),
    },
}


def _validate(key: str, value: Any, spec: Any) -> None:
    if callable(spec):
        spec(key, value)
        return
    if not isinstance(value, Mapping):
        _fail(key or "the file", "a mapping", value)
    prefix = f"{key}." if key else ""
    unknown = sorted(set(value) - set(spec))
    if unknown:
        raise ConfigError(
            f"config: unknown key {prefix}{unknown[0]} (known keys here: {', '.join(sorted(spec))})"
        )
    for name, sub in spec.items():
        is_optional = isinstance(sub, tuple) and sub[0] == "optional"
        if is_optional:
            sub = sub[1]
        if name not in value:
            if is_optional:
                continue
            raise ConfigError(f"config: missing key {prefix}{name}")
        _validate(f"{prefix}{name}", value[name], sub)


def _deep_merge(base: dict, override: Mapping) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config: {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config: {path} must hold a mapping at the top level")
    return data


def load(base_path: Path, override_path: Path | None = None) -> dict:
    """Read, merge and validate the configuration; raise ConfigError naming the bad key."""
    data = _read(base_path)
    if override_path is not None:
        data = _deep_merge(data, _read(override_path))
    _validate("", data, SPEC)
    return data
