"""The build puts the coaching dialogs and the compiled catalogs inside the package
(bot/dialogs, bot/locales), so that an installed bot finds them wherever it is installed
(bot/config.py, ``bundled``). An editable install reads dialogs/ and locales/ in place."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithData(build_py):
    def run(self) -> None:
        if not self.editable_mode:
            # A file since removed from the source (a migration renamed) must not stay in
            # the package from an earlier build in the same tree.
            shutil.rmtree(Path(self.build_lib) / "bot", ignore_errors=True)
        super().run()
        if self.editable_mode:
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        package = Path(self.build_lib) / "bot"
        dialogs = package / "dialogs"
        dialogs.mkdir(parents=True, exist_ok=True)
        for source in sorted((HERE / "dialogs").glob("*.yaml")):
            self.copy_file(str(source), str(dialogs / source.name))
        for po in sorted((HERE / "locales").glob("*/LC_MESSAGES/messages.po")):
            locale = po.parent.parent.name
            mo = package / "locales" / locale / "LC_MESSAGES" / "messages.mo"
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as file:
                catalog = read_po(file, locale=locale)
            with mo.open("wb") as file:
                write_mo(file, catalog)


setup(cmdclass={"build_py": BuildWithData})
