"""What is new: the rules of analyses.patterns_compare on documents written here."""

from __future__ import annotations

import pytest

from analyses.patterns_compare import (
    GrowthRule,
    new_error_templates,
    patterns_compare,
    rows_filter,
    sparkline_points,
)
from tests.analyses.patterns_helpers import item, section


def doc(items: list[dict], *, total_logs: int | None = None, total: int | None = None) -> dict:
    return {
        "summary": {"total_logs": total_logs if total_logs is not None else sum(p["count"] for p in items)},
        "patterns": section(items, total=total),
    }


def by_template(comparison) -> dict:
    return {r.template: r for r in comparison.rows}


def test_it_marks_a_pattern_absent_before_as_new():
    before = doc([item("A <*>", 100), item("B <*>", 50)])
    now = doc([item("A <*>", 100), item("B <*>", 50), item("C failed <*>", 5, errors=5)])
    rows = by_template(patterns_compare(document=now, previous=before))
    assert [t for t, r in rows.items() if r.new] == ["C failed <*>"]
    assert rows["C failed <*>"].previous_count is None
    assert rows["A <*>"].previous_count == 100
    assert not any(r.grown for r in rows.values())


def test_the_same_content_marks_nothing():
    items = [item("A <*>", 100), item("B <*>", 50, errors=3)]
    comparison = patterns_compare(document=doc(items), previous=doc(items))
    assert comparison.compared
    assert comparison.counts == {"new": 0, "grown": 0}
    assert new_error_templates(comparison) == []


@pytest.mark.parametrize(
    ("before", "now", "grown"),
    [
        # shares of 1000 lines: 1 % -> 3 % is 3x and +2 points
        (10, 30, True),
        # 1 % -> 2.9 %: under 3x
        (10, 29, False),
        # 0.1 % -> 0.9 %: 9x, but only +0.8 points
        (1, 9, False),
        # 0.1 % -> 1.1 %: 11x and +1 point exactly
        (1, 11, True),
        # shrank
        (30, 10, False),
    ],
)
def test_grown_needs_three_times_the_share_and_one_point_more(before, now, grown):
    filler = 1000
    prev = doc([item("A <*>", before), item("rest <*>", filler - before)], total_logs=filler)
    cur = doc([item("A <*>", now), item("rest <*>", filler - now)], total_logs=filler)
    rows = by_template(patterns_compare(document=cur, previous=prev))
    assert rows["A <*>"].grown is grown
    assert rows["A <*>"].new is False


def test_shares_are_of_each_analysis_own_lines():
    # 10 of 1000 lines, then 10 of 100 lines: 1 % -> 10 %, grown though the count is the same.
    prev = doc([item("A <*>", 10)], total_logs=1000)
    cur = doc([item("A <*>", 10)], total_logs=100)
    (row,) = patterns_compare(document=cur, previous=prev).rows
    assert row.grown and row.share == pytest.approx(0.1) and row.previous_share == pytest.approx(0.01)


def test_the_growth_rule_comes_from_the_config_section():
    rule = GrowthRule.from_config({"grown_factor": 2, "grown_min_points": 0.5})
    assert rule.grew(share=0.02, previous_share=0.01)
    assert not GrowthRule().grew(share=0.02, previous_share=0.01)
    assert GrowthRule.from_config(None) == GrowthRule()


def test_an_earlier_analysis_without_patterns_marks_nothing_and_says_why():
    cur = doc([item("A <*>", 10, errors=1)])
    comparison = patterns_compare(document=cur, previous={"summary": {"total_logs": 5}})
    assert not comparison.compared
    assert "re-run" in comparison.reason
    assert not any(r.new or r.grown for r in comparison.rows)


def test_no_earlier_analysis_marks_nothing():
    comparison = patterns_compare(document=doc([item("A <*>", 1)]), previous=None, no_previous_reason="none")
    assert (comparison.compared, comparison.reason) == (False, "none")
    assert comparison.rows[0].new is False


def test_a_pattern_missing_from_a_truncated_earlier_list_is_not_new():
    # The earlier analysis had 5 patterns but listed 2: "C" may be one it did not list.
    prev = doc([item("A <*>", 100), item("B <*>", 50)], total=5)
    cur = doc([item("A <*>", 100), item("C <*>", 3, errors=3)])
    comparison = patterns_compare(document=cur, previous=prev)
    assert not comparison.previous_listed_all
    assert not any(r.new for r in comparison.rows)


def test_new_error_templates_are_the_new_patterns_with_errors():
    prev = doc([item("A <*>", 100)])
    cur = doc([item("A <*>", 100), item("B new info <*>", 40), item("C new error <*>", 2, errors=1)])
    assert new_error_templates(patterns_compare(document=cur, previous=prev)) == ["C new error <*>"]


def test_rows_filter_by_text_any_case_and_by_marks():
    prev = doc([item("Alpha <*>", 10, errors=1), item("rest <*>", 990)], total_logs=1000)
    cur = doc(
        [item("Alpha <*>", 40), item("Beta <*>", 5), item("rest <*>", 955)],
        total_logs=1000,
    )
    rows = patterns_compare(document=cur, previous=prev).rows
    assert [r.template for r in rows_filter(rows, q="ALPHA")] == ["Alpha <*>"]
    assert [r.template for r in rows_filter(rows, new=True)] == ["Beta <*>"]
    assert [r.template for r in rows_filter(rows, grown=True)] == ["Alpha <*>"]
    assert sorted(r.template for r in rows_filter(rows, new=True, grown=True)) == ["Alpha <*>", "Beta <*>"]
    assert rows_filter(rows, q="nothing like it") == []


def test_sparkline_points_put_the_peak_at_the_top_and_zero_at_the_bottom():
    points = [
        tuple(map(float, p.split(","))) for p in sparkline_points([0, 5, 10], width=102, height=22).split()
    ]
    assert points == [(1.0, 21.0), (51.0, 11.0), (101.0, 1.0)]
    assert sparkline_points([]) == ""
    assert sparkline_points([0, 0]).split() == ["1.0,23.0", "99.0,23.0"]
