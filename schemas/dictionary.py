"""The data dictionary (Markdown), generated from the models: `make docs` writes it into the README."""

import argparse
import re
import sys
from pathlib import Path

from schemas.tables import ALL_TABLES, PARTITION_KEY

START, END = "<!-- data-dictionary:start -->", "<!-- data-dictionary:end -->"


def data_dictionary() -> str:
    parts: list[str] = []
    for table, model in ALL_TABLES.items():
        schema = model.to_schema()
        doc = (model.__doc__ or "").strip().splitlines()[0]
        parts.append(f"#### `{table}`\n\n{doc}\n\n| column | type | null | meaning |\n|---|---|---|---|")
        for name, column in schema.columns.items():
            where = " (partition key, in the path)" if name == PARTITION_KEY else ""
            meaning = (column.description or "").replace("|", "\\|") + where
            parts.append(f"| `{name}` | {column.dtype} | {'yes' if column.nullable else 'no'} | {meaning} |")
        parts.append("")
    return "\n".join(parts).strip() + "\n"


def write_into(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    block = f"{START}\n{data_dictionary()}{END}"
    new, count = re.subn(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.DOTALL)
    if count != 1:
        raise SystemExit(f"{readme}: expected one {START} ... {END} block, found {count}")
    readme.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m schemas.dictionary", description=__doc__)
    parser.add_argument("--write", type=Path, help="README to update in place; prints to stdout without it")
    args = parser.parse_args()
    if args.write:
        write_into(args.write)
    else:
        sys.stdout.write(data_dictionary())
