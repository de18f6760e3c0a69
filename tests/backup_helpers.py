"""Rows in every backed-up table, row comparison across backends, and a backup rewriter (tests only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from lanner.ops.backups import crypto, manifest
from lanner.ops.backups.frames import LineWriter, read_header, read_lines
from lanner.ops.backups.manifest import ENTITY_NAMES, Header
from lanner.store import database_epoch, tables

T0 = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
NESTED = {"a": [1, 2.5, None, True, "é ✓ \n\"quoted\""], "b": {"c": {}}}


def fill(engine: sa.Engine, *, schema: str = "head", executions: int = 3) -> None:
    """A few rows in every backed-up table, every column set (the columns of ``schema`` 0001 or head)."""
    old = schema == "0001"
    with engine.begin() as c:
        c.execute(sa.insert(tables.instance_settings), [
            {"key": "counter", "value": 7, "updated_at": T0},
            {"key": "doc", "value": NESTED, "updated_at": T0},
            {"key": "maintenance", "value": {"on": False}, "updated_at": T0},  # never backed up
        ])
        for i in range(2):
            source = f"id: f{i}\nnamespace: team.a\n# a comment kept verbatim\ntasks: []\n"
            c.execute(sa.insert(tables.flows).values(
                tenant_id="main", namespace="team.a", flow_id=f"f{i}", revision=2, source=source,
                labels={"env": "prod"}, disabled=bool(i), deleted=False, created_at=T0, updated_at=T0))
            for rev in (1, 2):
                c.execute(sa.insert(tables.flow_revisions).values(
                    tenant_id="main", namespace="team.a", flow_id=f"f{i}", revision=rev, source=source + f"#{rev}",
                    deleted=False, created_at=T0 + timedelta(seconds=rev)))
        c.execute(sa.insert(tables.triggers).values(
            tenant_id="main", namespace="team.a", flow_id="f0", trigger_id="every", flow_revision=2,
            last_fire_date=T0, next_fire_date=T0 + timedelta(minutes=1), backfill={"start": "x", "fired": 3},
            disabled=False, scheduler_id="s1", execution_id="e0", state={"k": [1]}, created_at=T0, updated_at=T0))
        c.execute(sa.insert(tables.kv_store).values(
            tenant_id="main", namespace="team.a", key="k1", value=NESTED, value_type="JSON", description="d",
            expires_at=None, version=3, created_at=T0, updated_at=T0))
        for n in range(executions):
            c.execute(sa.insert(tables.executions).values(
                tenant_id="main", id=f"e{n}", namespace="team.a", flow_id="f0", flow_revision=2, state="SUCCESS",
                state_history=[{"state": "CREATED", "date": "2026-03-01T12:30:15Z"}], inputs={"x": n},
                outputs=None, labels=[{"key": "a", "value": "b"}], trigger={"id": "every"}, variables=None,
                parent_id=None, original_id=f"e{n}", start_date=T0, end_date=T0 + timedelta(seconds=n),
                version=4, deleted=False, created_at=T0, updated_at=T0))
            run = dict(tenant_id="main", id=f"tr{n}", execution_id=f"e{n}", namespace="team.a", flow_id="f0",
                       task_id="t", parent_task_run_id=None, value="v", iteration=1, state="SUCCESS",
                       state_history=[], attempts=[{"state": "SUCCESS"}], outputs={"o": NESTED}, metrics=None,
                       start_date=T0, end_date=None, created_at=T0, updated_at=T0)
            if not old:
                run["ordinal"] = n
            c.execute(sa.insert(tables.task_runs).values(**run))
        c.execute(sa.insert(tables.logs), [
            dict(tenant_id="main", namespace="team.a", flow_id="f0", execution_id="e0", task_run_id="tr0",
                 task_id="t", trigger_id=None, attempt=1, level="INFO", message=f"line {i} ✓", timestamp=T0)
            for i in range(5)])
        c.execute(sa.insert(tables.queue_messages).values(
            tenant_id="main", topic="executions", key="e1", payload={"p": 1}, created_at=T0, available_at=T0,
            claimed_by=None, claimed_until=None, deliveries=0))
        if not old:
            c.execute(sa.insert(tables.dashboards).values(
                tenant_id="main", id="overview", source="id: overview\ntitle: Overview # kept verbatim\ncharts: []\n",
                title="Overview", created=T0, updated=T0 + timedelta(seconds=1), deleted=False))
            c.execute(sa.insert(tables.worker_jobs_running).values(
                tenant_id="main", task_run_id="tr1", attempt=1, execution_id="e1", worker_id="w1",
                payload={"job": True}, taken_at=T0))


def _normal(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def rows(engine: sa.Engine, *, settings_filter: bool = False) -> dict[str, list[dict]]:
    """Every backed-up table's rows as dicts (datetimes in UTC), sorted."""
    out: dict[str, list[dict]] = {}
    with engine.connect() as c:
        present = set(sa.inspect(c).get_table_names())
        for name in ENTITY_NAMES:
            if name not in present:
                continue
            table = tables.metadata.tables[name]
            existing = {col["name"] for col in sa.inspect(c).get_columns(name)}
            query = sa.select(*[col for col in table.columns if col.name in existing])
            found = [{k: _normal(v) for k, v in r._mapping.items()} for r in c.execute(query)]
            if name == "instance_settings":
                # The epoch is the installation's (a restore renews it), never content.
                found = [r for r in found if r["key"] != database_epoch.KEY
                         and not (settings_filter and r["key"] == "maintenance")]
            out[name] = sorted(found, key=repr)
    return out


def rewrite(source: Path, target: Path, key: str | None, **changes) -> None:
    """Decode a backup, change its header (e.g. schema_version) and write it again, re-encrypted."""
    with source.open("rb") as src:
        header, digest = read_header(src, str(source))
        sealer = None
        if header.encryption:
            sealer = crypto.Sealer(crypto.open_key(key, header.encryption, str(source)))
        lines = list(read_lines(src, digest, sealer, str(source)))
    fields = {**header.__dict__, **changes}
    new_sealer = None
    if header.encryption:
        fields["encryption"], data_key = crypto.new_encryption(key)
        new_sealer = crypto.Sealer(data_key)
    with target.open("wb") as out:
        writer = LineWriter(out, Header(**fields), new_sealer)
        for line in lines:
            if line.startswith(b"{") and b"\"end\":true" in line:
                import json

                end = json.loads(line)
                end["header_sha256"] = writer.header_sha256
                line = manifest.encode_line(end)
            writer.write_line(line)
        writer.finish()
