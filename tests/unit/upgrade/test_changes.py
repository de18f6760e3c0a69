"""changes.yaml: it loads, malformed files are refused clearly, and CHANGELOG.md agrees with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner import versions
from lanner.store.migration_scripts import catalog
from lanner.upgrade import changelog, costs
from lanner.upgrade.changes import ChangesFileError, Kind, load, parse
from lanner.upgrade.rewrite import FIXES

ROOT = Path(__file__).parents[3]


def test_the_shipped_file_loads_with_the_known_deprecations():
    changes = load()
    assert [r.version for r in changes.versions][:2] == ["Unreleased", "0.1.0"]
    ids = changes.by_id()
    for wanted in ("kestra-type-aliases", "task-defaults", "each-sequential", "each-parallel",
                   "terminate-grace-period"):
        assert wanted in ids
    assert ids["terminate-grace-period"].kind is Kind.DEPRECATION
    assert ids["terminate-grace-period"].replacement == "lanner.server.termination-grace-period"


def test_every_fix_named_in_the_file_exists():
    named = {c.fix for _, c in load().all_changes() if c.fix}
    assert named and named <= set(FIXES)


def test_changelog_breaking_changes_agree_with_the_changes_file():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    problems = changelog.differences(text)
    assert not problems, "\n".join(problems) + "\nRun: python -m lanner.upgrade.changelog --write"


def test_a_disagreement_is_reported_and_write_fixes_it():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    broken = text.replace("`taskDefaults` is replaced by `pluginDefaults`", "taskDefaults is gone", 1)
    assert broken != text
    problems = changelog.differences(broken)
    assert problems and "[Unreleased]" in problems[0]
    assert changelog.differences(changelog.rewrite(broken)) == []
    assert changelog.rewrite(text) == text


def test_changelog_check_command(tmp_path, capsys):
    copy = tmp_path / "CHANGELOG.md"
    copy.write_text((ROOT / "CHANGELOG.md").read_text(encoding="utf-8").replace("### Breaking Changes", "### Notes"))
    assert changelog.main(["--check", "--changelog", str(copy)]) == 1
    assert "Breaking Changes differ" in capsys.readouterr().out
    assert changelog.main(["--write", "--changelog", str(copy)]) == 0
    assert changelog.main(["--check", "--changelog", str(copy)]) == 0


@pytest.mark.parametrize("text, expected", [
    ("versions: [{version: 0.1.0, changes: [{id: x, kind: oops, summary: s, affects: {kind: config key, name: k},"
     " action: a}]}]", "versions[0].changes[0] (id x).kind"),
    ("versions: [{version: 0.1.0, changes: [{id: x, kind: breaking, summary: s, action: a}]}]", "affects"),
    ("versions: [{version: nope}]", "not a version"),
    ("versions: [{version: 0.1.0}, {version: 0.2.0}]", "newest first"),
    ("versions: [", "invalid YAML"),
])
def test_a_malformed_file_is_refused_naming_the_entry(text, expected):
    with pytest.raises(ChangesFileError) as caught:
        parse(text, "changes.yaml")
    assert expected in str(caught.value)


def test_every_migration_has_a_cost_entry():
    assert {m.revision for m in catalog()} <= set(costs.COST)
    for steps in costs.COST.values():
        assert all(cost in costs.CLASSES for cost, _ in steps)


def test_between_versions_includes_unreleased_and_skips_older():
    changes = load()
    assert [r.version for r in changes.between("0.1.0", "0.1.0")] == ["Unreleased"]
    assert [r.version for r in changes.between(None, "0.1.0")] == ["0.1.0", "Unreleased"]
    assert [r.version for r in changes.between("0.0.9", "0.1.0")] == ["0.1.0", "Unreleased"]


def test_version_order_and_minor_distance():
    assert versions.older("0.9.3", "0.10.0") and versions.older("0.2.0.dev1", "0.2.0")
    assert versions.minor_distance("0.0.9", "0.2.0") == 2 and versions.minor_distance("0.1.0", "0.2.5") == 1
    assert versions.parse_or_none("garbage") is None
