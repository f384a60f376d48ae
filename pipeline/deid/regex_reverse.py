"""Variable-length look-behinds for ``re``, by matching a reversed pattern on the reversed text.

``re`` allows only fixed-width look-behinds. The recognizers' ``before`` conditions ("a date word, then
m/d", "a street address, then ', City'") were ``search``-ed as ``(?:before)\\Z`` over a 40-character
window: ``re`` then tries every start in the window, and a pattern led by ``\\d[^\\n,;]{2,60}`` backtracks
over the whole window from every digit -- 7-11 µs per check, 6% of the deid stage. The reversed pattern
is tried once, anchored where the match would end.

The reversal is exact (same characters matched, look-arounds turned around and reversed themselves) for
what ``reversed_pattern`` accepts; anything else (anchors other than ``\\Z`` and ``\\b``, back-references,
possessive or atomic groups, a look-ahead that is not fixed width) returns None and the caller searches
forward. The one difference by design: look-arounds see only the window (a forward search's look-behind
at the window's first character could see one character before it).

This is also the one home of what both reversers need from ``re``'s parse tree -- the parser, how a
character, a category and a class are written back -- for the two dialects they write: Python's ``re``
(here) and hyperscan's (``pipeline.deid.prefilter``, which reverses patterns *widened*, as a prefilter).
"""

from __future__ import annotations

import re

try:  # the parser behind ``re`` (3.11+: re._parser, before: sre_parse)
    from re import _constants as constants
    from re import _parser as parser
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as constants  # type: ignore[no-redef]
    import sre_parse as parser  # type: ignore[no-redef]
_c, _p = constants, parser


class Unsupported(Exception):
    """A construct a reverser does not take: the caller falls back to a forward search."""


class Dialect:
    """How a parsed character, category or class is written back, in one regex language."""

    def __init__(self, escape: str, categories: dict[str, str]) -> None:
        self._escape, self._categories = escape, categories

    def char(self, code: int) -> str:
        ch = chr(code)
        if ch.isascii() and ch.isalnum():
            return ch
        if self._escape == "python":
            return f"\\U{code:08x}"
        return f"\\x{code:02x}" if code < 0x80 else f"\\x{{{code:x}}}"  # hyperscan: no \U

    def category(self, av) -> str:  # noqa: ANN001 - a parser category constant
        name = str(av)
        if name not in self._categories:
            raise Unsupported(name)
        return self._categories[name]

    def char_class(self, items) -> str:  # noqa: ANN001 - a parsed IN item list
        parts = []
        for op, av in items:
            if op is _c.NEGATE:
                parts.insert(0, "^")
            elif op is _c.LITERAL:
                parts.append(self.char(av))
            elif op is _c.RANGE:
                parts.append(f"{self.char(av[0])}-{self.char(av[1])}")
            elif op is _c.CATEGORY:
                parts.append(self.category(av))
            else:
                raise Unsupported(str(op))
        return "[" + "".join(parts) + "]"


_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W",
}
PYTHON = Dialect("python", _CATEGORIES)
HYPERSCAN = Dialect("hyperscan", {**_CATEGORIES, "CATEGORY_SPACE": r"\s\x1c-\x1f"})
r"""Python counts ``\x1c-\x1f`` as space, hyperscan does not: its ``\s`` says so explicitly."""


def reversed_pattern(pattern: str) -> str | None:
    """A pattern that matches exactly the reversed strings of ``pattern``'s matches, or None. Flags must be
    scoped (``(?i:...)``): global inline flags are not kept."""
    try:
        return _rev(_p.parse(pattern))
    except Unsupported:
        return None


class Lookbehind:
    """``pattern`` ending right before a position, within ``window`` characters before it."""

    def __init__(self, pattern: str, window: int) -> None:
        self.window = window
        self._forward = re.compile(rf"(?:{pattern})\Z")
        rev = reversed_pattern(pattern)
        self._reversed = None
        if rev is not None:
            try:
                self._reversed = re.compile(rev)
            except re.error:  # a look-ahead reversed into a look-behind that is not fixed width
                self._reversed = None

    @property
    def exact_reversal(self) -> bool:
        return self._reversed is not None

    def ends_at(self, text: str, pos: int) -> bool:
        """Does a match of the pattern end at ``pos`` and start at most ``window`` characters before it?"""
        lo = max(0, pos - self.window)
        if self._reversed is not None:
            return self._reversed.match(text[lo:pos][::-1]) is not None
        return self._forward.search(text, lo, pos) is not None


def _rev(items) -> str:
    return "".join(_item(op, av) for op, av in reversed(list(items)))


def _item(op, av) -> str:
    if op is _c.LITERAL:
        return PYTHON.char(av)
    if op is _c.NOT_LITERAL:
        return f"[^{PYTHON.char(av)}]"
    if op is _c.ANY:
        return "."  # the pattern's flags (DOTALL) come along in the scoped groups or at compile
    if op is _c.CATEGORY:
        return PYTHON.category(av)
    if op is _c.IN:
        return PYTHON.char_class(av)
    if op is _c.BRANCH:
        return "(?:" + "|".join(_rev(b) for b in av[1]) + ")"
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):  # greedy or lazy: the same strings can match
        lo, hi, sub = av
        upper = "" if hi == _c.MAXREPEAT else str(hi)
        return f"(?:{_rev(sub)}){{{lo},{upper}}}" + ("?" if op is _c.MIN_REPEAT else "")
    if op is _c.SUBPATTERN:  # capture groups become plain groups: only whether it matches is asked
        _, add, delete, sub = av
        on, off = _flag_letters(add), _flag_letters(delete)
        return f"(?{on}{'-' + off if off else ''}:{_rev(sub)})"
    if op in (_c.ASSERT, _c.ASSERT_NOT):  # a look-behind becomes a look-ahead and vice versa
        direction, sub = av
        kind = ("=" if op is _c.ASSERT else "!")
        return f"(?{'' if direction == -1 else '<'}{kind}{_rev(sub)})"
    if op is _c.AT:
        name = str(av)
        if name == "AT_END_STRING":
            return r"\A"
        if name in ("AT_BOUNDARY", "AT_NON_BOUNDARY"):
            return r"\b" if name == "AT_BOUNDARY" else r"\B"
    raise Unsupported(str(op))


def _flag_letters(flags: int) -> str:
    if flags & ~(re.IGNORECASE | re.DOTALL | re.MULTILINE):
        raise Unsupported("flags")
    return "".join(letter for flag, letter in ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))
                   if flags & flag)
