"""Log templates mined from distinct messages (issue 21). No pyspark, no Django.

The worker collects an analysis's distinct messages with their line counts from
Spark (usually orders of magnitude fewer than lines) and calls `mine`: every
message gets a pattern, a template with `<*>` for its variable parts, and an id
that is the same for the same template in every analysis (`pattern_id`).

In the spirit of Drain (He et al., ICWS 2017); docs/patterns.md has the details
and the measured grouping accuracy. Masks turn variable text into `<*>`; the
masked message is split into tokens; a fixed-depth tree (token count, then the
leading tokens) leads each distinct masked message to the most similar cluster
of its leaf; a cluster is split where it holds only a few different constant
words (events, not values); clusters that differ only where one has `<*>` merge.

Work is bounded: the `max_distinct` most frequent messages are mined, each other
one is matched against its tree leaf or given its token count's catch-all; a
message is read as its first MAX_MESSAGE_CHARS characters and MAX_TOKENS tokens,
and a leaf, a node and a merge each handle at most `max_children` clusters.
A mask's replacement other than `<*>` ("<IP>") reads as a constant word.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Re-exported: the miner's text side lives in mining_masks.
from spark_client.mining_masks import (
    DEFAULT_MASKS,
    MAX_MESSAGE_CHARS,
    MAX_TOKENS,
    WILDCARD,
    mask,
    tokens_of,
)
from spark_client.mining_masks import (
    is_variable as _variable,
)

__all__ = [
    "DEFAULT_MASKS",
    "MAX_MESSAGE_CHARS",
    "MAX_TOKENS",
    "WILDCARD",
    "MinedPatterns",
    "MinerConfig",
    "Pattern",
    "mask",
    "mine",
    "miner_config",
    "pattern_id",
    "tokens_of",
]


@dataclass(frozen=True)
class MinerConfig:
    """How `mine` reads messages: config/config.yaml `analytics.patterns`."""

    masks: tuple[tuple[str, str, str], ...] = DEFAULT_MASKS
    # Share of a template's tokens a message must not oppose (two different
    # constant words oppose) to join its cluster.
    similarity: float = 0.5
    # Levels of the tree: the token count, then depth - 2 leading tokens.
    depth: int = 4
    # Children of a tree node, clusters of a leaf, clusters the merge compares.
    max_children: int = 100
    # Messages mined, the most frequent first; the others are matched.
    max_distinct: int = 50_000
    # At most this many constant words at one position are different events.
    constant_alternatives: int = 3
    compiled: tuple[tuple[re.Pattern[str], str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.similarity <= 1:
            raise ValueError("similarity must be above 0 and at most 1")
        if self.depth < 2:
            raise ValueError("depth must be at least 2 (the root and the token count)")
        if self.max_children < 1 or self.max_distinct < 1 or self.constant_alternatives < 0:
            raise ValueError("max_children and max_distinct must be at least 1, constant_alternatives 0")
        compiled = tuple((re.compile(pattern), replacement) for _, pattern, replacement in self.masks)
        object.__setattr__(self, "compiled", compiled)


def miner_config(section: Mapping) -> MinerConfig:
    """A MinerConfig from config.yaml's `analytics.patterns` (already validated)."""
    masks = tuple((m["name"], m["pattern"], m.get("replacement", WILDCARD)) for m in section["masks"])
    return MinerConfig(
        masks=masks,
        similarity=float(section["similarity"]),
        depth=section["depth"],
        max_children=section["max_children"],
        max_distinct=section["max_distinct"],
        constant_alternatives=section["constant_alternatives"],
    )


@dataclass(frozen=True)
class Pattern:
    id: str
    template: str
    lines: int  # the counts of its messages, summed
    messages: int  # distinct messages


@dataclass(frozen=True)
class MinedPatterns:
    """Every input message's pattern; `patterns` ordered by lines, most first."""

    patterns: tuple[Pattern, ...]
    pattern_of: Mapping[str, str]  # message -> pattern id
    # Messages past max_distinct: matched to a mined template, or to a catch-all.
    matched_after_cap: int = 0
    caught_all: int = 0

    def by_id(self) -> dict[str, Pattern]:
        return {p.id: p for p in self.patterns}

    def template_of(self, message: str) -> str:
        return self.by_id()[self.pattern_of[message]].template


def pattern_id(template: str) -> str:
    """The template's stable id: the same template has it in every analysis."""
    return hashlib.sha256(template.encode("utf-8")).hexdigest()[:16]


class _Shape:
    """The messages that read the same once masked."""

    __slots__ = ("lines", "messages", "spaced", "tokens")

    def __init__(self, tokens: tuple[str, ...], spaced: tuple[bool, ...]) -> None:
        self.tokens = tokens
        self.spaced = spaced
        self.lines = 0
        self.messages: list[str] = []


class _Cluster:
    __slots__ = ("lines", "shapes", "template")

    def __init__(self, shapes: list[_Shape]) -> None:
        self.shapes: list[_Shape] = []
        self.template = list(shapes[0].tokens)
        self.lines = 0
        for shape in shapes:
            self.add(shape)

    def add(self, shape: _Shape) -> None:
        self.shapes.append(shape)
        self.lines += shape.lines
        for i, (mine, theirs) in enumerate(zip(self.template, shape.tokens, strict=True)):
            if mine != theirs:
                self.template[i] = WILDCARD

    def score(self, tokens: tuple[str, ...]) -> float:
        """Share of positions where the template does not oppose the tokens: a
        `<*>` takes anything and two variable tokens are alike."""
        opposed = 0
        for mine, theirs in zip(self.template, tokens, strict=True):
            if mine != theirs and mine != WILDCARD and not (_variable(mine) and _variable(theirs)):
                opposed += 1
        return 1 - opposed / len(tokens) if tokens else 1.0

    def render(self) -> str:
        """The template, spaced as its most frequent message (blanks as one space)."""
        spaced = self.shapes[0].spaced
        out: list[str] = []
        for i, token in enumerate(self.template):
            if i and spaced[i]:
                out.append(" ")
            elif out and out[-1] == WILDCARD and token == WILDCARD:
                continue
            out.append(token)
        return "".join(out)


class _Tree:
    """Drain's tree, kept flat: a leaf's path is the token count and the keys of the
    leading tokens; `children` holds each node's keys, at most max_children."""

    def __init__(self, config: MinerConfig) -> None:
        self.config = config
        self.leaves: dict[tuple, list[_Cluster]] = {}
        self.children: dict[tuple, set[str]] = {}
        self.clusters: list[_Cluster] = []

    def _path(self, tokens: tuple[str, ...], create: bool) -> tuple:
        path: tuple = (len(tokens),)
        for token in tokens[: self.config.depth - 2]:
            key = WILDCARD if _variable(token) else token
            keys = self.children.setdefault(path, set()) if create else self.children.get(path, set())
            if key not in keys:
                if not create or len(keys) >= self.config.max_children:
                    key = WILDCARD
                if create:
                    keys.add(key)
            path = (*path, key)
        return path

    @staticmethod
    def _best(leaf: list[_Cluster], tokens: tuple[str, ...]) -> tuple[_Cluster | None, float]:
        best, best_score = None, -1.0
        for cluster in leaf:
            score = cluster.score(tokens)
            if score > best_score:
                best, best_score = cluster, score
        return best, best_score

    def add(self, shape: _Shape) -> None:
        leaf = self.leaves.setdefault(self._path(shape.tokens, create=True), [])
        cluster, score = self._best(leaf, shape.tokens)
        if cluster is not None and (score >= self.config.similarity or len(leaf) >= self.config.max_children):
            cluster.add(shape)
            return
        cluster = _Cluster([shape])
        leaf.append(cluster)
        self.clusters.append(cluster)

    def match(self, tokens: tuple[str, ...]) -> _Cluster | None:
        leaf = self.leaves.get(self._path(tokens, create=False))
        cluster, score = self._best(leaf or [], tokens)
        return cluster if score >= self.config.similarity else None


def _split(shapes: list[_Shape], alternatives: int) -> list[list[_Shape]]:
    """The shapes, split at the first position where they hold 2 to `alternatives`
    different constant words (and nothing variable)."""
    if len(shapes) < 2:
        return [shapes]
    for i in range(len(shapes[0].tokens)):
        values = {s.tokens[i] for s in shapes}
        if 1 < len(values) <= alternatives and not any(_variable(v) for v in values):
            parts: dict[str, list[_Shape]] = {}
            for shape in shapes:
                parts.setdefault(shape.tokens[i], []).append(shape)
            return [piece for part in parts.values() for piece in _split(part, alternatives)]
    return [shapes]


def _compatible(a: list[str], b: list[str], similarity: float) -> bool:
    """The templates differ only where one has `<*>` (or both are variable), and
    where either has a constant they agree on at least `similarity` of them."""
    agree = constant = 0
    for x, y in zip(a, b, strict=True):
        if x == y:
            agree += x != WILDCARD
            constant += x != WILDCARD
        elif x == WILDCARD or y == WILDCARD or (_variable(x) and _variable(y)):
            constant += x != WILDCARD or y != WILDCARD
        else:
            return False
    return constant == 0 or agree / constant >= similarity


def _merge_compatible(clusters: list[_Cluster], config: MinerConfig) -> list[_Cluster]:
    """Each cluster joins the first compatible one of its token count, the most
    frequent first, among the first max_children of them."""
    by_length: dict[int, list[_Cluster]] = {}
    for cluster in sorted(clusters, key=lambda c: -c.lines):  # stable: ties keep mining order
        by_length.setdefault(len(cluster.template), []).append(cluster)
    out: list[_Cluster] = []
    for group in by_length.values():
        kept: list[_Cluster] = []
        for cluster in group:
            candidates = kept[: config.max_children]
            into = next(
                (k for k in candidates if _compatible(k.template, cluster.template, config.similarity)), None
            )
            if into is None:
                kept.append(cluster)
            else:
                for shape in cluster.shapes:
                    into.add(shape)
        out.extend(kept)
    return out


def mine(messages: Iterable[tuple[str, int]], config: MinerConfig) -> MinedPatterns:
    """Each distinct message's pattern. The same messages in any order give the same
    patterns: they are taken by count, most first, then by text."""
    counts: dict[str, int] = {}
    for message, count in messages:
        counts[message] = counts.get(message, 0) + count
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    head, tail = ordered[: config.max_distinct], ordered[config.max_distinct :]

    shapes: dict[tuple[str, ...], _Shape] = {}
    for message, count in head:
        tokens, spaced = tokens_of(mask(message, config))
        shape = shapes.get(tokens)
        if shape is None:
            shape = shapes[tokens] = _Shape(tokens, spaced)
        shape.lines += count
        shape.messages.append(message)

    tree = _Tree(config)
    for shape in sorted(shapes.values(), key=lambda s: (-s.lines, s.messages[0])):
        tree.add(shape)
    pieces = [
        _Cluster(part)
        for cluster in tree.clusters
        for part in _split(cluster.shapes, config.constant_alternatives)
    ]
    final = _merge_compatible(pieces, config)

    template_of: dict[str, str] = {}
    rendered: dict[int, str] = {}
    final_of_shape: dict[int, _Cluster] = {}
    for cluster in final:
        rendered[id(cluster)] = cluster.render()
        for shape in cluster.shapes:
            final_of_shape[id(shape)] = cluster
            template_of.update(dict.fromkeys(shape.messages, rendered[id(cluster)]))

    finals_of: dict[int, list[_Cluster]] = {}
    matched = caught = 0
    for message, _ in tail:
        tokens, _ = tokens_of(mask(message, config))
        cluster = tree.match(tokens)
        if cluster is None:
            template_of[message] = " ".join([WILDCARD] * len(tokens))
            caught += 1
            continue
        # The tree's cluster was split and merged since: the best of what it became.
        finals = finals_of.get(id(cluster))
        if finals is None:
            unique = {id(c): c for c in (final_of_shape[id(s)] for s in cluster.shapes)}
            finals = finals_of[id(cluster)] = list(unique.values())
        best = max(finals, key=lambda c: (c.score(tokens), c.lines))
        template_of[message] = rendered[id(best)]
        matched += 1

    totals: dict[str, list[int]] = {}
    for message, template in template_of.items():
        entry = totals.setdefault(template, [0, 0])
        entry[0] += counts[message]
        entry[1] += 1
    patterns = sorted(
        (Pattern(pattern_id(t), t, lines, n) for t, (lines, n) in totals.items()),
        key=lambda p: (-p.lines, p.template),
    )
    ids = {p.template: p.id for p in patterns}
    return MinedPatterns(
        patterns=tuple(patterns),
        pattern_of={m: ids[t] for m, t in template_of.items()},
        matched_after_cap=matched,
        caught_all=caught,
    )
