"""The brat standoff format, read once for every user: de-id scoring (``pipeline.deid.eval``) and the NER/RE
fine-tuning readers (``model.finetune.readers``).

A note is ``NAME.txt`` with ``NAME.ann`` beside it. The ``.ann`` lines used here are text-bound annotations
``T1<TAB>TYPE START END[;START END...]<TAB>text`` and binary relations ``R1<TAB>TYPE Arg1:T1 Arg2:T2``;
other lines (events, attributes, notes) are skipped. Offsets count characters of the ``.txt`` read with
``newline=""``: brat counts a ``\\r\\n`` as two characters. Errors name the file and line, never its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import FormatError


@dataclass(frozen=True)
class Entity:
    id: str
    type: str
    fragments: tuple[tuple[int, int], ...]
    """(start, end) of each piece; one for a contiguous entity."""
    text: str | None = None
    """The text the annotator recorded (pieces joined by a space), when the line has it."""

    @property
    def start(self) -> int:
        return min(a for a, _ in self.fragments)

    @property
    def end(self) -> int:
        """With ``start``, the covering span of a discontinuous entity."""
        return max(b for _, b in self.fragments)


@dataclass(frozen=True)
class Relation:
    type: str
    arg1: str
    arg2: str


def read_text(txt: Path) -> str:
    """A note's text exactly as brat's offsets count it."""
    with open(txt, encoding="utf-8", newline="") as fh:
        return fh.read()


def read_ann(path: Path) -> tuple[dict[str, Entity], list[Relation]]:
    """Text-bound annotations and binary relations of one ``.ann`` file, by id and in file order."""
    ents: dict[str, Entity] = {}
    rels: list[Relation] = []
    with open(path, encoding="utf-8", newline="") as fh:
        lines = fh.read().split("\n")
    for lineno, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if line.startswith("T"):
            parts = line.split("\t")
            head = parts[1].split(" ", 1) if len(parts) >= 2 else []
            try:
                fragments = tuple((int(a), int(b)) for a, b in (frag.split() for frag in head[1].split(";")))
            except (IndexError, ValueError):
                raise FormatError(f"{path}:{lineno}: not a brat text-bound annotation") from None
            ents[parts[0]] = Entity(parts[0], head[0], fragments, parts[2] if len(parts) > 2 else None)
        elif line.startswith("R"):
            parts = line.split("\t")
            fields = parts[1].split() if len(parts) >= 2 else []
            args = dict(f.split(":", 1) for f in fields[1:] if ":" in f)
            if len(fields) < 3 or "Arg1" not in args or "Arg2" not in args:
                raise FormatError(f"{path}:{lineno}: not a brat relation")
            rels.append(Relation(fields[0], args["Arg1"], args["Arg2"]))
    for r in rels:
        if r.arg1 not in ents or r.arg2 not in ents:
            raise FormatError(f"{path}: relation refers to a missing entity")
    return ents, rels
