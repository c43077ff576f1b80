"""Fill Latvian translations from a Python file holding a dict LV {msgid: msgstr}.

Usage: python scripts/fill_catalog.py TRANSLATIONS.py [locales/lv/LC_MESSAGES/messages.po]
Entries it names lose their fuzzy mark; the others are left as they are."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def main() -> None:
    translations: dict[str, str] = runpy.run_path(sys.argv[1])["LV"]
    path = Path(sys.argv[2] if len(sys.argv) > 2 else "locales/lv/LC_MESSAGES/messages.po")
    with path.open("rb") as source:
        catalog = read_po(source)
    for message in catalog:
        if isinstance(message.id, str) and message.id in translations:
            message.string = translations[message.id]
            message.flags.discard("fuzzy")
    with path.open("wb") as target:
        write_po(target, catalog, width=0, sort_by_file=True)


if __name__ == "__main__":
    main()
