"""Rebuild the shipped extract of the COG from the full files of the npm package.

    python lien/territories/data/extract_cog.py /path/to/cog-2026 59 62

Keeps every région and département, the current communes of the given départements and
the EPCI with at least one member among them, one JSON object per line like the source
files, so that the line numbers in the loader's error reports stay meaningful.
Not used at run time.
"""

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent
COMMUNE_FIELDS = ("code", "nom", "type", "departement", "region", "codesPostaux", "population")
EPCI_FIELDS = ("code", "nom", "type", "populationTotale", "populationMunicipale")


def _write(path: Path, rows: list[dict]) -> None:
    lines = [json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in rows]
    path.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")


def main(source: Path, departements: list[str]) -> None:
    for name in ("regions.json", "departements.json"):
        _write(OUT / name, json.loads((source / name).read_text(encoding="utf-8")))
    communes = [
        {key: row[key] for key in COMMUNE_FIELDS if key in row}
        for row in json.loads((source / "communes.json").read_text(encoding="utf-8"))
        if row.get("type") == "commune-actuelle" and row.get("departement") in departements
    ]
    _write(OUT / "communes.json", communes)
    kept = {row["code"] for row in communes}
    epci = [
        {key: row[key] for key in EPCI_FIELDS if key in row}
        | {
            "membres": [
                {"code": m["code"], "populationMunicipale": m.get("populationMunicipale")}
                for m in row["membres"]
            ]
        }
        for row in json.loads((source / "epci.json").read_text(encoding="utf-8"))
        if any(m["code"] in kept for m in row["membres"])
    ]
    _write(OUT / "epci.json", epci)
    print(f"{len(communes)} communes, {len(epci)} EPCI")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
