"""What the ``sagestack`` command modules share: their consoles and option parsing."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    """``key=value`` options, failing with the offending value named."""
    pairs = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{what} must look like key=value, got {item!r}")
        pairs.append((key, value))
    return pairs


def require_local(local: bool) -> None:
    if not local:
        err_console.print(
            "[red]Only --local is implemented by the CLI; use the SDK (or the deployed "
            "stacks) to run on SageMaker.[/red]"
        )
        raise typer.Exit(2)
