"""Render a drift report as text, JSON, Markdown (a pull-request comment) or GitHub Actions annotations."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from codegen.drift.changes import Comparison
from codegen.drift.compare import SEVERITIES, Change
from codegen.drift.impact import Impact

FORMATS = ("text", "json", "markdown", "github")
FAIL_ON = ("breaking", "warning", "any", "never")
REPORT_VERSION = 1
_GITHUB_LEVEL = {"breaking": "error", "warning": "warning", "info": "notice"}


@dataclass(frozen=True)
class DriftReport:
    """The comparison, its impact, and the exit code `--fail-on` gives it."""

    candidate: str
    comparison: Comparison
    impact: Impact | None
    fail_on: str

    @property
    def changes(self) -> list[Change]:
        """Every change, breaking first."""
        return self.comparison.changes

    @property
    def counts(self) -> dict[str, int]:
        """Changes per severity."""
        found = Counter(c.severity for c in self.changes)
        return {severity: found.get(severity, 0) for severity in SEVERITIES}

    @property
    def exit_code(self) -> int:
        """1 when a change at or above the `--fail-on` severity was found, else 0."""
        if self.fail_on == "never":
            return 0
        levels = SEVERITIES if self.fail_on == "any" else SEVERITIES[: SEVERITIES.index(self.fail_on) + 1]
        return 1 if any(c.severity in levels for c in self.changes) else 0


def render(report: DriftReport, fmt: str) -> str:
    """The report in one of FORMATS."""
    return {"text": as_text, "json": as_json, "markdown": as_markdown, "github": as_github}[fmt](report)


def as_data(report: DriftReport) -> dict[str, Any]:
    """The documented JSON shape (see README, "Schema drift")."""
    impact = report.impact
    return {
        "version": REPORT_VERSION,
        "candidate": report.candidate,
        "compared": report.comparison.compared,
        "skipped": [{"document": path, "reason": why} for path, why in report.comparison.skipped],
        "summary": report.counts,
        "changes": [c.as_json() for c in report.changes],
        "impact": None if impact is None else _impact_data(impact),
        "fail_on": report.fail_on,
        "exit_code": report.exit_code,
    }


def as_json(report: DriftReport) -> str:
    """JSON, indented, keys in a stable order."""
    return json.dumps(as_data(report), indent=2, ensure_ascii=False)


def as_text(report: DriftReport) -> str:
    """Readable lines grouped by document."""
    lines: list[str] = []
    current = None
    for change in sorted(report.changes, key=lambda c: (c.provider, c.document, SEVERITIES.index(c.severity))):
        if change.document != current:
            current = change.document
            lines.append(f"{change.provider}  {change.document}")
        used = f"  [{', '.join(change.operations)}]" if change.operations else ""
        lines.append(f"  {change.severity.upper():<8} {change.rule}  {change.pointer or '/'}")
        lines.append(f"           {change.message}{used}")
    if not report.changes:
        lines.append(f"no changes in {len(report.comparison.compared)} document(s)")
    for path, why in report.comparison.skipped:
        lines.append(f"not compared: {path} ({why})")
    lines += _impact_lines(report.impact)
    counts = report.counts
    lines.append(
        f"summary: {counts['breaking']} breaking, {counts['warning']} warning, {counts['info']} info"
        f" — exit {report.exit_code} (--fail-on {report.fail_on})"
    )
    return "\n".join(lines)


def as_markdown(report: DriftReport) -> str:
    """A pull-request comment: summary, changes by severity, impact, fixtures."""
    counts = report.counts
    out = [
        "## Provider schema drift",
        "",
        f"Compared {len(report.comparison.compared)} vendored document(s) with `{report.candidate}`: "
        f"**{counts['breaking']} breaking**, {counts['warning']} warning, {counts['info']} info.",
        "",
    ]
    impact = report.impact
    if impact is not None:
        version = f" ({impact.version} → {impact.next_version})" if impact.version else ""
        out += [f"SDK semver bump: **{impact.semver}**{version}.", ""]
    for severity in SEVERITIES:
        changes = [c for c in report.changes if c.severity == severity]
        if not changes:
            continue
        rows = [_markdown_row(c) for c in changes]
        table = ["| provider | rule | where | change | SDK methods |", "|---|---|---|---|---|", *rows]
        title = f"{severity.capitalize()} ({len(changes)})"
        if severity == "info":
            out += ["<details><summary>" + title + "</summary>", "", *table, "", "</details>", ""]
        else:
            out += [f"### {title}", "", *table, ""]
    if impact is not None:
        if impact.generation_error is not None:
            out += [
                "### Generation",
                "",
                f"The SDK cannot be generated from the candidates: `{impact.generation_error}`",
                "",
            ]
        if impact.surface:
            out += ["### Generated code", "", "| change | symbol | detail | bump |", "|---|---|---|---|"]
            out += [f"| {s.change} | `{s.symbol}` | {_md(s.detail)} | {s.bump} |" for s in impact.surface]
            out.append("")
        if impact.fixtures:
            out += [f"### Recorded fixtures that would break ({len(impact.fixtures)} of {impact.fixtures_checked})", ""]
            out += [f"- {_md(problem)}" for f in impact.fixtures for problem in f.problems]
            out.append("")
    if not report.changes:
        out += ["No changes.", ""]
    return "\n".join(out)


def as_github(report: DriftReport) -> str:
    """One GitHub Actions workflow command per change (error, warning or notice on the vendored file)."""
    lines = []
    for c in report.changes:
        message = f"{c.message} ({c.pointer or '/'})" + (f" — {', '.join(c.operations)}" if c.operations else "")
        file = f"file={_escape_property(c.document)}," if c.document else ""
        lines.append(f"::{_GITHUB_LEVEL[c.severity]} {file}title={_escape_property(c.rule)}::{_escape_data(message)}")
    impact = report.impact
    if impact is not None:
        for f in impact.fixtures:
            for problem in f.problems:
                lines.append(f"::error title=fixture would break::{_escape_data(problem)}")
        lines.append(f"::notice title=SDK semver bump::{impact.semver}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- internals
def _impact_data(impact: Impact) -> dict[str, Any]:
    return {
        "semver": impact.semver,
        "version": impact.version,
        "next_version": impact.next_version,
        "generation_error": None if impact.generation_error is None else str(impact.generation_error),
        "generated": [
            {"change": s.change, "symbol": s.symbol, "detail": s.detail, "bump": s.bump} for s in impact.surface
        ],
        "files": impact.files,
        "fixtures_checked": impact.fixtures_checked,
        "fixtures": [{"fixture": f.fixture, "problems": list(f.problems)} for f in impact.fixtures],
    }


def _impact_lines(impact: Impact | None) -> list[str]:
    if impact is None:
        return []
    version = f" ({impact.version} → {impact.next_version})" if impact.version else ""
    lines = [f"impact: SDK semver {impact.semver}{version}"]
    if impact.generation_error is not None:
        lines.append(f"  the SDK cannot be generated from the candidates: {impact.generation_error}")
    for s in impact.surface:
        lines.append(f"  {s.change:<16} {s.symbol}  {s.detail}")
    if impact.files and not impact.surface:
        lines.append(f"  {len(impact.files)} generated file(s) change, no public class, field or method")
    if impact.fixtures:
        lines.append(f"fixtures that would break: {len(impact.fixtures)} of {impact.fixtures_checked}")
        for f in impact.fixtures:
            lines += [f"  {problem}" for problem in f.problems]
    elif impact.fixtures_checked:
        lines.append(f"fixtures: all {impact.fixtures_checked} still match the candidate schemas")
    return lines


def _markdown_row(c: Change) -> str:
    where = f"`{c.document}#{c.pointer}`"
    return f"| {c.provider} | `{c.rule}` | {where} | {_md(c.message)} | {_md(', '.join(c.operations))} |"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
