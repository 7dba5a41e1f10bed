"""The file-level checks that must happen before Spark sees a file (empty, binary,
broken or exploding gzip), and the reads of its head.

Only the head of a file is read here, in Python; every row is parsed in Spark.
Every read is bounded (the head, or fixed-size blocks), whatever the file's lines.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from pathlib import Path

from spark_client.errors import InputFileError

HEAD_BYTES = 256 * 1024
GZIP_MAGIC = b"\x1f\x8b"
# CSV rows may hold multi-megabyte messages; the csv module's default cap is 128 KB.
csv.field_size_limit(64 * 1024 * 1024)


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def check_gzip(path: Path, *, max_bytes: int, max_ratio: int) -> int:
    """Decompress the whole stream once to prove it is complete and not a bomb.

    Spark would otherwise fail the entire analysis on a truncated member, and a
    bomb would fill the executors' disks. Returns the uncompressed size.
    """
    compressed = path.stat().st_size
    total = 0
    decomp = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        with path.open("rb") as fh:
            while True:
                chunk = fh.read(1024 * 1024)
                if not chunk:
                    break
                data = decomp.decompress(chunk, 8 * 1024 * 1024)
                while True:
                    total += len(data)
                    _check_bomb(total, compressed, max_bytes, max_ratio)
                    if decomp.unused_data:
                        # Concatenated gzip members: continue with a fresh decompressor.
                        rest = decomp.unused_data
                        decomp = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
                        data = decomp.decompress(rest, 8 * 1024 * 1024)
                        continue
                    if not decomp.unconsumed_tail:
                        break
                    data = decomp.decompress(decomp.unconsumed_tail, 8 * 1024 * 1024)
    except zlib.error as exc:
        raise InputFileError(
            f"the gzip data is corrupt ({exc}); re-create the .gz file and upload it again"
        ) from exc
    if not decomp.eof:
        raise InputFileError(
            "the gzip file is truncated (it ends before the compressed stream does); upload the complete file"
        )
    return total


def _check_bomb(total: int, compressed: int, max_bytes: int, max_ratio: int) -> None:
    if total > max_bytes:
        raise InputFileError(
            f"the gzip file expands to more than {max_bytes // (1024 * 1024)} MB; split it into smaller files"
        )
    if total > 10 * 1024 * 1024 and total > max_ratio * max(compressed, 1):
        raise InputFileError(
            f"the gzip file expands more than {max_ratio} times its size, which looks like "
            "a decompression bomb; it was not analysed"
        )


def read_head(path: Path, compressed: bool, limit: int = HEAD_BYTES) -> bytes:
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(limit)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputFileError(f"the file could not be read ({exc})") from exc


def looks_binary(head: bytes) -> bool:
    sample = head[:8192]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    text_chars = bytes(range(32, 127)) + b"\n\r\t\f\b\x1b"
    non_text = sum(1 for b in sample if b not in text_chars and b < 128)
    return non_text / len(sample) > 0.10


def head_lines(head: bytes, max_lines: int) -> list[str]:
    text = head.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    if len(head) >= HEAD_BYTES and lines:
        # The last line may be cut in the middle; keep it only if it is the only one.
        lines = lines[:-1] or lines
    return [line for line in lines[: max_lines * 4] if line.strip()][:max_lines]


def has_second_record(path: Path, compressed: bool, block: int = 1 << 20) -> bool:
    """True if anything but blank lines follows the header line.

    The head held at most the start of one row, which may be the whole rest of the
    file: it is read in blocks, never as a line (a line iterator would hold a 2 GB
    row in memory).
    """
    opener = gzip.open if compressed else open
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    in_header = True
    with opener(path, "rb") as fh:
        while chunk := fh.read(block):
            text = decoder.decode(chunk)
            if in_header:
                ends = [i for i in (text.find("\n"), text.find("\r")) if i >= 0]
                if not ends:
                    continue
                text = text[min(ends) + 1 :]
                in_header = False
            if text.strip():
                return True
    return False


def head_has_quoted_newline(head: bytes, delimiter: str) -> bool:
    text = head.decode("utf-8", errors="replace")
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if any("\n" in cell or "\r" in cell for cell in row):
                return True
    except csv.Error:
        return True
    return False


def csv_has_quoted_newline(path: Path, block: int = 1 << 20) -> bool:
    """Whether any CSV value holds a line break, reading the whole file in blocks.

    In CSV (RFC 4180, Spark's reader with quote = escape = `"`) quotes open and
    close values and an escaped quote is two of them, so a line break is inside a
    value exactly when an odd number of quotes came before it. With numpy, one
    block at a time, the quotes before each line break are counted by a binary
    search of the break in the quotes' positions (cheaper than a running sum over
    every byte): disk speed, a few MB of memory whatever the file's size (a CSV
    parser's memory grows with the file). A stray quote inside an
    unquoted value reads as "maybe", which keeps the multi-line reader: slower,
    never wrong.
    """
    import numpy as np

    parity = 0
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            data = np.frombuffer(chunk, dtype=np.uint8)
            quotes = np.flatnonzero(data == 34)  # '"'
            breaks = np.flatnonzero((data == 10) | (data == 13))
            if len(breaks) and np.any((np.searchsorted(quotes, breaks) + parity) & 1):
                return True
            parity = (parity + len(quotes)) & 1
    return False


def csv_skipped_lines(path: Path, limit: int, block: int = 1 << 20) -> list[int] | None:
    """The lines of a CSV file that Spark's single-line CSV reader turns into no
    record, as sorted 1-based line numbers: blank lines (nothing but characters up
    to the space, all that Java's `trim` removes) and the header, the first line
    that is not blank. None when there are more than `limit` of them.

    Lines end where Hadoop's line reader ends them: at LF, CR or CRLF. The file is
    read in blocks, with numpy; a line is held whole only while it is shorter than
    a block, beyond that as one byte that says whether it is blank so far.
    """
    import numpy as np

    found: list[int] = []
    header = False
    line = 1  # the number of the line `buf` starts with
    buf = b""
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(block)
            eof = not chunk
            buf += chunk
            if not buf:
                break
            data = np.frombuffer(buf, dtype=np.uint8)
            cr, lf = data == 13, data == 10
            after_cr = np.zeros_like(cr)
            after_cr[1:] = cr[:-1]
            ends = np.flatnonzero(cr | (lf & ~after_cr))
            if eof:
                tail = int(ends[-1]) + 1 if len(ends) else 0
                if len(ends) and cr[tail - 1] and tail < len(data) and lf[tail]:
                    tail += 1  # the LF of a CRLF
                # A last line without a line break is a line too.
                starts = np.concatenate(([0], ends + 1 if tail < len(data) else ends[:-1] + 1))
                cut = len(data)
            else:
                if len(ends) and ends[-1] == len(data) - 1 and cr[-1]:
                    ends = ends[:-1]  # maybe the first half of a CRLF: decided with the next block
                if not len(ends):
                    if len(buf) > block and not cr[-1]:
                        buf = b"x" if data.max() > 32 else b" "
                    continue
                last = int(ends[-1])
                cut = last + 1 + int(bool(cr[last] and lf[last + 1]))
                starts = np.concatenate(([0], ends[:-1] + 1))
            # Each line with its line break (and the LF of a CRLF after it): blank
            # if no byte of it is above the space.
            blank = np.maximum.reduceat(data[:cut], starts) <= 32
            if not header:
                text = np.flatnonzero(~blank)
                if len(text):
                    header = True
                    blank[int(text[0])] = True  # the header is no record either
            numbers = line + np.flatnonzero(blank)
            if len(found) + len(numbers) > limit:
                return None
            found.extend(int(n) for n in numbers)
            line += len(starts)
            buf = buf[cut:]
            if eof:
                break
    return found
