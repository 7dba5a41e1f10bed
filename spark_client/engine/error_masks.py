"""The error type of an error line without an event template: its message with
numbers, IPs, hex and quoted strings masked (engine.patterns.MASKS), each mask
behind a cheap guard. Used by engine.normalize."""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_client.engine.patterns import MASKS

ERROR_TYPE_CHARS = 300
MASK_INPUT_CHARS = 2000  # masking a 5 MB line would only cost time


def mask_message(message: Column) -> Column:
    """The message with its variable parts masked: its error type."""
    out = F.substring(message, 1, MASK_INPUT_CHARS)
    for pattern, replacement in MASKS:
        out = F.regexp_replace(out, pattern, replacement)
    return F.substring(F.trim(out), 1, ERROR_TYPE_CHARS)


# For each mask, substrings without which its pattern cannot match (None: no cheap
# test). A text that holds none of them passes the mask unchanged, so the regex
# (a UTF-8 decode, a scan and a re-encode per row) is skipped.
MASK_NEEDS: dict[str, tuple[str, ...] | None] = {
    MASKS[0][0]: ("-",),  # UUID
    MASKS[1][0]: (".",),  # IPv4
    MASKS[2][0]: ('"',),
    MASKS[3][0]: ("'",),
    MASKS[4][0]: ("0x", "0X"),
    MASKS[5][0]: None,  # long hex ids
    MASKS[6][0]: None,  # numbers
    # Runs of blanks, or any blank other than a single space.
    MASKS[7][0]: ("  ", "\t", "\n", "\x0b", "\f", "\r"),
}


def masked_in_steps(df: DataFrame, source: Column, keep: list[str]) -> DataFrame:
    """`mask_message` as a chain of projections, each mask behind its cheap guard.

    Each step reads the previous step's column three times (guard, regex, pass
    through); as separate projections Spark evaluates it once per row, where one
    nested expression would repeat every earlier step.
    """
    df = df.select(*keep, F.substring(source, 1, MASK_INPUT_CHARS).alias("_masked"))
    masked = F.col("_masked")
    for pattern, replacement in MASKS:
        needs = MASK_NEEDS[pattern]
        replaced = F.regexp_replace(masked, pattern, replacement)
        if needs:
            may_match = reduce(lambda a, b: a | b, [masked.contains(n) for n in needs])
            replaced = F.when(may_match, replaced).otherwise(masked)
        df = df.select(*keep, replaced.alias("_masked"))
    return df
