"""The catalogue's invariants: one line of numbered, self-contained, checksummed scripts."""

import re

from lanner.store.migration_scripts import MIGRATIONS_DIR, catalog, checksum, head, pending_after


def test_revisions_are_numbered_in_a_single_line():
    revisions = [m.revision for m in catalog()]
    assert revisions == [f"{i:04d}" for i in range(1, len(revisions) + 1)]
    assert head() == revisions[-1]
    for migration in catalog():
        assert migration.script.startswith(migration.revision + "_")


def test_every_migration_describes_itself():
    assert all(m.description and m.description != m.revision for m in catalog())


def test_migrations_never_import_the_live_models():
    # A migration must build the schema as it was when written; importing today's
    # tables would silently change what an old migration does.  Only the frozen
    # online-migration helpers may be imported.
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        imports = re.findall(r"^\s*(?:from|import)\s+(lanner[\w.]*)", path.read_text(), re.M)
        assert set(imports) <= {"lanner.store.online"}, path.name


def test_checksum_ignores_line_endings(tmp_path):
    unix, windows = tmp_path / "a.py", tmp_path / "b.py"
    unix.write_bytes(b"x = 1\ny = 2\n")
    windows.write_bytes(b"x = 1\r\ny = 2\r\n")
    assert checksum(unix) == checksum(windows)
    windows.write_bytes(b"x = 1\r\ny = 3\r\n")
    assert checksum(unix) != checksum(windows)


def test_pending_after():
    assert pending_after(None) == list(catalog())
    assert pending_after(head()) == []


# Every migration's checksum, pinned when it lands: servers refuse a database whose applied
# migrations changed (exit 5), so a landed file must never change, not even its import order.
# A new migration adds its line here.
LANDED = {
    "0001": "194597f4be12d69e098bc66658a52045ea641d751070de157ba644b76d0106cd",
    "0002": "444f75bd6aa3d5f9bc153ad795e4234e47f5f6f8312276fdfd8f091c10dd6d79",
    "0003": "48dc1bd0325fb9ade3e298d12a314eb43fc46c92d4f014e8c34e09f0635d27d0",
    "0004": "b76b1b31d288a09984556c72f3e96584708758e46b1ebb361076dc31e1cce6a3",
    "0005": "3912235ad7ad3b3a0c8d811140caf22151585d36924e1944c51611213a873cc4",
}


def test_landed_migrations_never_change():
    found = {m.revision: m.checksum for m in catalog()}
    assert {revision: found.get(revision) for revision in LANDED} == LANDED
    assert set(found) == set(LANDED), "a new migration adds its checksum to LANDED"
