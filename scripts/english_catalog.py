"""Fill the English catalog: the message ids are English, so each translation is its id."""

from __future__ import annotations

import sys

from babel.messages.pofile import read_po, write_po


def main(path: str) -> None:
    with open(path, "rb") as source:
        catalog = read_po(source, locale="en")
    for message in catalog:
        if message.id:
            message.string = message.id
        message.flags.discard("fuzzy")
    with open(path, "wb") as target:
        write_po(target, catalog, width=0, omit_header=False)


if __name__ == "__main__":
    main(sys.argv[1])
