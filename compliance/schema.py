"""Every layer's tables, registered by the programs that open the database (CLI, API, tests).

The store knows only its own tables (compliance/store/models.py); the rules, orders and api
layers declare theirs beside their code. `get_engine` creates the tables registered when it
runs, so a program calls `register_tables()` first; the store never imports the layers built on
it. A library entry point below the top layers registers only its own layer's tables (see
compliance/orders/run.py).
"""

from __future__ import annotations

from compliance.store.db import register_models

RULES_TABLES = "compliance.rules.models"
ORDERS_TABLES = "compliance.orders.models"
API_TABLES = "compliance.api.models"


def register_tables() -> None:
    """Register every layer's tables (module names only: nothing is imported until the schema
    is checked)."""
    register_models(RULES_TABLES, ORDERS_TABLES, API_TABLES)
