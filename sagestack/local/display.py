"""Live console view of a training job: its log lines above a boosting-rounds progress bar."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


class JobDisplay:
    """Prints each log line as it arrives and keeps a progress bar pinned below them.

    The total is the planned ``num_round`` when known; a job that stops early (early
    stopping) shows where it stopped, e.g. 60/300. ``count_rounds=False`` (code whose log has
    no boosting rounds, such as a custom model) shows only the time elapsed, not a count that
    would stay at 0/? or read a stray line as a round.
    """

    def __init__(
        self,
        job_name: str,
        total_rounds: int | None,
        console: Console | None = None,
        *,
        count_rounds: bool = True,
    ) -> None:
        self.console = console or Console()
        columns = (
            (BarColumn(), MofNCompleteColumn(), TextColumn("rounds"))
            if count_rounds
            else (TextColumn("running, elapsed"),)
        )
        self._count_rounds = count_rounds
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            *columns,
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._task = self._progress.add_task(job_name, total=total_rounds)

    def __enter__(self) -> JobDisplay:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def line(self, text: str, host: str | None = None) -> None:
        """Show one log line (verbatim: no markup, no highlighting)."""
        shown = Text(f"{host} | " if host else "", style="dim")
        shown.append_text(Text.from_ansi(text.rstrip("\n")))
        self._progress.console.print(shown, markup=False, highlight=False, soft_wrap=True)

    def rounds(self, done: int) -> None:
        if self._count_rounds:
            self._progress.update(self._task, completed=done)

    def finish(self, done: int) -> None:
        """Stop the bar where the job stopped; early stopping leaves it short of the plan."""
        if not self._count_rounds:
            return
        task = self._progress.tasks[0]
        self._progress.update(self._task, completed=done, total=task.total or done or None)
