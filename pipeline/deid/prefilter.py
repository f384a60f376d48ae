"""Run each PHI regex only where hyperscan says a match may start, decided for all of them in one pass.

Why: a Python ``re`` scan costs ~20-60 us per 2 KB note whether or not it matches (its engine tries the
pattern at every position), and the recognizers run ~100 such scans. Hyperscan (PyPI ``hyperscan``,
optional) compiles every regex *reversed* and in *prefilter* mode -- look-arounds, back-references and
other constructs it cannot run exactly are widened, never narrowed -- and scans the reversed note once: the
end of a reversed match is the start of a match in the note, so one ~100 us pass yields, per regex, a
superset of the positions where a match can start (usually none or a handful). The recognizers then run
``rx.match`` at those positions only (``finditer`` here, or a walk of ``prefilter_view()``), in order,
which finds exactly the matches ``rx.search`` / ``rx.finditer`` would: the leftmost position where ``rx`` matches is among the
candidates, and the match at a position does not depend on where a search began. Results are identical
with and without hyperscan (tests check this on a corpus, and pin the spans of 300 notes); without it, or
for a regex hyperscan cannot take, every regex simply scans the note.

Usage: ``gate = Gate(patterns)``; per note ``with gate.note(text):`` ... ``may_match(rx)``,
``finditer(rx, text)``, ``prefilter_view()`` inside recognizers (plain ``re`` outside any ``note``
block, when the gate could not scan the note, and for a regex the gate does not know).
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pipeline.deid.regex_reverse import HYPERSCAN, Unsupported as _Unsupported, constants as _c, parser as _p

# how characters, categories and classes are written in hyperscan's dialect (one table, ``regex_reverse``)
_lit, _category, _class = HYPERSCAN.char, HYPERSCAN.category, HYPERSCAN.char_class

_log = logging.getLogger(__name__)

try:  # optional accelerator: identical results without it, only slower
    import hyperscan as _hs
except ImportError:  # pragma: no cover - depends on the environment
    _hs = None


class _State(threading.local):
    """Per thread, so that two threads analysing notes at once each see their own note's candidates."""

    # (candidate match starts per regex id, ids the gate knows); None = no gate active
    current: tuple[dict[int, list[int]], frozenset[int]] | None = None


_state = _State()


def may_match(rx: re.Pattern[str]) -> bool:
    """May ``rx`` match the note being analysed? True outside ``Gate.note``, when the gate could not scan
    the note, and for any regex the gate does not know."""
    cur = _state.current
    return cur is None or id(rx) in cur[0] or id(rx) not in cur[1]


def prefilter_view() -> tuple[dict[int, list[int]], frozenset[int]] | None:
    """For a hot loop over many regexes: (sorted candidate starts per regex id, the ids the gate knows),
    or None outside ``Gate.note`` / when the note could not be scanned. A known id without starts cannot
    match; walking a regex's starts in order with ``rx.match`` finds what ``rx.search`` calls find."""
    return _state.current


def candidates(rx: re.Pattern[str]) -> list[int] | None:
    """The sorted positions where ``rx`` may match in the note (empty: nowhere), or None when the gate
    cannot tell (scan with ``re``). Walking them in order with ``rx.match``, skipping those before the
    next allowed position, finds what repeated ``rx.search`` calls find."""
    cur = _state.current
    if cur is None or id(rx) not in cur[1]:
        return None
    return cur[0].get(id(rx), _NONE)


_NONE: list[int] = []


def finditer(rx: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``rx.finditer(text)`` for a regex that cannot match the empty string (the gate refuses others)."""
    starts = candidates(rx)
    if starts is None:
        return rx.finditer(text)
    return _walk(rx, text, starts)


def _walk(rx: re.Pattern[str], text: str, starts: list[int]) -> Iterator[re.Match[str]]:
    pos = 0
    match = rx.match
    for start in starts:
        if start >= pos and (m := match(text, start)) is not None:
            yield m
            pos = m.end()


def available() -> bool:
    return _hs is not None


class _GateThread(threading.local):
    """A gate's per-thread state: its own hyperscan scratch space, and the current ``Gate.batch``."""

    scratch = None
    batch: dict[int, tuple[str, dict[int, list[int]] | None]] = {}  # never mutated: replaced per batch


class Gate:
    """A hyperscan database of ``patterns``, reversed, in prefilter mode (or nothing, if hyperscan is
    missing). A pattern that can match the empty string, or that hyperscan or ``_reversed`` cannot take,
    is left out: it always scans with plain ``re``."""

    def __init__(self, patterns: Iterable[re.Pattern[str]]) -> None:
        unique = {id(rx): rx for rx in patterns}
        self._ids: list[int] = []
        self._shifts: list[int] = []
        self._known: frozenset[int] = frozenset()
        self._db = None
        self._threads = _GateThread()  # per thread: the hyperscan scratch space and the current batch
        if _hs is None:
            return
        exprs, flags, keys, shifts = [], [], [], []
        for key, rx in unique.items():
            variants = _reversed(rx)
            if variants is None:
                continue
            # "$" is only ever emitted for a line start (``_Reverser._anchor``), so multi-line mode is safe
            f = _hs.HS_FLAG_PREFILTER | _hs.HS_FLAG_UTF8 | _hs.HS_FLAG_UCP | _hs.HS_FLAG_MULTILINE
            f |= _hs.HS_FLAG_CASELESS if rx.flags & re.IGNORECASE else 0
            for expr, shift in variants:
                exprs.append(expr.encode())
                flags.append(f)
                keys.append(key)
                shifts.append(shift)
        cache = _cache_path(exprs, flags, shifts)
        db = _load(cache)
        if db is None:
            db = _database(exprs, flags)
            if db is None:  # some regex is beyond hyperscan even in prefilter mode: leave it out, all variants
                bad = {keys[i] for i in range(len(exprs)) if _database([exprs[i]], [flags[i]]) is None}
                ok = [i for i in range(len(exprs)) if keys[i] not in bad]
                exprs, flags = [exprs[i] for i in ok], [flags[i] for i in ok]
                keys, shifts = [keys[i] for i in ok], [shifts[i] for i in ok]
                db = _database(exprs, flags) if exprs else None
            if db is not None:
                _store(cache, db)
        self._db, self._ids, self._shifts = db, keys, shifts
        self._known = frozenset(keys) if db is not None else frozenset()
        if len(self._known) < len(unique):
            _log.debug("prefilter: %d of %d regexes always scan", len(unique) - len(self._known), len(unique))

    @property
    def active(self) -> bool:
        return self._db is not None

    def starts(self, text: str) -> dict[int, list[int]] | None:
        """Per regex id (``id(rx)``), the sorted positions of ``text`` where a match may start (regexes
        without any are absent); None = cannot tell (scan with ``re``)."""
        if self._db is None:
            return None
        rtext = text[::-1]
        try:  # + a newline standing for "before the note" (see ``_reversed``)
            data = rtext.encode("utf-8") + b"\n"
        except UnicodeEncodeError:  # lone surrogates: hyperscan needs valid UTF-8
            return None
        n = len(text)
        ids, shifts = self._ids, self._shifts
        to_chars = None if len(data) == n + 1 else _char_offsets(rtext, data)  # None: ASCII
        out: dict[int, list[int]] = {}

        # The end of a reversed match is a start in the note: one pass, in the callback (a second pass over
        # the ends per regex cost a third of this function). Hyperscan reports an end once per expression (a
        # start repeated by two variants of one regex is only tried twice, harmlessly); a variant that
        # consumed the character before the match reports its start ``shift`` characters early; an end
        # inside the added newline is no start in the note.
        def on_match(index: int, _from: int, end: int, _flags: int, _context: object) -> None:
            start = n + shifts[index] - (end if to_chars is None else to_chars(end))
            if start >= 0:
                if (have := out.get(key := ids[index])) is None:
                    out[key] = [start]
                else:
                    have.append(start)

        if (scratch := self._threads.scratch) is None:  # hyperscan's scratch space is not thread-safe
            scratch = self._threads.scratch = _hs.Scratch(self._db)
        self._db.scan(data, match_event_handler=on_match, scratch=scratch)
        for starts in out.values():
            starts.sort()
        return out

    @contextmanager
    def batch(self, texts: Sequence[str]) -> Iterator[None]:
        """Scan ``texts`` one after another, before any is analysed; ``note`` then uses these scans.

        Why: the compiled database is several MB. Scanned between the analyses of single notes it is
        evicted from the CPU cache every time, and the scans took twice as long as back to back."""
        self._threads.batch = {id(t): (t, self.starts(t)) for t in texts}
        try:
            yield
        finally:
            self._threads.batch = {}

    @contextmanager
    def note(self, text: str) -> Iterator[None]:
        """Within this block, ``may_match`` / ``finditer`` / ``prefilter_view`` answer for ``text``."""
        previous = _state.current
        hit = self._threads.batch.get(id(text))
        starts = hit[1] if hit is not None and hit[0] is text else self.starts(text)
        _state.current = None if starts is None else (starts, self._known)
        try:
            yield
        finally:
            _state.current = previous


def _char_offsets(text: str, data: bytes) -> Callable[[int], int]:
    """A function from a UTF-8 byte offset of ``data`` (= ``text`` encoded) to the character offset."""
    firsts, extra, total = [], [], 0  # byte offset after each multi-byte character, its bytes beyond 1 so far
    for m in _NON_ASCII.finditer(text):
        total += len(m.group().encode("utf-8")) - 1
        firsts.append(m.end() + total)
        extra.append(total)

    def to_chars(offset: int) -> int:
        i = bisect.bisect_right(firsts, offset) - 1
        return offset - (extra[i] if i >= 0 else 0)

    return to_chars


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _cache_path(exprs: list[bytes], flags: list[int], shifts: list[int]) -> Path:
    """Where the compiled database for exactly these patterns is kept (compiling takes ~3 s of CPU, so every
    process -- test runs, stage workers -- would pay it; loading takes milliseconds). No note text is in it."""
    h = hashlib.sha256(f"hyperscan {getattr(_hs, '__version__', '?')}\n".encode())
    for e, f, shift in zip(exprs, flags, shifts, strict=True):
        h.update(e + b"\0" + f"{f} {shift}".encode() + b"\n")
    root = Path(os.environ.get("EHRLM_CACHE_DIR") or Path(tempfile.gettempdir()) / "ehrlm-cache")
    return root / f"phi-prefilter-{h.hexdigest()[:24]}.hsdb"


def _load(path: Path):
    try:
        db = _hs.loadb(path.read_bytes(), _hs.HS_MODE_BLOCK)
        db.scratch = _hs.Scratch(db)
    except Exception:  # missing, truncated or from another hyperscan build: recompile
        return None
    return db


def _store(path: Path, db) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as fh:
            fh.write(_hs.dumpb(db))
        os.replace(fh.name, path)  # atomic: concurrent workers may race to write the same bytes
    except OSError as exc:
        _log.debug("prefilter cache not written: %s", type(exc).__name__)


def _reversed(rx: re.Pattern[str]) -> list[tuple[str, int]] | None:
    r"""A hyperscan pattern that matches the reverse of every match of ``rx`` (prefilter-style: it may match
    more, never less), or None when ``rx`` can match the empty string or uses a construct not handled here.

    Kept exactly: a line or text start (``^``, ``\A``) becomes "before a newline / before the final
    newline" of the reversed text (``Gate.starts`` appends a newline standing for "before the note"), and
    the last look-ahead at the end of the pattern ("a name before ``(?=... MRN)``"; a negative one of a
    single character, "``MD(?![^\W_])``", as the complement class or the reversed text's start) becomes
    consumed text at the start of the reversed pattern -- the reported end, the start in the note, does
    not move. Other look-arounds and anchors are dropped and back-references replaced by their group,
    which only widens; bounded repeats above 4 become unbounded (bounded repeats of large Unicode classes
    cost hyperscan seconds to compile); ``\s`` also takes ``\x1c-\x1f``, which Python counts as space and
    hyperscan not. Without the anchors and the final look-ahead, a header-line rule would report a
    candidate at every capitalized word.

    Returns variants ``(expression, shift)``: a leading look-behind (``_leading_lookbehind``) is consumed
    at the end of the reversed pattern, so it reports the start ``shift`` characters early. A negative one
    consumes the complement of its class, which takes the appended newline at the note's start; when the
    class itself holds a newline, a second variant is anchored there instead."""
    try:
        tree = _p.parse(rx.pattern, rx.flags)
    except Exception:  # pragma: no cover - rx compiled, so it parses
        return None
    if tree.getwidth()[0] == 0:
        return None
    groups: dict[int, list] = {}

    def collect(items) -> None:
        for op, av in items:
            if op is _c.SUBPATTERN:
                if av[0] is not None:
                    groups[av[0]] = av[3]
                collect(av[3])
            elif op is _c.BRANCH:
                for b in av[1]:
                    collect(b)
            elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
                collect(av[2])
            elif op in (_c.ASSERT, _c.ASSERT_NOT):
                collect(av[1])
            elif op is getattr(_c, "ATOMIC_GROUP", None):
                collect(av)

    try:
        collect(tree)
        multiline = bool(rx.flags & re.MULTILINE)
        reverser = _Reverser(groups)
        out = reverser.rev(tree, bool(rx.flags & re.DOTALL), multiline, tail=True)
        lead = _leading_lookbehind(tree)
        if not out:
            return None
        if lead is None:
            return [(out, 0)]
        negative, sub = lead
        if negative:  # the character before the match is outside the class, or there is none: the newline
            variants = [(out + _complement(sub), 1)]  # that ``Gate.starts`` adds after the reversed note
            if _takes_newline(sub):  # ... unless the class itself holds a newline
                variants.append((out + r"\Z", 0))
            return variants
        body = reverser.rev(sub, bool(rx.flags & re.DOTALL), multiline, False)
        return [(out + "(?:" + body + ")", sub.getwidth()[0])]
    except Exception:  # _Unsupported, or a parse tree shaped differently by another Python: plain re, exact
        return None


def _leading_lookbehind(items) -> tuple[bool, object] | None:
    """The first look-behind tested at the match start -- (negative?, its sub-pattern) -- when it is
    a positive one of fixed width or a negative one of a single character class; else None. Look-aheads
    before it and the opening of flag-less groups are stepped over; any consuming item ends the search.

    Why: dropped, ``(?<![A-Za-z])`` lets hyperscan propose a start inside every word ("Goldsmith" for
    a rule on "Smith"); kept as one consumed character of the complement class, the candidates on
    heldout notes fell from 106 to 61 per note, every real match start still among them."""
    for op, av in items:
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            direction, sub = av
            if direction == -1:
                lo, hi = sub.getwidth()
                if op is _c.ASSERT and lo == hi > 0:
                    return False, sub
                if op is _c.ASSERT_NOT and _one_char(sub):
                    return True, sub
            continue
        if op is _c.SUBPATTERN and not av[1] and not av[2]:  # a group that changes no flags
            return _leading_lookbehind(av[3])
        return None
    return None


def _one_char(sub) -> bool:
    """Is the parsed pattern ``sub`` a single character, literal or class (what ``_complement`` takes)?"""
    return sub.getwidth() == (1, 1) and len(sub) == 1 and sub[0][0] in _ONE_CHAR


def _takes_newline(sub) -> bool:
    """Does the one-character pattern ``sub`` match a newline?"""
    op, av = sub[0]
    if op is _c.LITERAL:
        return av == 10
    if op is _c.NOT_LITERAL:
        return av != 10
    if op is _c.CATEGORY:
        return str(av) in ("CATEGORY_SPACE", "CATEGORY_NOT_WORD", "CATEGORY_NOT_DIGIT")
    negate = any(o is _c.NEGATE for o, _ in av)
    hit = any(
        (o is _c.LITERAL and a == 10)
        or (o is _c.RANGE and a[0] <= 10 <= a[1])
        or (o is _c.CATEGORY and _takes_newline([(o, a)]))
        for o, a in av
        if o is not _c.NEGATE
    )
    return hit != negate


def _complement(sub) -> str:
    """A class matching exactly the characters the one-character pattern ``sub`` does not."""
    op, av = sub[0]
    if op is _c.LITERAL:
        return f"[^{_lit(av)}]"
    if op is _c.NOT_LITERAL:
        return f"[{_lit(av)}]"
    if op is _c.CATEGORY:
        return f"[^{_category(av)}]"
    cls = _class(av)
    return "[" + cls[2:] if cls.startswith("[^") else "[^" + cls[1:]


_ONE_CHAR = (_c.LITERAL, _c.NOT_LITERAL, _c.IN, _c.CATEGORY)  # one-character items ``_complement`` takes


class _Reverser:
    """Serialises a parsed ``re`` pattern reversed (see ``_reversed``)."""

    def __init__(self, groups: dict[int, list]) -> None:
        self._groups = groups

    def rev(self, items, dotall: bool, multiline: bool, tail: bool) -> str:
        """The reversed pattern text of a parsed sequence. ``tail``: nothing consuming follows the sequence
        in the whole pattern, so its last look-ahead may be consumed."""
        out = []
        for op, av in reversed(list(items)):
            if op is _c.ASSERT and av[0] == 1 and tail:
                out.append(self.rev(av[1], dotall, multiline, True))
                tail = False
                continue
            if op is _c.ASSERT_NOT and av[0] == 1 and tail and _one_char(av[1]):
                # "(?![^\W_])" at the end: before the reversed match, a character outside the class or the
                # start of the reversed note (its end); the reported end, the start in the note, stays put
                out.append("(?:^|" + _complement(av[1]) + ")")
                tail = False
                continue
            if op in (_c.ASSERT, _c.ASSERT_NOT):
                continue  # zero-width: dropping it only widens
            if op is _c.AT:
                out.append(self._anchor(str(av), multiline))
                continue
            out.append(self._item(op, av, dotall, multiline, tail))
            tail = False
        return "".join(out)

    def _anchor(self, name: str, multiline: bool) -> str:
        if name == "AT_BEGINNING_STRING" or (name == "AT_BEGINNING" and not multiline):
            return r"\Z"  # before the newline ``Gate.starts`` adds at the end of the reversed note
        if name == "AT_BEGINNING" and multiline:  # HS_FLAG_MULTILINE is always set: "$" is before a newline
            return "$"
        return ""  # end anchors, word boundaries: dropping only widens

    def _item(self, op, av, dotall: bool, multiline: bool, tail: bool) -> str:
        if op is _c.LITERAL:
            return _lit(av)
        if op is _c.NOT_LITERAL:
            return f"[^{_lit(av)}]"
        if op is _c.IN:
            return _class(av)
        if op is _c.ANY:
            return r"[\s\S]" if dotall else r"[^\n]"
        if op is _c.CATEGORY:
            return "[" + _category(av) + "]"
        if op is _c.BRANCH:
            return "(?:" + "|".join(self.rev(b, dotall, multiline, tail) for b in av[1]) + ")"
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            body = self.rev(sub, dotall, multiline, False)
            if not body:
                return ""
            if hi == 1:
                q = "?" if lo == 0 else ""
            elif hi == _c.MAXREPEAT or hi > 4:
                q = f"{{{lo},}}"
            else:
                q = f"{{{lo},{hi}}}"
            return f"(?:{body}){q}"
        if op is _c.SUBPATTERN:
            _, add, delete, sub = av
            on = ("i" if add & re.IGNORECASE else "") + ("s" if add & re.DOTALL else "")
            off = ("i" if delete & re.IGNORECASE else "") + ("s" if delete & re.DOTALL else "")
            inner_dotall = (dotall or bool(add & re.DOTALL)) and not delete & re.DOTALL
            inner_multiline = (multiline or bool(add & re.MULTILINE)) and not delete & re.MULTILINE
            flags = on + ("-" + off if off else "")
            return f"(?{flags}:" + self.rev(sub, inner_dotall, inner_multiline, tail) + ")"
        if op is getattr(_c, "ATOMIC_GROUP", None):
            return "(?:" + self.rev(av, dotall, multiline, tail) + ")"
        if op is _c.GROUPREF:
            return "(?:" + self.rev(self._groups[av], dotall, multiline, False) + ")"
        raise _Unsupported(str(op))


def _database(exprs: list[bytes], flags: list[int]):
    """A compiled block-mode database, or None when hyperscan rejects a pattern."""
    db = _hs.Database()
    try:
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
    except Exception:  # hyperscan.error / InvalidError: an unsupported construct
        return None
    return db
