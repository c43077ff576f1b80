"""Fill a catalog's translations from a Python file holding a dict named after the catalog's
language in capitals (LV, RU, ...): {msgid: msgstr}, and for a plural message {singular msgid:
(form, form, ...)} with as many forms as the catalog's Plural-Forms header asks for.

Usage: python scripts/fill_catalog.py TRANSLATIONS.py [locales/lv/LC_MESSAGES/messages.po]
Entries it names lose their fuzzy mark; the others are left as they are."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def main() -> None:
    path = Path(sys.argv[2] if len(sys.argv) > 2 else "locales/lv/LC_MESSAGES/messages.po")
    locale = path.parent.parent.name
    translations: dict[str, str | tuple[str, ...]] = runpy.run_path(sys.argv[1])[locale.upper()]
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    for message in catalog:
        singular = message.id[0] if isinstance(message.id, tuple) else message.id
        if not singular or singular not in translations:
            continue
        string = translations[singular]
        plural = isinstance(message.id, tuple)
        if plural != isinstance(string, tuple) or (plural and len(string) != catalog.num_plurals):
            forms = catalog.num_plurals if plural else 1
            sys.exit(f"{path}: {singular!r} needs {forms} form(s), the file gives {string!r}")
        message.string = string
        message.flags.discard("fuzzy")
        message.previous_id = []
    with path.open("wb") as target:
        write_po(target, catalog, width=0, sort_by_file=True)


if __name__ == "__main__":
    main()
