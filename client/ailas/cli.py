"""`ailas`: the command-line client."""

from __future__ import annotations

import click


@click.group()
@click.version_option("0.1.0", prog_name="ailas")
def main() -> None:
    """AILAS Fair-Trade Voice Registry client."""


if __name__ == "__main__":
    main()
