"""``lanner sys upgrade check``: what upgrading this database to this Lanner will do, read-only.

Run with the *new* Lanner against the live database before migrating.  The check
only reads (schema state, table sizes, flows, service instances, the backup folder)
and builds a :class:`Report`: the schema and the version that last migrated it, the
pending migrations with their expected cost on this database, deprecated or removed
configuration keys and flow syntax in use, the live instances and their versions, the
latest backup, and the release notes in between.  Each finding is an :class:`Item`;
a *blocker* means "do not upgrade yet" and makes the command exit 11:

* the database was migrated by a newer Lanner than this one (a downgrade);
* an applied migration's file changed (checksum mismatch);
* a live instance runs a newer Lanner than this one;
* a stored flow or the configuration uses something a release in between removed;
* a stored flow does not validate with this Lanner (its executions could not start).

Everything else is a warning (deprecations, old workers still alive, versions more
than one minor apart, no backup since the last migration, migrations that lock writes)
or information.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lanner import version as lanner_version
from lanner import versions
from lanner.timestamps import utc_instant
from lanner.upgrade import backup_age, costs, scan_config, scan_flows
from lanner.upgrade.changes import ChangesFile, Kind, load

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.config.loader import LoadedConfig

REPORT_FORMAT = 1
BLOCKER, WARNING, INFO = "blocker", "warning", "info"
WORKER_TYPES = ("WORKER", "STANDALONE")


@dataclass(frozen=True)
class Item:
    severity: str
    code: str
    message: str


@dataclass
class Report:
    binary: dict[str, Any]
    database: dict[str, Any]
    versions_between: list[str]
    migrations: list[dict[str, Any]]
    config: list[dict[str, Any]]
    flows: list[dict[str, Any]]
    instances: list[dict[str, Any]]
    backup: dict[str, Any]
    changes: list[dict[str, Any]]
    items: list[Item] = field(default_factory=list)

    @property
    def blockers(self) -> list[Item]:
        return [i for i in self.items if i.severity == BLOCKER]

    @property
    def warnings(self) -> list[Item]:
        return [i for i in self.items if i.severity == WARNING]

    @property
    def up_to_date(self) -> bool:
        """Nothing to upgrade: no pending migration and no release between the database's version and this one."""
        return bool(self.database["schemaKnown"]) and not self.migrations and not self.versions_between

    def to_json(self) -> dict[str, Any]:
        """The documented, stable shape (docs/cli.md): add keys, never rename or remove them."""
        return {
            "format": REPORT_FORMAT, "binary": self.binary, "database": self.database,
            "versionsBetween": self.versions_between, "migrations": self.migrations, "config": self.config,
            "flows": self.flows, "instances": self.instances, "backup": self.backup,
            "breakingChanges": self.changes, "items": [asdict(i) for i in self.items],
            "blockers": len(self.blockers), "warnings": len(self.warnings), "upToDate": self.up_to_date,
        }


def run_check(engine: Engine, loaded: LoadedConfig, *, changes: ChangesFile | None = None,
              now: datetime | None = None, environ: Any = None) -> Report:
    import sqlalchemy as sa

    from lanner.model.service_state import ALIVE
    from lanner.store import flow_repository, service_instances
    from lanner.store.database import masked_url
    from lanner.store.migration_scripts import head
    from lanner.store.schema_state import read_state
    from lanner.store.table_stats import table_sizes
    from lanner.store.tables import flows as flows_table
    from lanner.store.tables import service_instances as instances_table

    changes = changes or load()
    this = lanner_version()
    backend = engine.dialect.name
    items: list[Item] = []
    with engine.connect() as connection:
        state = read_state(connection)
        existing = set(sa.inspect(connection).get_table_names())
        pending = state.pending
        revisions = [m.revision for m in pending]
        sizes = table_sizes(connection, costs.tables_of(revisions)) if state.known else {}
        stored = flow_repository.all_current(connection) if state.known and flows_table.name in existing else []
        alive = (service_instances.list_instances(connection, sorted(ALIVE))
                 if state.known and instances_table.name in existing else [])
        db_now = service_instances.database_now(connection)
    now = now or db_now
    applied = [r for r in state.history if r.success]
    last = applied[-1] if applied else None
    migrated_by = state.applied_by(state.current) or (last.lanner_version if last else None)
    database = {"url": masked_url(loaded.settings.database.url), "backend": backend,
                "schemaVersion": state.current, "migratedBy": migrated_by,
                "lastMigratedAt": utc_instant(last.installed_on) if last else None, "schemaKnown": state.known}
    binary = {"version": this, "schemaHead": head()}

    if not state.known:
        items.append(Item(BLOCKER, "schema-newer",
                          f"the database is at schema {state.current}, applied by Lanner {migrated_by or 'unknown'}, "
                          f"newer than this Lanner {this} knows (up to {head()}): this would be a downgrade"))
    else:
        for migration, row in state.checksum_mismatches():
            items.append(Item(BLOCKER, "checksum-mismatch",
                              f"migration {migration.revision} ({migration.script}) changed since it ran "
                              f"(recorded {row.checksum[:12]}..., file {migration.checksum[:12]}...): "
                              "reinstall the release that applied it or run lanner sys database repair"))

    migrations = []
    total_seconds = 0.0
    for migration in pending:
        steps = [costs.step_cost(cost, table, sizes.get(table) if table else None, backend)
                 for cost, table in costs.COST.get(migration.revision, [("instant", None)])]
        seconds = round(sum(s.seconds for s in steps), 3)
        total_seconds += seconds
        locks = any(s.locks_writes for s in steps)
        migrations.append({"revision": migration.revision, "description": migration.description,
                           "locksWrites": locks, "expectedSeconds": seconds,
                           "steps": [asdict(s) for s in steps]})
        if locks:
            locked = sorted({s.table for s in steps if s.locks_writes and s.table})
            to = " to " + ", ".join(locked) if locked else ""
            items.append(Item(WARNING, "migration-locks-writes",
                              f"migration {migration.revision} locks writes{to}"
                              f" for about {_duration(seconds)}: stop or pause writers (lanner sys maintenance enter)"))
    if pending:
        items.append(Item(INFO, "pending-migrations",
                          f"{len(pending)} migration(s) pending ({', '.join(revisions)}), about "
                          f"{_duration(total_seconds)} in all on this database"))

    config = []
    for finding in scan_config.scan(loaded, changes, environ):
        removal = finding.change.kind is Kind.REMOVAL
        config.append({"key": finding.key, "source": finding.source, "replacement": finding.replacement,
                       "changeId": finding.change.id, "kind": str(finding.change.kind),
                       "action": finding.change.action})
        items.append(Item(BLOCKER if removal else WARNING, f"config-{finding.change.kind}",
                          f"configuration key {finding.key} ({finding.source}) is "
                          f"{'removed' if removal else 'deprecated'}"
                          f"{': use ' + finding.replacement if finding.replacement else ''}"))

    flow_findings = scan_flows.scan(stored, changes)
    flows = [{"tenantId": f.tenant_id, "namespace": f.namespace, "flowId": f.flow_id, "revision": f.revision,
              "path": f.path, "line": f.line, "message": f.message, "changeId": f.change_id, "kind": f.kind,
              "autoFix": f.auto_fix} for f in flow_findings]
    by_flow: dict[tuple[str, str, str], list[scan_flows.FlowFinding]] = {}
    for flow_finding in flow_findings:
        key = (flow_finding.tenant_id, flow_finding.namespace, flow_finding.flow_id)
        by_flow.setdefault(key, []).append(flow_finding)
    for (_, namespace, flow_id), found in by_flow.items():
        invalid = [f for f in found if f.kind == "invalid"]
        if invalid:
            items.append(Item(BLOCKER, "flow-invalid",
                              f"flow {namespace}.{flow_id} (revision {found[0].revision}) does not validate with "
                              f"Lanner {this}, so its executions could not start after the upgrade: "
                              + "; ".join(f"{f.path}" + (f" (line {f.line})" if f.line else "") + f": {f.message}"
                                          for f in invalid)
                              + ". Fix and deploy it with the current Lanner first (the new one's "
                                "`lanner flow validate` says what it expects)."))
        removals = [f for f in found if f.kind == "removal"]
        if removals:
            items.append(Item(BLOCKER, "flow-removal",
                              f"flow {namespace}.{flow_id} (revision {found[0].revision}) uses what a release removed: "
                              + "; ".join(f"{f.path}: {f.message}" for f in removals)))
        deprecated = [f for f in found if f.kind == "deprecation"]
        if deprecated:
            fix = ("lanner flow migrate --namespace " + namespace + " fixes it"
                   if all(f.auto_fix for f in deprecated) else "fix it by hand (see the findings)")
            items.append(Item(WARNING, "flow-deprecation",
                              f"flow {namespace}.{flow_id} (revision {found[0].revision}) uses "
                              f"{len(deprecated)} deprecated name(s) or property(ies): {fix}"))

    from lanner.store.migration_scripts import by_revision

    known_revisions = by_revision()
    instances = []
    live_versions = {this}
    for instance in alive:
        problem = None
        parsed = versions.parse_or_none(instance.lanner_version)
        newer_schema = bool(instance.schema_version) and instance.schema_version not in known_revisions
        if newer_schema or (parsed is not None and parsed > versions.key(this)):
            problem = "newer"
            items.append(Item(BLOCKER, "instance-newer",
                              f"{instance.service_type} {instance.hostname}:{instance.pid} ({instance.id}) runs "
                              f"Lanner {instance.lanner_version} (schema {instance.schema_version or 'unknown'}), "
                              f"newer than this Lanner {this}"))
        elif parsed is not None and parsed < versions.key(this) and instance.service_type in WORKER_TYPES:
            problem = "old-worker"
            items.append(Item(WARNING, "old-worker",
                              f"{instance.service_type} {instance.hostname}:{instance.pid} ({instance.id}) still runs "
                              f"Lanner {instance.lanner_version}: jobs needing a newer worker wait until it is "
                              "upgraded"))
        if parsed is not None:
            live_versions.add(instance.lanner_version)
        instances.append({"id": instance.id, "type": instance.service_type, "hostname": instance.hostname,
                          "pid": instance.pid, "version": instance.lanner_version,
                          "schemaVersion": instance.schema_version, "state": str(instance.state),
                          "problem": problem})
    skew = version_skew(live_versions)
    if skew:
        items.append(Item(WARNING, "version-skew", skew))

    latest = backup_age.latest(backup_age.folders_of(loaded.settings))
    last_migration = last.installed_on if last else None
    age = (now - _aware(latest.created_at)).total_seconds() if latest.created_at else None
    since = (None if latest.created_at is None or last_migration is None
             else _aware(latest.created_at) >= _aware(last_migration))
    backup = {"folder": latest.folder, "latest": latest.path, "createdAt": utc_instant(latest.created_at),
              "ageSeconds": round(age, 1) if age is not None else None, "source": latest.source,
              "sinceLastMigration": since}
    if latest.path is None:
        items.append(Item(WARNING, "no-backup",
                          f"no backup (*.lbak) found in {latest.folder}: its age is unknown; take one before "
                          "migrating (lanner backups create)"))
    elif since is False:
        items.append(Item(WARNING, "backup-before-last-migration",
                          f"the latest backup ({latest.path}, {_duration(age or 0)} old) predates the last migration: "
                          "take a new one before migrating"))

    # Migrated by this very version with nothing pending: this build's changes (Unreleased
    # included) are already in place, there is nothing in between to report.
    same_version = versions.parse_or_none(migrated_by) == versions.key(this)
    between = [] if state.known and not pending and same_version else changes.between(migrated_by, this)
    listed = [{"version": release.version, "id": c.id, "kind": str(c.kind), "summary": c.summary,
               "affects": {"kind": str(c.affects.kind), "name": c.affects.name}, "action": c.action, "fix": c.fix}
              for release in between for c in release.changes]
    return Report(binary, database, [r.version for r in between], migrations, config, flows, instances, backup,
                  listed, items)


def version_skew(live: set[str]) -> str | None:
    """A warning when live versions (this binary's included) are more than one minor version apart."""
    from lanner.cluster.versions import skew_warning

    return skew_warning(live)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
