"""The front-end files Lanner ships are exactly those `make ui` copies from ui/package-lock.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
VENDOR = ROOT / "src" / "lanner" / "web" / "static" / "vendor"
MANIFESTS = sorted(VENDOR.glob("*/MANIFEST.json"))


def test_there_are_vendored_files() -> None:
    assert [path.parent.name for path in MANIFESTS] == ["swagger-ui"]


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.parent.name)
def test_each_vendored_file_matches_its_manifest_and_the_lockfile(manifest: Path) -> None:
    recorded = json.loads(manifest.read_text())
    lock = json.loads((ROOT / "ui" / "package-lock.json").read_text())
    assert lock["packages"][f"node_modules/{recorded['package']}"]["version"] == recorded["version"]
    shipped = {path.name for path in manifest.parent.iterdir()} - {"MANIFEST.json"}
    assert shipped == set(recorded["files"])
    assert {"LICENSE"} <= shipped and recorded["license"]
    for name, digest in recorded["files"].items():
        assert hashlib.sha256((manifest.parent / name).read_bytes()).hexdigest() == digest, name
