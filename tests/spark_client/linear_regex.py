"""A static check that a search pattern runs in time linear in the text.

Python's `re` and Java's regex backtrack, so a pattern searched over a text built
for it (64 KB of digits, blanks or `=`) can cost the text's length squared, or
worse, while holding the GIL. `problems(pattern)` names what could: each rule
below is sufficient, not necessary, and reads the pattern as `re` parses it.
Character sets are compared on a sample alphabet (ASCII and a few others).

1. Nesting: a quantifier inside an unbounded repeat (more than BOUND times) is
   possessive or fixed, and so is the repeat; inside a bounded repeat a
   quantifier is bounded and cannot match the first character of an iteration
   (so each iteration's end is fixed), unless it is possessive.
2. Neighbours: a greedy or lazy quantifier of varying width is never followed by
   something that can start with a character it matches (that is the "try every
   split" of `\\d+\\d+`), and a repeated alternation's branches start differently.
3. Starts: a search tries a match at every position. An unbounded run that can be
   followed by a failure (or must repeat more than once) is reached by the
   attempts of one start only: either the pattern cannot start on the run's
   characters, or it opens with a guard that fails inside such a run (a
   lookbehind excluding them, a `\\b` the run cannot hold, or an anchor).
4. No back-references or conditional groups.
"""

from __future__ import annotations

import re._constants as C  # the parser's own vocabulary
import re._parser as P  # no public API exposes the parsed pattern

BOUND = 16
ALPHABET = frozenset([chr(i) for i in range(128)] + ["é", "ß", "\u00a0", "\u2028", "\u0663", "\u4e2d"])
REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)
ASSERTS = (C.ASSERT, C.ASSERT_NOT)
WORD = frozenset(c for c in ALPHABET if c.isalnum() or c == "_")

CATEGORIES = {
    C.CATEGORY_DIGIT: lambda c: c.isdecimal(),
    C.CATEGORY_NOT_DIGIT: lambda c: not c.isdecimal(),
    C.CATEGORY_SPACE: lambda c: c.isspace(),
    C.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    C.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
    C.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
}


def _in_class(items: list, c: str) -> bool:
    negate, hit = False, False
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            hit = hit or ord(c) == av
        elif op is C.NOT_LITERAL:
            hit = hit or ord(c) != av
        elif op is C.RANGE:
            hit = hit or av[0] <= ord(c) <= av[1]
        elif op is C.CATEGORY:
            hit = hit or CATEGORIES[av](c)
        else:
            raise ValueError(f"unknown class item {op}")
    return hit != negate


def chars(item: tuple) -> frozenset[str]:
    """The characters an item can consume anywhere in its match."""
    op, av = item
    if op is C.LITERAL:
        return frozenset([chr(av)]) & ALPHABET | ({chr(av)} - ALPHABET)
    if op is C.NOT_LITERAL:
        return ALPHABET - {chr(av)}
    if op is C.ANY:
        return ALPHABET - {"\n"}
    if op is C.IN:
        return frozenset(c for c in ALPHABET if _in_class(av, c))
    if op in REPEATS:
        return _chars_seq(av[2])
    if op is C.SUBPATTERN:
        return _chars_seq(av[3])
    if op is C.ATOMIC_GROUP:
        return _chars_seq(av)
    if op is C.BRANCH:
        return frozenset().union(*(_chars_seq(alt) for alt in av[1]))
    if op in ASSERTS or op is C.AT:
        return frozenset()
    if op in (C.GROUPREF, C.GROUPREF_EXISTS):
        return ALPHABET  # reported by the walk (rule 4)
    raise ValueError(f"unsupported construct {op}")


def _chars_seq(seq: list) -> frozenset[str]:
    return frozenset().union(*(chars(item) for item in seq)) if seq else frozenset()


def _width(state: P.State, seq: list) -> tuple[int, int]:
    return P.SubPattern(state, list(seq)).getwidth()


def _zero_width(item: tuple) -> bool:
    return item[0] in ASSERTS or item[0] is C.AT


def _first_item(state: P.State, item: tuple) -> frozenset[str]:
    op, av = item
    if op in REPEATS:
        return first(state, av[2], frozenset())
    if op is C.SUBPATTERN:
        return first(state, av[3], frozenset())
    if op is C.ATOMIC_GROUP:
        return first(state, av, frozenset())
    if op is C.BRANCH:
        return frozenset().union(*(first(state, alt, frozenset()) for alt in av[1]))
    return chars(item)


def first(state: P.State, seq: list, follow: frozenset[str]) -> frozenset[str]:
    """The characters a match of `seq` then `follow` can start with."""
    out: frozenset[str] = frozenset()
    for item in seq:
        if _zero_width(item):
            continue
        out |= _first_item(state, item)
        if _width(state, [item])[0] > 0:
            return out
    return out | follow


def _can_fail(state: P.State, seq: list) -> bool:
    """Whether matching `seq` can fail once started (a nullable group cannot)."""
    return any(_zero_width(item) or _width(state, [item])[0] > 0 for item in seq)


def _inner_repeats(seq: list) -> list[tuple]:
    found = []
    for op, av in seq:
        if op in REPEATS:
            found.append((op, av))
            found.extend(_inner_repeats(av[2]))
        elif op is C.SUBPATTERN:
            found.extend(_inner_repeats(av[3]))
        elif op is C.ATOMIC_GROUP:
            found.extend(_inner_repeats(av))
        elif op is C.BRANCH:
            for alt in av[1]:
                found.extend(_inner_repeats(alt))
        elif op in ASSERTS:
            found.extend(_inner_repeats(av[1]))
    return found


def _branches(seq: list) -> list[list]:
    """The alternations of a sequence, through its groups (not its repeats)."""
    found = []
    for op, av in seq:
        if op is C.BRANCH:
            found.append(av[1])
        elif op is C.SUBPATTERN:
            found.extend(_branches(av[3]))
        elif op is C.ATOMIC_GROUP:
            found.extend(_branches(av))
    return found


class _Walk:
    def __init__(self, pattern: str) -> None:
        self.parsed = P.parse(pattern)
        self.state = self.parsed.state
        self.problems: list[str] = []
        self.runs: list[frozenset[str]] = []  # unbounded runs a failure can follow

    def seq(self, seq: list, follow: frozenset[str], fails_after: bool) -> None:
        for i, item in enumerate(seq):
            rest = seq[i + 1 :]
            self.item(item, first(self.state, rest, follow), fails_after or _can_fail(self.state, rest))

    def item(self, item: tuple, follow: frozenset[str], fails_after: bool) -> None:
        op, av = item
        if op in (C.GROUPREF, C.GROUPREF_EXISTS):
            self.problems.append("a back-reference or conditional group")
        elif op in REPEATS:
            self.repeat(item, follow, fails_after)
        elif op is C.SUBPATTERN:
            self.seq(av[3], follow, fails_after)
        elif op is C.ATOMIC_GROUP:
            self.seq(av, follow, fails_after)
        elif op is C.BRANCH:
            for alt in av[1]:
                self.seq(alt, follow, fails_after)
        elif op in ASSERTS:
            self.seq(av[1], frozenset(), False)

    def repeat(self, item: tuple, follow: frozenset[str], fails_after: bool) -> None:
        op, (lo, hi, body) = item
        possessive = op is C.POSSESSIVE_REPEAT
        unbounded = hi is C.MAXREPEAT or hi > BOUND
        body_chars = _chars_seq(body)
        body_first = first(self.state, body, frozenset())
        shown = "".join(sorted(body_chars))[:12]
        text = f"{{{lo},{'' if unbounded else hi}}} of {shown!r}"
        if hi > 1:
            for inner_op, (ilo, ihi, ibody) in _inner_repeats(body):
                inner_possessive = inner_op is C.POSSESSIVE_REPEAT
                if unbounded and not (possessive and (inner_possessive or ilo == ihi)):
                    self.problems.append(f"rule 1: a quantifier inside an unbounded repeat: {text}")
                elif not unbounded and not inner_possessive:
                    inner_unbounded = ihi is C.MAXREPEAT or ihi > BOUND
                    if inner_unbounded or _chars_seq(ibody) & body_first:
                        self.problems.append(f"rule 1: an iteration's end is not fixed: {text}")
        if not possessive and lo != hi and body_chars & follow:
            self.problems.append(f"rule 2: a quantifier's run overlaps what follows it: {text}")
        if not possessive and hi > 1:
            for alts in _branches(body):
                firsts = [first(self.state, alt, frozenset()) for alt in alts]
                if any(a & b for i, a in enumerate(firsts) for b in firsts[i + 1 :]):
                    self.problems.append(f"rule 2: repeated branches start alike: {text}")
        if unbounded and (fails_after or lo > 1):
            self.runs.append(body_chars)
        self.seq(body, body_first | follow, fails_after or lo > 1)

    def guarded(self, run: frozenset[str]) -> bool:
        """No match attempt can start inside a run of these characters."""
        if not run & first(self.state, list(self.parsed.data), frozenset()):
            return True
        for op, av in self.parsed.data:
            if not _zero_width((op, av)):
                return False
            if op is C.AT and av in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
                return True
            if op is C.AT and av is C.AT_BOUNDARY and (run <= WORD or not run & WORD):
                return True
            if op in ASSERTS and av[0] == -1 and len(av[1]) == 1:
                behind = chars(av[1][0])
                if (op is C.ASSERT_NOT and run <= behind) or (op is C.ASSERT and not run & behind):
                    return True
        return False


def problems(pattern: str) -> list[str]:
    """Why `pattern` might not search in linear time; empty when the rules hold."""
    walk = _Walk(pattern)
    walk.seq(list(walk.parsed.data), frozenset(), False)
    for run in walk.runs:
        if not walk.guarded(run):
            shown = "".join(sorted(run))[:20]
            walk.problems.append(f"rule 3: an unguarded start inside a run of {shown!r}")
    return walk.problems
