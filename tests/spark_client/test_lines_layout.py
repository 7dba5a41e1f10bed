"""spark_client.lines_layout: block arithmetic against a plain list of every row's line."""

import random

import pytest

from spark_client.lines_layout import (
    COLUMN_NAMES,
    LinesManifest,
    analysis_dir,
    line_number,
    new_run,
    number_blocks,
    row_id_ranges,
    run_dir,
)


def _file_rows(rnd: random.Random, file: int, sizes: list[int], skipped: list[int]) -> tuple[list, list]:
    """Spark-like parts of one file (`sizes` rows per split, in file order) with
    partition indexes shuffled, and the reference (row_id, line) of every row: the
    file's lines but `skipped`, in order."""
    order = list(range(len(sizes)))
    rnd.shuffle(order)  # partition index need not follow the file's order
    lines = (n for n in range(1, 10**6) if n not in skipped)
    parts, reference = [], []
    start = 0
    for split, size in enumerate(sizes):
        base = order[split] << 33
        parts.append((file, start, base, size))
        reference += [(base + i, next(lines)) for i in range(size)]
        start += size * 100 + rnd.randrange(50)  # byte offsets: only their order counts
    return parts, reference


def _blocks(seed: int) -> tuple[list, dict]:
    rnd = random.Random(seed)
    parts, reference, skipped = [], {}, {}
    for file in range(3):
        sizes = [rnd.randrange(0, 30) for _ in range(rnd.randrange(1, 6))]
        # File 0 has every line; file 1 a header; file 2 a header and blank lines.
        gaps = [[], [1], sorted({1, *rnd.sample(range(2, 150), rnd.randrange(0, 25))})][file]
        p, r = _file_rows(rnd, file, sizes, gaps)
        rnd.shuffle(p)
        parts += p
        reference[file] = r
        skipped[file] = gaps
    return number_blocks(parts, skipped=skipped), reference


@pytest.mark.parametrize("seed", range(20))
def test_it_numbers_every_row_as_its_line(seed):
    blocks, reference = _blocks(seed)
    for file, rows in reference.items():
        for row_id, line in rows:
            assert line_number(blocks, file, row_id) == line


@pytest.mark.parametrize("seed", range(20))
def test_it_finds_the_row_ids_of_a_line_range(seed):
    blocks, reference = _blocks(seed)
    rnd = random.Random(seed)
    for file, rows in reference.items():
        lines = {line: row_id for row_id, line in rows}
        for _ in range(30):
            first = rnd.randrange(-3, len(rows) + 5)
            last = first + rnd.randrange(0, 45)
            ranges = row_id_ranges(blocks, file, first, last)
            found = [row_id for lo, hi in ranges for row_id in range(lo, hi)]
            # In line order, exactly the rows of those lines.
            assert found == [lines[n] for n in range(first, last + 1) if n in lines]
            assert all(lo < hi for lo, hi in ranges)


def test_a_csv_header_is_line_one():
    blocks = number_blocks([(0, 0, 0, 3)], skipped={0: [1]})
    assert blocks == [[0, 0, 2, 3]]
    assert line_number(blocks, 0, 0) == 2
    assert row_id_ranges(blocks, 0, 1, 2) == [(0, 1)]


def test_a_range_across_two_blocks_takes_one_range_each():
    # File 0: lines 1-10 in partition 1, lines 11-15 in partition 0.
    blocks = number_blocks([(0, 500, 0, 5), (0, 0, 1 << 33, 10)])
    assert row_id_ranges(blocks, 0, 9, 12) == [((1 << 33) + 8, (1 << 33) + 10), (0, 2)]


def test_a_skipped_line_splits_a_block():
    # Header on line 1, blank lines 4 and 5: rows 0-1 are lines 2-3, rows 2-3 lines 6-7.
    assert number_blocks([(0, 0, 0, 4)], skipped={0: [1, 4, 5]}) == [[0, 0, 2, 2], [0, 2, 6, 2]]


def test_a_row_id_outside_every_block_is_a_key_error():
    blocks = number_blocks([(0, 0, 0, 3), (1, 0, 0, 3)])
    with pytest.raises(KeyError):
        line_number(blocks, 0, 3)
    with pytest.raises(KeyError):
        line_number(blocks, 2, 0)
    assert row_id_ranges(blocks, 2, 1, 10) == []


def test_paths_keep_each_run_under_its_analysis():
    assert analysis_dir(7) == "lines/7"
    assert run_dir(7, "ab12") == "lines/7/ab12"
    assert new_run() != new_run()
    for bad in ("", "..", "a/b"):
        with pytest.raises(ValueError, match="not a run name"):
            run_dir(7, bad)


def test_the_manifest_is_the_documents_lines_key():
    manifest = LinesManifest(files=[11, 12], blocks=[[0, 0, 1, 4]], rows=4, bytes=900)
    assert manifest.as_document("lines/7/ab12") == {
        "path": "lines/7/ab12",
        "files": [11, 12],
        "blocks": [[0, 0, 1, 4]],
        "rows": 4,
        "bytes": 900,
    }
    assert COLUMN_NAMES[:3] == ("file", "row_id", "status")
