"""The HAR 1.2 spec's required members and types, as a checker for generated and real HARs."""

from __future__ import annotations

import re
from typing import Any

# Required members and their JSON types, from the HAR 1.2 spec (W3C draft, Jan Odvarko).
NUMBER = (int, float)
SPEC: dict[str, dict[str, type | tuple[type, ...]]] = {
    "log": {"version": str, "creator": dict, "entries": list},
    "creator": {"name": str, "version": str},
    "page": {"startedDateTime": str, "id": str, "title": str, "pageTimings": dict},
    "entry": {"startedDateTime": str, "time": NUMBER, "request": dict, "response": dict,
              "cache": dict, "timings": dict},
    "request": {"method": str, "url": str, "httpVersion": str, "cookies": list, "headers": list,
                "queryString": list, "headersSize": int, "bodySize": int},
    "response": {"status": int, "statusText": str, "httpVersion": str, "cookies": list,
                 "headers": list, "content": dict, "redirectURL": str, "headersSize": int,
                 "bodySize": int},
    "content": {"size": int, "mimeType": str},
    "pair": {"name": str, "value": str},
    "cookie": {"name": str, "value": str},
    "postData": {"mimeType": str},
    "timings": {"send": NUMBER, "wait": NUMBER, "receive": NUMBER},
}  # fmt: skip
OPTIONAL_TIMINGS = ("blocked", "dns", "connect", "ssl")
ISO_8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$")


def har_problems(doc: Any) -> list[str]:
    """Every way ``doc`` breaks the HAR 1.2 spec's required fields and types."""
    problems: list[str] = []

    def check(obj: Any, kind: str, where: str) -> bool:
        if not isinstance(obj, dict):
            problems.append(f"{where}: {kind} is not an object")
            return False
        for key, types in SPEC[kind].items():
            value = obj.get(key)
            if key not in obj:
                problems.append(f"{where}: {kind} lacks {key}")
            elif isinstance(value, bool) or not isinstance(value, types):
                problems.append(f"{where}.{key}: {type(value).__name__} is not {types}")
        return True

    if not isinstance(doc, dict) or not check(doc.get("log"), "log", "log"):
        return problems or ["no log object"]
    log = doc["log"]
    if log["version"] != "1.2":
        problems.append(f"log.version {log['version']!r}")
    check(log["creator"], "creator", "log.creator")
    if "browser" in log:
        check(log["browser"], "creator", "log.browser")
    page_ids = set()
    for i, page in enumerate(log.get("pages", [])):
        if check(page, "page", f"pages[{i}]"):
            page_ids.add(page.get("id"))
            if not ISO_8601.match(str(page.get("startedDateTime"))):
                problems.append(f"pages[{i}].startedDateTime not ISO 8601")
    for i, entry in enumerate(log["entries"]):
        where = f"entries[{i}]"
        if not check(entry, "entry", where):
            continue
        if not ISO_8601.match(str(entry["startedDateTime"])):
            problems.append(f"{where}.startedDateTime not ISO 8601")
        if "pageref" in entry and entry["pageref"] not in page_ids:
            problems.append(f"{where}.pageref names no page")
        for part in ("request", "response"):
            message = entry.get(part)
            if not check(message, part, f"{where}.{part}"):
                continue
            for key in ("headers", "cookies", "queryString"):
                for j, item in enumerate(message.get(key, [])):
                    check(
                        item, "cookie" if key == "cookies" else "pair", f"{where}.{part}.{key}[{j}]"
                    )
        if isinstance(entry["response"].get("content"), dict):
            check(entry["response"]["content"], "content", f"{where}.response.content")
        if "postData" in entry["request"]:
            check(entry["request"]["postData"], "postData", f"{where}.request.postData")
        timings = entry["timings"]
        if check(timings, "timings", f"{where}.timings"):
            for key in (*SPEC["timings"], *OPTIONAL_TIMINGS):
                value = timings.get(key, -1)
                if not isinstance(value, NUMBER) or (value < 0 and value != -1):
                    problems.append(f"{where}.timings.{key} = {value!r}")
            for key in SPEC["timings"]:
                if timings.get(key, 0) == -1:
                    problems.append(f"{where}.timings.{key} may not be -1")
    return problems
