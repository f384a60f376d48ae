"""Skip the PHI regexes that cannot match a note, decided for all of them in one pass.

Why: a Python ``re`` scan costs ~20-60 us per 2 KB note whether or not it matches, and the recognizers
run ~90 such scans; on synthetic notes only ~25% of them find anything (real notes: fewer). Hyperscan
(PyPI ``hyperscan``, optional) compiles every regex in *prefilter* mode -- look-arounds and other
constructs it cannot run exactly are widened, never narrowed, so its answer "no match" is exact -- and
tells in one ~50 us pass which regexes may match. The recognizers then scan only those, with Python
``re``, so results are identical with and without hyperscan (a test checks this on a corpus); without it
every regex simply runs.

Usage: ``gate = Gate(patterns)``; per note ``with gate.note(text):`` ... ``may_match(rx)`` inside
recognizers (True outside any ``note`` block, or for a regex the gate does not know).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

_log = logging.getLogger(__name__)

try:  # optional accelerator: identical results without it, only slower
    import hyperscan as _hs
except ImportError:  # pragma: no cover - depends on the environment
    _hs = None

# (ids of the regexes that may match the current note, ids the gate knows); None = no gate active
_current: tuple[set[int], frozenset[int]] | None = None


def may_match(rx: re.Pattern[str]) -> bool:
    """May ``rx`` match the note being analysed? True outside ``Gate.note``, when the gate could not scan
    the note, and for any regex the gate does not know."""
    return _current is None or id(rx) in _current[0] or id(rx) not in _current[1]


def available() -> bool:
    return _hs is not None


class Gate:
    """A hyperscan database of ``patterns`` in prefilter mode (or nothing, if hyperscan is missing)."""

    def __init__(self, patterns: Iterable[re.Pattern[str]]) -> None:
        unique = {id(rx): rx for rx in patterns}
        self._always: set[int] = set()  # regexes hyperscan could not compile: always run
        self._ids: list[int] = []
        self._known: frozenset[int] = frozenset()
        self._db = None
        if _hs is None:
            return
        exprs, flags, keys = [], [], []
        for key, rx in unique.items():
            f = _hs.HS_FLAG_PREFILTER | _hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_ALLOWEMPTY | _hs.HS_FLAG_UTF8 | _hs.HS_FLAG_UCP
            f |= _hs.HS_FLAG_CASELESS if rx.flags & re.IGNORECASE else 0
            f |= _hs.HS_FLAG_MULTILINE if rx.flags & re.MULTILINE else 0
            f |= _hs.HS_FLAG_DOTALL if rx.flags & re.DOTALL else 0
            exprs.append(_widen(rx.pattern).encode())
            flags.append(f)
            keys.append(key)
        cache = _cache_path(exprs, flags)
        db = _load(cache)
        if db is not None:
            self._db, self._ids, self._known = db, keys, frozenset(keys)
            return
        db = _database(exprs, flags)
        if db is None:  # some regex is beyond hyperscan even in prefilter mode: leave those out, always run them
            ok = [i for i in range(len(exprs)) if _database([exprs[i]], [flags[i]]) is not None]
            self._always = {keys[i] for i in range(len(exprs)) if i not in set(ok)}
            exprs, flags, keys = [exprs[i] for i in ok], [flags[i] for i in ok], [keys[i] for i in ok]
            db = _database(exprs, flags) if exprs else None
        self._db, self._ids = db, keys
        self._known = frozenset(keys)
        if db is not None and not self._always:
            _store(cache, db)
        if self._always:
            _log.debug("prefilter: %d regexes always run (not compilable by hyperscan)", len(self._always))

    @property
    def active(self) -> bool:
        return self._db is not None

    def possible(self, text: str) -> set[int] | None:
        """Ids (``id(rx)``) of the regexes that may match ``text``; None = cannot tell (run all)."""
        if self._db is None:
            return None
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: hyperscan needs valid UTF-8
            return None
        hits: set[int] = set(self._always)
        ids = self._ids

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            hits.add(ids[index])

        self._db.scan(data, match_event_handler=on_match)
        return hits

    @contextmanager
    def note(self, text: str) -> Iterator[None]:
        """Within this block, ``may_match`` answers for ``text``."""
        global _current
        previous = _current
        possible = self.possible(text)
        _current = None if possible is None else (possible, self._known)
        try:
            yield
        finally:
            _current = previous


def _cache_path(exprs: list[bytes], flags: list[int]) -> Path:
    """Where the compiled database for exactly these patterns is kept (compiling takes ~3 s of CPU, so every
    process -- test runs, stage workers -- would pay it; loading takes milliseconds). No note text is in it."""
    h = hashlib.sha256(f"hyperscan {getattr(_hs, '__version__', '?')}\n".encode())
    for e, f in zip(exprs, flags, strict=True):
        h.update(e + b"\0" + str(f).encode() + b"\n")
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


_BOUNDED = re.compile(r"(?<!\\)\{(\d+),(\d+)\}")


def _widen(pattern: str) -> str:
    """``{m,n}`` -> ``{m,}``: only widens what matches, and bounded repeats of large (Unicode) classes
    cost hyperscan seconds to compile (``[^\\n\\d]{0,40}`` alone took ~2 s)."""
    return _BOUNDED.sub(r"{\1,}", pattern)


def _database(exprs: list[bytes], flags: list[int]):
    """A compiled block-mode database, or None when hyperscan rejects a pattern."""
    db = _hs.Database()
    try:
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
    except Exception:  # hyperscan.error / InvalidError: an unsupported construct
        return None
    return db
