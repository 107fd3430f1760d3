"""Every layer's tables, registered by the programs that open the database (CLI, tests, tools).

The store knows only its own tables (compliance/store/models.py); the rules and orders layers
declare theirs beside their code. `get_engine` creates the tables registered when it runs, so a
program calls `register_tables()` first; the store never imports the layers built on it.
"""

from __future__ import annotations


def register_tables() -> None:
    from compliance.api import models as _api  # noqa: F401
    from compliance.orders import models as _orders  # noqa: F401
    from compliance.rules import models as _rules  # noqa: F401
    from compliance.store import models as _store  # noqa: F401
