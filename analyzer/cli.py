"""The ``loginlens`` command line: a thin layer that maps arguments to library calls.

Heavy modules (polars, parsers) are imported inside commands so that
``loginlens --help`` stays instant. Data goes to stdout, diagnostics to stderr.
Exit codes: 0 analysed, 1 --fail-on met (later), 2 usage error, 3 no input read.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from analyzer import __version__

if TYPE_CHECKING:
    from analyzer.intake import BundleFile
    from analyzer.timeline import Timeline

EXIT_NO_INPUT = 3


def _input_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that reads a bundle."""
    func = click.option("--quiet", "-q", is_flag=True, help="No progress or notes on stderr.")(func)
    func = click.option(
        "--no-redact",
        is_flag=True,
        help="Keep secrets (tokens, cookies, passwords) in the output. Only on your own machine.",
    )(func)
    func = click.option(
        "--tz",
        metavar="ZONE",
        help="IANA zone for timestamps written without one (overrides bundle.json).",
    )(func)
    return click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="loginlens")
def main() -> None:
    """Tell why a user cannot log in, from client logs, HAR files and packet captures.

    PATH may be a directory, an archive (.zip, .tar, .tar.gz, ...), compressed
    files (.gz, .zst) or single files; inputs are recognised by content.
    """


@main.command()
@_input_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "md", "html"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write the report here.")
def analyze(
    paths: tuple[Path, ...],
    tz: str | None,
    no_redact: bool,
    quiet: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """Analyse a bundle and print what was read and what the timeline shows.

    \b
    Example:
      loginlens analyze ticket-4711.zip
      loginlens analyze logs/ capture.pcapng --tz Asia/Shanghai --format json -o report.json
    """
    from analyzer.report import build_report, render

    timeline = _load(paths, tz, no_redact, quiet)
    _emit(render(build_report(timeline), fmt), output)
    _exit_if_nothing_read(timeline)


@main.command()
@_input_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    required=True,
    help="File to write ('-' for stdout with jsonl or csv).",
)
def events(
    paths: tuple[Path, ...], tz: str | None, no_redact: bool, quiet: bool, fmt: str, output: Path
) -> None:
    """Write the normalised event timeline for other tools (DuckDB, pandas, Timesketch).

    \b
    Example:
      loginlens events bundle/ --format parquet -o timeline.parquet
      loginlens events app.log --format jsonl -o - | jq .message
    """
    from analyzer.export import write_events

    if str(output) == "-" and fmt == "parquet":
        raise click.UsageError("parquet cannot go to stdout; give --output FILE")
    timeline = _load(paths, tz, no_redact, quiet)
    try:
        write_events(timeline.events, fmt, None if str(output) == "-" else output)
    except BrokenPipeError:
        _reader_went_away()
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}", 2)
    if not quiet and str(output) != "-":
        click.echo(f"wrote {timeline.events.height:,} events to {output}", err=True)
    _exit_if_nothing_read(timeline)


def _load(paths: tuple[Path, ...], tz: str | None, no_redact: bool, quiet: bool) -> Timeline:
    from analyzer.intake import IntakeError
    from analyzer.timeline import UsageError, load_timeline

    if no_redact and not quiet:
        click.secho(
            "WARNING: --no-redact: secrets (tokens, cookies, passwords) are left in the "
            "output. Do not share it.",
            fg="red",
            bold=True,
            err=True,
        )
    progress = _Progress(enabled=not quiet and sys.stderr.isatty())
    try:
        timeline = load_timeline(paths, tz=tz, progress=progress.update, redact=not no_redact)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    except IntakeError as exc:
        _fail(str(exc), EXIT_NO_INPUT)
    finally:
        progress.close()
    return timeline


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        try:
            click.echo(text, nl=False)
        except BrokenPipeError:
            _reader_went_away()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}", 2)


def _exit_if_nothing_read(timeline: Timeline) -> None:
    if not any(source.records for source in timeline.sources):
        _fail("no input could be read (see the sources above for why)", EXIT_NO_INPUT)


def _reader_went_away() -> None:
    """The reader of stdout closed it (``| head``): stop quietly, as Unix filters do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def _fail(message: str, code: int) -> None:
    click.secho(f"loginlens: {message}", fg="red", err=True)
    sys.exit(code)


class _Progress:
    """One progress line on stderr, shown only for work that takes over half a second."""

    DELAY_S = 0.5
    WIDTH = 30

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.shown = False
        self._before: list[int] = []  # bytes of the files before each one

    def update(self, index: int, files: list[BundleFile], stage: str | None = None) -> None:
        if not self.enabled or time.monotonic() - self.started < self.DELAY_S:
            return
        if len(self._before) != len(files) + 1:
            self._before = [0]
            for file in files:
                self._before.append(self._before[-1] + file.size)
        done = self.WIDTH * self._before[index] // max(self._before[-1], 1)
        name = files[index].display
        name = name if len(name) < 50 else "…" + name[-49:]
        bar = "#" * done + "." * (self.WIDTH - done)
        what = f" · {stage}" if stage else ""
        sys.stderr.write(f"\r\x1b[2K[{bar}] {index + 1}/{len(files)} {name}{what}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


if __name__ == "__main__":
    main()
