"""The command line: outputs, exit codes, redaction in every format, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from analyzer.cli import main
from analyzer.schema import EVENT_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "sample_data" / "quickstart"
# Secrets written into the quickstart logs; none may reach any output.
SECRETS = ("Zx9vQm3kR8tYp2LwN5sJ", "a9F3kLm0Qz7xYt2Vb8Nc", "CODE9f8e7d", "Xy12ab")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_analyze_text_lists_every_source_and_the_timeline() -> None:
    code, out, _ = run("analyze", str(QUICKSTART))
    assert code == 0
    for name in (
        "WXWork_20250531.xlog.log",
        "electron-main.log",
        "netdiag.jsonl",
        "webview-cef.log",
    ):
        assert name in out
    assert "mars_xlog" in out and "gb18030" in out and "utf-16-le (BOM)" in out
    assert "Asia/Shanghai (bundle.json timezone)" in out
    assert "errcode=60020" in out


def test_analyze_json_follows_the_report_contract() -> None:
    code, out, _ = run("analyze", str(QUICKSTART), "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["schema_version"] == 1
    assert report["bundle"]["metadata"]["client_version"] == "4.1.22.6019"
    logs = [s for s in report["sources"] if s["kind"] == "log"]
    assert len(logs) == 4
    for source in report["sources"]:
        assert {"path", "kind", "format", "records", "skipped", "errors", "clock_offset_s"} <= set(
            source
        )
    xlog = next(s for s in logs if s["path"].endswith(".xlog.log"))
    assert xlog["records"] == 13
    assert xlog["unrecognised_first"] == [1]
    assert report["timeline"]["events"] == sum(s["records"] for s in logs)


@pytest.mark.parametrize("fmt", ["text", "json", "md", "html"])
def test_no_secret_in_any_report_format(fmt: str, tmp_path: Path) -> None:
    out_file = tmp_path / f"report.{fmt}"
    code, _, _ = run("analyze", str(QUICKSTART), "--format", fmt, "--output", str(out_file))
    assert code == 0
    text = out_file.read_text(encoding="utf-8")
    assert text
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_no_secret_in_any_event_export(fmt: str, tmp_path: Path) -> None:
    out_file = tmp_path / f"events.{fmt}"
    code, _, _ = run("events", str(QUICKSTART), "--format", fmt, "-o", str(out_file), "-q")
    assert code == 0
    if fmt == "parquet":
        frame = pl.read_parquet(out_file)
        assert frame.schema == pl.Schema(EVENT_SCHEMA)
        text = frame.write_ndjson()
    else:
        text = out_file.read_text(encoding="utf-8")
    assert "<redacted>" in text
    for secret in SECRETS:
        assert secret not in text


def test_no_redact_keeps_secrets_and_says_so_loudly() -> None:
    code, out, err = run("events", str(QUICKSTART), "-o", "-", "--no-redact")
    assert code == 0
    assert SECRETS[0] in out
    assert "--no-redact" in err and "WARNING" in err


def test_jsonl_carries_timesketch_fields() -> None:
    code, out, _ = run("events", str(QUICKSTART), "-o", "-", "-q")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    stamped = [r for r in rows if r["@timestamp"]]
    assert stamped[0]["datetime"] == stamped[0]["@timestamp"]
    assert stamped[0]["datetime"].endswith("+00:00")
    assert {r["timestamp_desc"] for r in rows} == {"Log Time"}
    assert all(r["message"] is not None for r in rows)


def test_missing_path_exits_3_without_traceback(tmp_path: Path) -> None:
    code, out, err = run("analyze", str(tmp_path / "nope"))
    assert code == 3
    assert "Traceback" not in err and err.startswith("loginlens: ")
    assert out == ""


def test_unreadable_inputs_only_exit_3(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 64)
    code, out, err = run("analyze", str(tmp_path))
    assert code == 3
    assert "not a recognised input" in out
    assert "no input could be read" in err


def test_bad_zone_is_a_usage_error() -> None:
    code, _, err = run("analyze", str(QUICKSTART), "--tz", "Mars/Olympus")
    assert code == 2
    assert "unknown time zone" in err


def test_parquet_to_stdout_is_a_usage_error() -> None:
    code, _, _err = run("events", str(QUICKSTART), "--format", "parquet", "-o", "-")
    assert code == 2


def test_every_command_is_documented_with_an_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, command in main.commands.items():  # type: ignore[attr-defined]
        assert f"loginlens {name}" in readme
        assert "Example:" in (command.help or "")


def test_help_does_not_import_heavy_modules() -> None:
    probe = (
        "import sys; from click.testing import CliRunner; from analyzer.cli import main; "
        "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0, r.output; "
        "heavy = [m for m in ('polars', 'scapy', 'textual', 'parsers') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_nul_padded_log_is_read_and_the_padding_counted(tmp_path: Path) -> None:
    log = tmp_path / "crash.log"
    log.write_bytes(b"[2025-05-31 10:00:00.000] [info] up\n" * 100 + b"\0" * 4096 + b"\n")
    code, out, _ = run("analyze", str(log), "--format", "json")
    assert code == 0
    source = json.loads(out)["sources"][0]
    assert source["records"] == 100
    assert source["nul_bytes_removed"] == 4096


def test_reader_closing_the_pipe_is_not_an_error(tmp_path: Path) -> None:
    log = tmp_path / "many.log"
    log.write_text("".join(f"[2025-05-31 10:00:00.000] [info] line {i}\n" for i in range(20_000)))
    script = (
        f"{sys.executable} -m analyzer.cli events {log} -o - -q | head -n 1 >/dev/null; "
        "echo ${PIPESTATUS[0]}"
    )
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "0", result.stderr
    assert "Traceback" not in result.stderr


INTERCEPTED = ROOT / "sample_data" / "bundles" / "network.tls_interception--windows-wired"


@pytest.mark.parametrize("fmt", ["text", "md", "html", "json"])
def test_analyze_lists_capture_failures_with_their_frames(fmt: str) -> None:
    """A capture's failed handshake and alert are named in every format, with the frame
    Wireshark shows them in."""
    code, out, _ = run("analyze", str(INTERCEPTED), "--format", fmt)
    assert code == 0
    if fmt == "json":
        problems = json.loads(out)["timeline"]["network_problems"]
        alert = next(p for p in problems if p["action"] == "tls-alert")
        assert (alert["kind"], alert["record"], alert["count"]) == ("pcap", 13, 1)
        assert "unknown_ca (48) from the client" in alert["example"]
        return
    assert "Network problems" in out
    assert "TLS fatal alert unknown_ca (48) from the client" in out
    assert "capture.pcap frame 13" in out
    assert "issued by Sangfor" in out
    assert "224.0.0.251" not in out  # unanswered mDNS to a group address is no problem
