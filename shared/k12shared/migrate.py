"""The prestart step: bring the database to head. ``python -m k12shared.migrate [upgrade|check|heads]``."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from k12shared.settings import REPO_ROOT


def alembic_config(database_url: str | None = None) -> Config:
    ini = REPO_ROOT / "alembic.ini"
    config = Config(str(ini)) if ini.exists() else Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url)
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"expected exactly one migration head, found {heads}")
    return heads[0]


def upgrade(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "upgrade"
    config = alembic_config()
    if action == "upgrade":
        command.upgrade(config, "head")
    elif action == "check":
        command.check(config)
    elif action == "heads":
        print(head_revision())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
