"""CHANGELOG.md's "Breaking Changes" sections, rendered from ``changes.yaml``.

Each release's last subsection, ``### Breaking Changes``, is generated text: one line
per entry of that release in ``changes.yaml``.  ``python -m lanner.upgrade.changelog
--check`` exits 1 (printing a diff) when CHANGELOG.md disagrees with the file;
``--write`` rewrites those sections in place, leaving every other line alone.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

from lanner.upgrade.changes import ALIAS_WILDCARD, Change, ChangesFile, Kind, Release, load

HEADING = "### Breaking Changes"
MARKER = "<!-- generated from src/lanner/upgrade/changes.yaml: python -m lanner.upgrade.changelog --write -->"
_RELEASE = re.compile(r"^## \[([^\]]+)\]")
_LABEL = {Kind.BREAKING: "Breaking", Kind.REMOVAL: "Removed", Kind.DEPRECATION: "Deprecated"}


def render_change(change: Change) -> str:
    fixed = " `lanner flow migrate` fixes it." if change.fix else ""
    name = change.affects.name
    affects = f"every {change.affects.kind} alias" if name == ALIAS_WILDCARD else f"{change.affects.kind} `{name}`"
    return f"- **{_LABEL[change.kind]}** (`{change.id}`, {affects}): {change.summary} Action: {change.action}{fixed}"


def render_section(release: Release) -> str:
    """The section's text (heading included), or '' for a release with no entries."""
    if not release.changes:
        return ""
    return "\n".join([HEADING, MARKER, *(render_change(c) for c in release.changes)]) + "\n"


def _releases(lines: list[str]) -> list[tuple[str, int, int]]:
    """(version, first line, end line) of each ``## [version]`` section."""
    starts = [(m.group(1), i) for i, line in enumerate(lines) if (m := _RELEASE.match(line))]
    return [(version, start, starts[n + 1][1] if n + 1 < len(starts) else len(lines))
            for n, (version, start) in enumerate(starts)]


def _section_span(lines: list[str], start: int, end: int) -> tuple[int, int] | None:
    for i in range(start, end):
        if lines[i].strip() == HEADING:
            j = i + 1
            while j < end and not lines[j].startswith("### ") and not lines[j].startswith("## "):
                j += 1
            return i, j
    return None


def current_sections(text: str) -> dict[str, str]:
    """The Breaking Changes section of each release in ``text`` (trailing blank lines dropped)."""
    lines = text.splitlines()
    found: dict[str, str] = {}
    for version, start, end in _releases(lines):
        span = _section_span(lines, start, end)
        if span:
            body = lines[span[0]:span[1]]
            while body and not body[-1].strip():
                body.pop()
            found[version] = "\n".join(body) + "\n"
    return found


def expected_sections(changes: ChangesFile) -> dict[str, str]:
    return {r.version: render_section(r) for r in changes.versions if r.changes}


def differences(text: str, changes: ChangesFile | None = None) -> list[str]:
    """Human-readable disagreements between a CHANGELOG text and the changes file (empty: they agree)."""
    changes = changes or load()
    expected, current = expected_sections(changes), current_sections(text)
    released = {version for version, _, _ in _releases(text.splitlines())}
    problems: list[str] = []
    for version, section in expected.items():
        if version not in released:
            problems.append(f"CHANGELOG.md has no '## [{version}]' release, which changes.yaml lists")
        elif current.get(version) != section:
            diff = difflib.unified_diff((current.get(version) or "").splitlines(), section.splitlines(),
                                        f"CHANGELOG.md [{version}]", "from changes.yaml", lineterm="")
            problems.append(f"[{version}] Breaking Changes differ from changes.yaml:\n" + "\n".join(diff))
    for version in current:
        if version not in expected:
            problems.append(f"[{version}] has a Breaking Changes section but changes.yaml lists no change for it")
    return problems


def rewrite(text: str, changes: ChangesFile | None = None) -> str:
    """``text`` with every release's Breaking Changes section replaced by the rendered one (last in the release)."""
    changes = changes or load()
    expected = expected_sections(changes)
    lines = text.splitlines()
    out: list[str] = []
    for index, (version, start, end) in enumerate(_releases(lines)):
        if index == 0:
            out.extend(lines[:start])
        body = lines[start:end]
        span = _section_span(body, 0, len(body))
        if span:
            body = body[:span[0]] + body[span[1]:]
        while body and not body[-1].strip():
            body.pop()
        if version in expected:
            body += ["", *expected[version].rstrip("\n").split("\n")]
        out.extend(body)
        out.append("")
    if not _releases(lines):
        out = lines
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lanner.upgrade.changelog", description=__doc__.splitlines()[0])
    parser.add_argument("--changelog", type=Path, default=Path("CHANGELOG.md"))
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="exit 1 when CHANGELOG.md disagrees (the default)")
    group.add_argument("--write", action="store_true", help="rewrite the Breaking Changes sections")
    args = parser.parse_args(argv)
    text = args.changelog.read_text(encoding="utf-8")
    if args.write:
        new = rewrite(text)
        if new != text:
            args.changelog.write_text(new, encoding="utf-8")
            print(f"{args.changelog}: Breaking Changes sections rewritten")
        return 0
    problems = differences(text)
    for problem in problems:
        print(problem)
    if problems:
        print(f"Run: python -m lanner.upgrade.changelog --write --changelog {args.changelog}")
        return 1
    print(f"{args.changelog} agrees with changes.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
