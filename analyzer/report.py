"""Render an analysis as JSON, text, Markdown or HTML from one report dictionary."""

from __future__ import annotations

import html
import json
from typing import Any

from analyzer import __version__
from analyzer.streams import human_size
from analyzer.summary import summarize
from analyzer.timeline import Timeline
from parsers.text import printable

SCHEMA_VERSION = 1
FORMATS = ("text", "json", "md", "html")


def build_report(timeline: Timeline) -> dict[str, Any]:
    """The report dictionary; its JSON form follows the contract in DESIGN.md."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"loginlens {__version__}",
        "bundle": {
            "path": timeline.inputs[0] if len(timeline.inputs) == 1 else ", ".join(timeline.inputs),
            "paths": timeline.inputs,
            "metadata": timeline.metadata,
        },
        "timeline": summarize(timeline.events),
        "sources": [source.to_json() for source in timeline.sources],
        "notes": timeline.notes,
    }


def render(report: dict[str, Any], fmt: str) -> str:
    """Render ``report`` in ``fmt`` (one of ``FORMATS``)."""
    if fmt == "json":
        return json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n"
    if fmt == "md":
        return _markdown(report)
    if fmt == "html":
        return _html(report)
    return _text(report)


def _source_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for source in report["sources"]:
        rows.append(
            [
                source["path"],
                source["kind"],
                source.get("format") or "-",
                f"{source['records']:,}",
                f"{source['skipped']:,}",
                f"{source.get('errors_total', 0):,}",
                source.get("encoding", "-"),
                human_size(source["bytes"]),
                f"{source['seconds']:.2f}s",
            ]
        )
    return rows


_SOURCE_HEADER = [
    "source",
    "kind",
    "format",
    "records",
    "skipped",
    "issues",
    "encoding",
    "size",
    "time",
]
_NUMERIC_COLUMNS = {3, 4, 5, 7, 8}


def _count(number: int, noun: str) -> str:
    """``1 record``, ``2 records``."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _source_notes(source: dict[str, Any]) -> list[str]:
    """Human sentences about what was assumed or lost for one source."""
    notes = []
    stamps = source.get("timestamps") or {}
    reference = stamps.get("reference")
    if stamps.get("zone_used"):
        notes.append(f"{_count(stamps['naive'], 'naive timestamp')} read as {stamps['zone_used']}")
    if stamps.get("year_inferred"):
        notes.append(
            f"year inferred for {_count(stamps['year_inferred'], 'record')} from {reference}"
        )
    if stamps.get("date_inferred"):
        count = _count(stamps["date_inferred"], "time-only record")
        notes.append(f"date inferred for {count} from {reference}")
    if stamps.get("missing"):
        notes.append(f"{_count(stamps['missing'], 'record')} without a usable timestamp")
    if source.get("unrecognised_lines"):
        count = source["unrecognised_lines"]
        first = ", ".join(str(n) for n in source.get("unrecognised_first", []))
        more = ", …" if count > 10 else ""
        where = f"line{'s' if count > 1 else ''} {first}{more}"
        notes.append(f"{_count(count, 'line')} matched no format, kept as raw events ({where})")
    if source.get("multiline_records"):
        notes.append(_count(source["multiline_records"], "multi-line record"))
    unit = {"pcap": "frame", "pcapng": "frame", "har": "entry", "netlog": "event"}.get(
        source["kind"], "record"
    )
    for error in source["errors"]:
        where = f"{unit} {error['record']}: " if error["record"] is not None else ""
        notes.append(f"{where}{error['reason']}")
    hidden = source.get("errors_total", 0) - len(source["errors"])
    if hidden > 0:
        notes.append(f"… and {_count(hidden, 'more issue')}")
    return notes


def _timeline_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    if summary["first"]:
        lines.append(
            f"span {summary['first']} → {summary['last']} ({_duration(summary['span_s'])})"
        )
    lines.append(
        f"{summary['events']:,} events, {summary['with_timestamp']:,} with a timestamp, "
        f"from {_count(len(summary['by_source']), 'source')}"
    )
    if summary["levels"]:
        lines.append("levels: " + " · ".join(f"{k} {v:,}" for k, v in summary["levels"].items()))
    return lines


def _metadata_line(metadata: dict[str, Any]) -> str:
    keys = (
        "user",
        "device_id",
        "client",
        "client_version",
        "os",
        "os_version",
        "network",
        "region",
        "timezone",
        "collected_at",
    )
    return ", ".join(f"{key}={metadata[key]}" for key in keys if metadata.get(key))


def _text(report: dict[str, Any]) -> str:
    out = [f"{report['generator']} · bundle {report['bundle']['path']}"]
    meta = _metadata_line(report["bundle"]["metadata"])
    if meta:
        out.append(f"metadata: {meta}")
    out += ["", "Sources"]
    out += _table(_SOURCE_HEADER, _source_rows(report), indent="  ")
    for source in report["sources"]:
        notes = _source_notes(source)
        if notes:
            out.append(f"  {source['path']}:")
            out += [f"    - {note}" for note in notes]
    for note in report["notes"]:
        out.append(f"  note: {note}")
    summary = report["timeline"]
    out += ["", "Timeline"] + [f"  {line}" for line in _timeline_lines(summary)]
    if summary["top_errors"]:
        out += ["", "Top errors and warnings"]
        for item in summary["top_errors"]:
            out.append(f"  {item['count']:>6,}× [{item['level']}] {printable(item['template'])}")
            out.append(f"          first at {item['source']}:{item['record']}")
    if summary.get("network_problems"):
        out += ["", "Network problems"]
        for item in summary["network_problems"]:
            out.append(f"  {item['count']:>6,}× [{item['action']}] {printable(item['example'])}")
            out.append(f"          first at {_where(item)}")
    return "\n".join(out) + "\n"


def _where(item: dict[str, Any]) -> str:
    """Where a problem was first seen: a log line, a capture frame, a HAR entry."""
    unit = {"pcap": "frame", "har": "entry", "netlog": "event"}.get(str(item.get("kind")))
    if unit:
        return f"{item['source']} {unit} {item['record']}"
    return f"{item['source']}:{item['record']}"


def _markdown(report: dict[str, Any]) -> str:
    out = [f"# loginlens report: `{report['bundle']['path']}`", ""]
    meta = _metadata_line(report["bundle"]["metadata"])
    if meta:
        out += [f"Metadata: {meta}", ""]
    out += [
        "## Sources",
        "",
        "| " + " | ".join(_SOURCE_HEADER) + " |",
        "|" + "---|" * len(_SOURCE_HEADER),
    ]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in _source_rows(report)]
    for source in report["sources"]:
        notes = _source_notes(source)
        if notes:
            out += ["", f"**{_md_cell(source['path'])}**", ""] + [f"- {_md_cell(n)}" for n in notes]
    out += ["", "## Timeline", ""] + [f"- {line}" for line in _timeline_lines(report["timeline"])]
    if report["timeline"]["top_errors"]:
        out += [
            "",
            "## Top errors and warnings",
            "",
            "| count | level | message | first at |",
            "|---:|---|---|---|",
        ]
        for item in report["timeline"]["top_errors"]:
            out.append(
                f"| {item['count']:,} | {item['level']} | {_md_cell(item['template'])} | "
                f"{_md_cell(str(item['source']))}:{item['record']} |"
            )
    if report["timeline"].get("network_problems"):
        out += ["", "## Network problems", "", "| count | event | message | first at |"]
        out.append("|---:|---|---|---|")
        for item in report["timeline"]["network_problems"]:
            out.append(
                f"| {item['count']:,} | {item['action']} | {_md_cell(item['example'])} | "
                f"{_md_cell(_where(item))} |"
            )
    return "\n".join(out) + "\n"


def _html(report: dict[str, Any]) -> str:
    esc = html.escape
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td class=n>{esc(c)}</td>" if i in _NUMERIC_COLUMNS else f"<td>{esc(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in _source_rows(report)
    )
    notes = "".join(
        f"<h3>{esc(path)}</h3><ul>" + "".join(f"<li>{esc(n)}</li>" for n in items) + "</ul>"
        for path, items in ((s["path"], _source_notes(s)) for s in report["sources"])
        if items
    )
    timeline = "".join(f"<li>{esc(line)}</li>" for line in _timeline_lines(report["timeline"]))
    errors = "".join(
        f"<tr><td class=n>{i['count']:,}</td><td>{esc(str(i['level']))}</td>"
        f"<td><code>{esc(str(i['template']))}</code></td>"
        f"<td>{esc(str(i['source']))}:{i['record']}</td></tr>"
        for i in report["timeline"]["top_errors"]
    )
    network = "".join(
        f"<tr><td class=n>{i['count']:,}</td><td>{esc(str(i['action']))}</td>"
        f"<td><code>{esc(str(i['example']))}</code></td><td>{esc(_where(i))}</td></tr>"
        for i in report["timeline"].get("network_problems", [])
    )
    if network:
        network = (
            "<h2>Network problems</h2><table><tr><th>count</th><th>event</th><th>message</th>"
            f"<th>first at</th></tr>{network}</table>"
        )
    meta = esc(_metadata_line(report["bundle"]["metadata"]))
    header = "".join(f"<th>{h}</th>" for h in _SOURCE_HEADER)
    path = esc(report["bundle"]["path"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>loginlens · {path}</title>
<style>
body{{font:14px/1.45 system-ui,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",
  "WenQuanYi Zen Hei",sans-serif;margin:2em auto;max-width:72em;color:#222;
  padding:0 1em}}
table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}
th{{background:#f3f3f3}} td.n{{text-align:right}} code{{font-size:13px}}
td code{{overflow-wrap:anywhere}}
h3{{font-size:14px;margin:1em 0 .2em}}
</style></head><body>
<h1>loginlens report</h1><p><code>{esc(report["bundle"]["path"])}</code><br>{meta}</p>
<h2>Sources</h2><table><tr>{header}</tr>{rows}</table>
{notes}
<h2>Timeline</h2><ul>{timeline}</ul>
<h2>Top errors and warnings</h2>
<table><tr><th>count</th><th>level</th><th>message</th><th>first at</th></tr>{errors}</table>
{network}
<p><small>{esc(report["generator"])}</small></p>
</body></html>
"""


def _table(header: list[str], rows: list[list[str]], indent: str = "") -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return (
            indent
            + "  ".join(
                str(c).rjust(w) if i in _NUMERIC_COLUMNS else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()
        )

    return [line(header)] + [line(r) for r in rows]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(parts) + f"{secs}s"
