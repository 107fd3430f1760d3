"""`compliance keys create NAME | revoke NAME | list`: API keys for `compliance serve`."""

from __future__ import annotations

from typing import Annotated

import typer

from compliance.cli.common import DbOption, OutputFormat, engine_for, fail, print_json, print_table

keys_app = typer.Typer(
    help="API keys for `compliance serve` (stored hashed).", no_args_is_help=True
)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key.")],
    admin: Annotated[bool, typer.Option("--admin", help="May call /v1/admin/reload.")] = False,
    db: DbOption = None,
) -> None:
    """Create a key; its token is printed once and never stored in clear."""
    from compliance.api.keys import ApiKeyError, create_key

    try:
        token = create_key(engine_for(db), name, admin=admin)
    except ApiKeyError as exc:
        fail(str(exc))
    typer.echo(token)
    typer.echo(
        f"key {name!r} created{' (admin)' if admin else ''}; the token above is shown "
        "only now: send it as 'Authorization: Bearer <token>'",
        err=True,
    )


@keys_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument()], db: DbOption = None) -> None:
    """Revoke NAME's key: requests with it are refused from then on."""
    from compliance.api.keys import revoke_key

    if not revoke_key(engine_for(db), name):
        fail(f"no active key named {name!r}")
    typer.echo(f"revoked key {name!r}")


@keys_app.command("list")
def list_(
    format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """The keys: name, token prefix, admin, created, revoked."""
    from compliance.api.keys import list_keys

    rows = [
        {
            "name": k.name,
            "prefix": k.prefix,
            "admin": k.admin,
            "created_at": k.created_at.isoformat(timespec="seconds"),
            "revoked_at": k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else None,
        }
        for k in list_keys(engine_for(db))
    ]
    if format == OutputFormat.json:
        print_json(rows)
        return
    print_table(
        ["name", "token prefix", "admin", "created", "revoked"],
        [
            [
                r["name"],
                f"{r['prefix']}...",
                "yes" if r["admin"] else "",
                r["created_at"],
                r["revoked_at"] or "",
            ]
            for r in rows
        ],
    )


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
