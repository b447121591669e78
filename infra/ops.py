"""Operator commands, run against the stage named by AILAS_STAGE with the caller's AWS
credentials (or the local stack, when AILAS_AWS_ENDPOINT_URL points at it).

    python -m infra.ops bootstrap-operator --name "…" --email ops@example.org
    python -m infra.ops verify-audit [--chain audit|public]
"""

from __future__ import annotations

import sys

import click

from shared import audit


@click.group()
def cli() -> None:
    """AILAS operator commands."""


@cli.command("bootstrap-operator")
@click.option("--name", required=True)
@click.option("--email", required=True)
def bootstrap_operator(name: str, email: str) -> None:
    """Create an operator; its token is printed once and stored only as a hash."""
    from shared.members.operators import create_operator

    operator, token = create_operator(name, email)
    click.echo(f"operator {operator['member_id']} created.")
    click.echo(f"token (shown once, keep it in a password manager): {token}")


@cli.command("verify-audit")
@click.option("--chain", type=click.Choice([audit.AUDIT, audit.PUBLIC]), default=audit.AUDIT)
def verify_audit(chain: str) -> None:
    """Recompute the hash chain; exit 1 and name the first broken link if there is one."""
    result = audit.verify(chain)
    if result.ok:
        click.echo(f"{chain} chain intact: {result.checked} entries verified.")
        return
    click.echo(
        f"{chain} chain BROKEN at entry {result.broken_at}: {result.reason} "
        f"({result.checked} entries read).",
        err=True,
    )
    sys.exit(1)


if __name__ == "__main__":
    cli()
