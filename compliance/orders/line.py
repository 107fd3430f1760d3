"""The order schema: one order line as the checks read it. The reader's target fields (the
names a file's columns map to) are this class's fields, so the schema is written once."""

from __future__ import annotations

from dataclasses import dataclass, fields

from compliance.orders.reasons import Party

PARTY_FIELDS = ("customer", "end_user")  # each with its `<role>_country`


@dataclass
class OrderLine:
    line: int  # where it is in the file (not a column)
    order_id: str
    customer: str = ""
    customer_country: str = ""
    end_user: str = ""
    end_user_country: str = ""
    end_user_hq: str = ""
    destination: str = ""
    item: str = ""
    quantity: str = ""

    def parties(self) -> list[Party]:
        out: list[Party] = []
        for role in PARTY_FIELDS:
            name = getattr(self, role).strip()
            if name:
                country = getattr(self, f"{role}_country")
                out.append({"role": role, "name": name, "country": country})
        return out


# The fields an order file's columns map to, in the order help and errors list them.
FIELDS: tuple[str, ...] = tuple(f.name for f in fields(OrderLine) if f.name != "line")
