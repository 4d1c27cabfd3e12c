"""Decision tables as a use case: the active tables for a unit of work, the defaults shipped with
the code, and the process admin's management of versions (create, edit the draft, test, activate,
roll back), every change audited.

**Reading.** ``DecisionService.active(session)`` makes one SELECT (each table's name and active
version) and returns an ``ActiveTables``; a version is compiled the first time this process meets
it (a second SELECT then loads its definition) and kept, by version id, for the life of the
service. A worker process therefore sees an activation on its next unit of work. A default that
is not stored yet (``sync_defaults`` has not run on this database) is served from the code.

**Defaults.** Core modules and packs ship defaults (``DecisionTableDef``; packs through
``om_register_decision_tables``). ``sync_defaults`` (at startup, beside the catalog sync) stores a
default not stored yet as version 1, active. When a default changes (a pack upgrade), it stores
the new definition as a new version and activates it **only if the active version is itself a
shipped default**; if a process admin's version is active, the admin's choice wins: the new
default is stored shelved (``retired``, never active, audited ``defaultStored``) so that an admin
can roll forward to it with ``rollback``. Unless the admin's version no longer fits the upgraded
consumer (it lacks an output column the new default has, or types an input otherwise): then the
new default is activated, and the audit entry says why.

**Managing.** One draft at a time per table: ``update_draft`` replaces it, or opens one when the
table has none. A table with a shipped default keeps the default's interface in every version:
each of its output columns with its type, and the type of each of its input columns a version
keeps (consumers pass those inputs and read those outputs); columns may be added, inputs dropped.
Activation retires the active version; rollback reactivates a retired one. Each is audited with
actor, from and to version and reason. Every operation validates first and writes nothing on
failure; operations on one table serialise on its row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.decisions.codec import decode_value, from_json, to_json
from om_graph.core.decisions.compiled import CompiledTable, compile_table
from om_graph.core.decisions.definitions import DecisionTableDef
from om_graph.core.decisions.error_codes import DecisionsErrorCode as E
from om_graph.core.decisions.errors import DecisionInputInvalid, DecisionTableInvalid, UnknownDecisionTable
from om_graph.core.decisions.models import DecisionTable, DecisionTableAudit, DecisionTableVersion
from om_graph.core.decisions.states import VERSION, AuditActions, VersionStates
from om_graph.core.decisions.views import ActiveTables, TableView, TestResult, table_views
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, PluginConfigurationError, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork

CORE_SOURCE = "core"
ADMIN_SOURCE_PREFIX = "admin:"  # a version an admin wrote: admin:<actor>
MAX_REASON = 500
MAX_SAMPLES = 100


def pack_source(pack: str) -> str:
    """``pack:<name>`` for a plugin name (a ``Pack`` object registers as ``pack:<name>``)."""
    return pack if pack.startswith("pack:") else f"pack:{pack}"


def is_shipped(source: str | None) -> bool:
    """Whether a version (or a table's default) ships with the code rather than an admin."""
    return source is not None and (source == CORE_SOURCE or source.startswith("pack:"))


_ACTIVE = select(DecisionTable.name, DecisionTableVersion.id, DecisionTableVersion.number).join(
    DecisionTableVersion, DecisionTableVersion.id == DecisionTable.active_version_id
)


# --- the service -------------------------------------------------------------------------------


class DecisionService:
    def __init__(
        self,
        uow: Callable[..., UnitOfWork],
        *,
        defaults: Iterable[DecisionTableDef] = (),
        sources: Mapping[str, str] | None = None,
    ):
        """``defaults``: the tables shipped with the code; ``sources``: table name -> its
        source (``pack:<name>``) for pack tables, ``core`` for the rest."""
        self._uow = uow
        self._cache: dict[int, CompiledTable] = {}
        self._lock = threading.Lock()
        self._memo_key = f"decision_tables:{id(self)}"
        self.defaults: dict[str, DecisionTableDef] = {}
        self._default_compiled: dict[str, CompiledTable] = {}
        self.sources: dict[str, str] = {}
        problems = []
        for defn in defaults:
            source = (sources or {}).get(defn.name, CORE_SOURCE)
            if defn.name in self.defaults:
                problems.append(f"decision table {defn.name!r} shipped twice ({self.sources[defn.name]} and {source})")
                continue
            try:
                self._default_compiled[defn.name] = compile_table(defn)
            except DecisionTableInvalid as exc:
                problems.append(
                    f"decision table {defn.name!r} ({source}): " + "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
                )
                continue
            self.defaults[defn.name] = defn
            self.sources[defn.name] = source
        for defn in self.defaults.values():  # a pack's <namespace>.approval.policy keeps the core's columns
            extended = self._extended(defn.name)
            if extended is not None:
                problems += [
                    f"decision table {defn.name!r} ({self.sources[defn.name]}) extends {extended.name!r}: {e.field}: {e.message}"
                    for e in interface_problems(extended, defn)
                ]
        if problems:
            raise PluginConfigurationError("decision tables do not validate:\n  " + "\n  ".join(problems))

    # -- reading

    def active(self, session: Session) -> ActiveTables:
        """The active version of every table (one SELECT once this process knows the versions;
        none for a second call in the same session: the transaction sees the same tables)."""
        memo = session.info.get(self._memo_key)
        if memo is not None:
            return memo  # type: ignore[no-any-return]
        rows = session.execute(_ACTIVE).all()
        by_id: dict[int, CompiledTable | None] = {version_id: self._cache.get(version_id) for _, version_id, _ in rows}
        missing = [version_id for version_id, compiled in by_id.items() if compiled is None]
        if missing:
            loaded = session.execute(
                select(DecisionTableVersion.id, DecisionTableVersion.definition).where(DecisionTableVersion.id.in_(missing))
            ).all()
            for version_id, definition in loaded:
                by_id[version_id] = self._remember(version_id, definition)
        tables: dict[str, CompiledTable] = dict(self._default_compiled)
        versions: dict[str, int] = {}
        for name, version_id, number in rows:
            compiled = by_id[version_id]
            assert compiled is not None  # the join found the version, so its definition loaded
            tables[name] = compiled
            versions[name] = number
        if len(self._cache) > 2 * len(rows) + 64:  # forget versions no longer active
            keep = {version_id for _, version_id, _ in rows}
            with self._lock:
                for version_id in [v for v in self._cache if v not in keep]:
                    self._cache.pop(version_id, None)
        active = session.info[self._memo_key] = ActiveTables(tables, versions)
        return active

    def _remember(self, version_id: int, definition: Mapping[str, Any], *, fresh: bool = False) -> CompiledTable:
        """The compiled version, from the process's cache. Only versions that no longer change
        (active, retired) may come from it: a draft is edited in place under its id, so one being
        activated is compiled ``fresh`` (replacing what a test of an earlier edit cached)."""
        compiled = None if fresh else self._cache.get(version_id)
        if compiled is None:
            compiled = compile_table(from_json(definition))
            with self._lock:
                self._cache[version_id] = compiled
        return compiled

    def list_tables(self, actor: Actor) -> list[TableView]:
        require(actor, Permission.DECISION_READ)
        with self._uow(read_only=True) as uow:
            tables = list(uow.session.scalars(select(DecisionTable).order_by(DecisionTable.name)))
            return table_views(uow.session, tables)

    def get_table(self, actor: Actor, name: str) -> TableView:
        require(actor, Permission.DECISION_READ)
        with self._uow(read_only=True) as uow:
            table = uow.session.scalars(select(DecisionTable).where(DecisionTable.name == name)).one_or_none()
            if table is None:
                raise UnknownDecisionTable(name)
            return table_views(uow.session, [table])[0]

    # -- defaults

    def sync_defaults(self) -> None:
        """Store the shipped defaults (startup). Two processes starting together: the loser's
        insert fails on the unique name and it runs again, finding the winner's rows."""
        for attempt in range(3):
            try:
                with self._uow() as uow:
                    self._sync(uow.session)
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    def _sync(self, session: Session) -> None:
        if not self.defaults:
            return
        # Locked as the admins' operations lock a table (PostgreSQL: a deploy syncing while an
        # admin activates must not make two versions active).
        stored = {
            t.name: t
            for t in session.scalars(
                select(DecisionTable)
                .where(DecisionTable.name.in_(list(self.defaults)))
                .order_by(DecisionTable.name)
                .with_for_update()
            )
        }
        for name, defn in sorted(self.defaults.items()):
            source = self.sources[name]
            body = to_json(defn)
            table = stored.get(name)
            if table is None:
                table = DecisionTable(
                    name=name, description=defn.description, default_source=source, created_by=SYSTEM_ACTOR.label
                )
                session.add(table)
                session.flush()
                version = self._new_version(session, table, 1, body, source, SYSTEM_ACTOR, "shipped default")
                self._enter(version, "activate", SYSTEM_ACTOR)
                session.flush()
                table.active_version_id = version.id
                self._audit(session, table, AuditActions.CREATED, None, 1, SYSTEM_ACTOR, f"default from {source}")
                continue
            versions = list(
                session.scalars(
                    select(DecisionTableVersion)
                    .where(DecisionTableVersion.table_id == table.id)
                    .order_by(DecisionTableVersion.number)
                )
            )
            shipped = [v for v in versions if is_shipped(v.source)]
            if shipped and shipped[-1].definition == body:
                continue  # this default is stored already
            table.default_source = source
            active = next((v for v in versions if v.status == VersionStates.ACTIVE), None)
            number = versions[-1].number + 1 if versions else 1
            version = self._new_version(session, table, number, body, source, SYSTEM_ACTOR, f"default from {source} changed")
            # An admin's active version that no longer offers what the upgraded consumer reads
            # (an output column the new default added, a retyped input) would break it: the new
            # default is activated then, and the audit says why.
            misfit = [] if active is None or is_shipped(active.source) else interface_problems(defn, from_json(active.definition))
            if active is None or is_shipped(active.source) or misfit:
                if active is not None:
                    self._enter(active, "retire", SYSTEM_ACTOR)
                self._enter(version, "activate", SYSTEM_ACTOR)
                session.flush()
                table.active_version_id = version.id
                why = (
                    f"the default from {source} changed and the active version was a shipped default"
                    if not misfit
                    else f"the default from {source} changed and version {active.number if active else '?'} no longer fits "
                    f"its consumer ({'; '.join(e.message for e in misfit)})"
                )
                self._audit(
                    session, table, AuditActions.DEFAULT_ACTIVATED, active.number if active else None, number, SYSTEM_ACTOR, why
                )
            else:
                assert active is not None
                self._enter(version, "shelve", SYSTEM_ACTOR)
                self._audit(
                    session,
                    table,
                    AuditActions.DEFAULT_STORED,
                    active.number,
                    number,
                    SYSTEM_ACTOR,
                    f"the default from {source} changed; version {active.number} (an admin's) stays active",
                )

    # -- managing

    def create_table(self, actor: Actor, defn: DecisionTableDef, *, comment: str = "") -> TableView:
        """A new table with its first version as a draft (activate it to use it)."""
        require(actor, Permission.DECISION_MANAGE)
        self._check(defn, comment=comment, interface=self._extended(defn.name))
        with self._uow() as uow:
            session = uow.session
            exists = session.scalar(select(DecisionTable.id).where(DecisionTable.name == defn.name))
            if exists is not None or defn.name in self.defaults:
                raise ValidationFailed.single("name", f"a decision table {defn.name!r} exists", E.DECISION_TABLE_EXISTS)
            table = DecisionTable(name=defn.name, description=defn.description, created_by=actor.label)
            session.add(table)
            session.flush()
            self._new_version(session, table, 1, to_json(defn), _admin(actor), actor, comment)
            self._audit(session, table, AuditActions.CREATED, None, 1, actor, comment)
        return self.get_table(actor, defn.name)

    def update_draft(
        self, actor: Actor, defn: DecisionTableDef, *, comment: str = "", expected_draft: int | None = None
    ) -> TableView:
        """Replace the table's draft with ``defn``, or open a draft (the next number) when it has
        none. ``expected_draft``: the draft number the editor worked on (None: do not check)."""
        require(actor, Permission.DECISION_MANAGE)
        with self._uow() as uow:
            session = uow.session
            table = self._lock_table(session, defn.name)
            self._check(defn, comment=comment, interface=self._interface(table))
            versions = self._versions(session, table)
            draft = next((v for v in versions if v.status == VersionStates.DRAFT), None)
            if expected_draft is not None and (draft is None or draft.number != expected_draft):
                now = f"version {draft.number}" if draft else "none"
                raise ValidationFailed.single(
                    "expectedDraft", f"the draft is {now}, not version {expected_draft}: reload and edit again", E.STALE_DRAFT
                )
            if draft is None:
                number = versions[-1].number + 1 if versions else 1
                self._new_version(session, table, number, to_json(defn), _admin(actor), actor, comment)
            else:
                number = draft.number
                draft.definition, draft.comment, draft.source = to_json(defn), comment, _admin(actor)
                draft.updated_at = utcnow()
            table.description = defn.description
            self._audit(session, table, AuditActions.DRAFT_UPDATED, None, number, actor, comment)
        return self.get_table(actor, defn.name)

    def discard_draft(self, actor: Actor, name: str, version: int, *, reason: str) -> TableView:
        """Give up the draft ``version``: it is kept as a retired version (audited), so the table
        has no draft and the next edit opens a new one."""
        require(actor, Permission.DECISION_MANAGE)
        _check_reason(reason)
        with self._uow() as uow:
            session = uow.session
            table = self._lock_table(session, name)
            draft = next((v for v in self._versions(session, table) if v.status == VersionStates.DRAFT), None)
            if draft is None or draft.number != version:
                now = f"version {draft.number}" if draft else "none"
                raise ValidationFailed.single("version", f"the draft is {now}, not version {version}", E.STALE_DRAFT)
            self._enter(draft, "discard", actor)
            table.updated_at = utcnow()
            self._audit(session, table, AuditActions.DRAFT_DISCARDED, None, version, actor, reason)
        return self.get_table(actor, name)

    def test(
        self, actor: Actor, name: str, samples: Sequence[Mapping[str, Any]], *, version: int | None = None
    ) -> list[TestResult]:
        """Evaluate a version (default: the draft, else the active one) against sample inputs;
        writes nothing. An input of the wrong type is an error naming ``samples.<i>.<column>``."""
        require(actor, Permission.DECISION_MANAGE)
        if not samples:
            raise ValidationFailed.single("samples", "give at least one sample input", CommonErrorCode.REQUIRED)
        if len(samples) > MAX_SAMPLES:
            raise ValidationFailed.single("samples", f"at most {MAX_SAMPLES} samples", CommonErrorCode.TOO_MANY)
        with self._uow(read_only=True) as uow:
            table = uow.session.scalars(select(DecisionTable).where(DecisionTable.name == name)).one_or_none()
            if table is None:
                raise UnknownDecisionTable(name)
            versions = self._versions(uow.session, table)
            if version is None:
                chosen = next((v for v in versions if v.status == VersionStates.DRAFT), None) or next(
                    (v for v in versions if v.status == VersionStates.ACTIVE), None
                )
            else:
                chosen = next((v for v in versions if v.number == version), None)
            if chosen is None:
                which = f"version {version}" if version is not None else "draft or active version"
                raise ValidationFailed.single("version", f"{name!r} has no {which}", E.UNKNOWN_VERSION)
            if chosen.status == VersionStates.DRAFT:  # edited in place: never from the cache
                compiled = compile_table(from_json(chosen.definition))
            else:
                compiled = self._remember(chosen.id, chosen.definition)
        types = dict(zip(compiled.input_names, compiled.input_types))
        results, errors = [], []
        for i, sample in enumerate(samples):
            inputs = {k: decode_value(types.get(k), v) for k, v in sample.items()}
            try:
                matched = compiled.match(inputs)
            except DecisionInputInvalid as exc:
                errors += [FieldError(f"samples.{i}.{e.field.removeprefix('inputs.')}", e.message, e.code) for e in exc.errors]
                continue
            results.append(TestResult(matched, [compiled.outputs_of(r) for r in matched]))
        if errors:
            raise ValidationFailed(errors)
        return results

    def activate(self, actor: Actor, name: str, version: int, *, reason: str) -> TableView:
        """Make the draft ``version`` the active one; the active version is retired."""
        require(actor, Permission.DECISION_MANAGE)
        _check_reason(reason)
        with self._uow() as uow:
            session = uow.session
            table = self._lock_table(session, name)
            versions = self._versions(session, table)
            target = _numbered(versions, name, version)
            if target.status != VersionStates.DRAFT:
                raise ValidationFailed.single(
                    "version", f"version {version} is {target.status}, not a draft (roll back to reactivate it)", E.NO_DRAFT
                )
            # Checked as saved, and against the interface the code reads now (a draft saved before
            # an upgrade changed a shipped default's columns), then compiled as it now reads.
            self._check(from_json(target.definition), interface=self._interface(table))
            self._remember(target.id, target.definition, fresh=True)
            previous = self._switch(session, table, versions, target, "activate", actor)
            self._audit(session, table, AuditActions.ACTIVATED, previous, version, actor, reason)
        return self.get_table(actor, name)

    def rollback(self, actor: Actor, name: str, version: int, *, reason: str) -> TableView:
        """Make the earlier (retired) ``version`` active again; the active version is retired."""
        require(actor, Permission.DECISION_MANAGE)
        _check_reason(reason)
        with self._uow() as uow:
            session = uow.session
            table = self._lock_table(session, name)
            versions = self._versions(session, table)
            target = _numbered(versions, name, version)
            if target.status != VersionStates.RETIRED or (
                target.activated_at is None and target.source.startswith(ADMIN_SOURCE_PREFIX)
            ):
                raise ValidationFailed.single(
                    "version",
                    f"version {version} is {target.status}"
                    + (" (a discarded draft)" if target.status == VersionStates.RETIRED else "")
                    + ": roll back to a version that was active, or to a shipped default (activate a draft)",
                    E.VERSION_NOT_RETIRED,
                )
            self._check(from_json(target.definition), interface=self._interface(table))
            previous = self._switch(session, table, versions, target, "reactivate", actor)
            self._audit(session, table, AuditActions.ROLLED_BACK, previous, version, actor, reason)
        return self.get_table(actor, name)

    # -- helpers

    def _interface(self, table: DecisionTable) -> DecisionTableDef | None:
        """What every version of ``table`` must keep: its shipped default's interface, else that
        of the default it extends by name."""
        if table.default_source:
            return self.defaults.get(table.name)
        return self._extended(table.name)

    def _extended(self, name: str) -> DecisionTableDef | None:
        """The shipped default a table extends by its name: ``ops.approval.policy`` extends
        ``approval.policy`` (its consumer reads every ``<namespace>.approval.policy`` with the
        core table's columns), the longest such name first."""
        found = [d for n, d in self.defaults.items() if name.endswith("." + n)]
        return max(found, key=lambda d: len(d.name)) if found else None

    def _check(self, defn: DecisionTableDef, *, comment: str = "", interface: DecisionTableDef | None = None) -> None:
        errors: list[FieldError] = []
        if len(comment) > MAX_REASON:
            errors.append(FieldError("comment", f"at most {MAX_REASON} characters", CommonErrorCode.TOO_LONG))
        if len(defn.description) > 2000:
            errors.append(FieldError("description", "at most 2000 characters", CommonErrorCode.TOO_LONG))
        try:
            compile_table(defn)
        except DecisionTableInvalid as exc:
            errors += exc.errors
        if interface is not None:
            errors += interface_problems(interface, defn)
        if errors:
            raise DecisionTableInvalid(errors, table=defn.name)

    def _lock_table(self, session: Session, name: str) -> DecisionTable:
        table = session.scalars(select(DecisionTable).where(DecisionTable.name == name).with_for_update()).one_or_none()
        if table is None:
            raise UnknownDecisionTable(name)
        return table

    def _versions(self, session: Session, table: DecisionTable) -> list[DecisionTableVersion]:
        return list(
            session.scalars(
                select(DecisionTableVersion)
                .where(DecisionTableVersion.table_id == table.id)
                .order_by(DecisionTableVersion.number)
            )
        )

    def _new_version(
        self, session: Session, table: DecisionTable, number: int, body: dict[str, Any], source: str, actor: Actor, comment: str
    ) -> DecisionTableVersion:
        version = DecisionTableVersion(
            table_id=table.id,
            number=number,
            status=VERSION.initial,
            definition=body,
            source=source,
            created_by=actor.label,
            comment=comment,
        )
        session.add(version)
        return version

    def _enter(self, version: DecisionTableVersion, event: str, actor: Actor) -> None:
        """The version machine's transition (roles checked); activation stamps who and when."""
        transition = VERSION.enter(version, version.status, event, actor)
        version.status = transition.target
        if transition.target == VersionStates.ACTIVE:
            version.activated_by, version.activated_at = actor.label, utcnow()

    def _switch(
        self,
        session: Session,
        table: DecisionTable,
        versions: list[DecisionTableVersion],
        target: DecisionTableVersion,
        event: str,
        actor: Actor,
    ) -> int | None:
        active = next((v for v in versions if v.status == VersionStates.ACTIVE), None)
        if active is not None:
            self._enter(active, "retire", actor)
        self._enter(target, event, actor)
        table.active_version_id = target.id
        table.updated_at = utcnow()
        return active.number if active is not None else None

    def _audit(
        self,
        session: Session,
        table: DecisionTable,
        action: str,
        from_version: int | None,
        to_version: int | None,
        actor: Actor,
        reason: str,
    ) -> None:
        session.add(
            DecisionTableAudit(
                table_id=table.id,
                action=action,
                from_version=from_version,
                to_version=to_version,
                actor=actor.label,
                reason=reason[:MAX_REASON],
            )
        )


def _admin(actor: Actor) -> str:
    return f"{ADMIN_SOURCE_PREFIX}{actor.label}"[:120]


def _numbered(versions: Sequence[DecisionTableVersion], name: str, number: int) -> DecisionTableVersion:
    target = next((v for v in versions if v.number == number), None)
    if target is None:
        raise ValidationFailed.single("version", f"{name!r} has no version {number}", E.UNKNOWN_VERSION)
    return target


def _check_reason(reason: str) -> None:
    if not reason.strip():
        raise ValidationFailed.single("reason", "say why (the audit trail keeps it)", CommonErrorCode.REQUIRED)
    if len(reason) > MAX_REASON:
        raise ValidationFailed.single("reason", f"at most {MAX_REASON} characters", CommonErrorCode.TOO_LONG)


def interface_problems(default: DecisionTableDef, defn: DecisionTableDef) -> list[FieldError]:
    """What a version of a table with a shipped default must keep: every output column of the
    default, with its type, and the type of each default input column it keeps."""
    problems = []
    outputs = {c.name: (i, c.type) for i, c in enumerate(defn.outputs)}
    for column in default.outputs:
        if column.name not in outputs:
            problems.append(
                FieldError(
                    "outputs",
                    f"output column {column.name!r} ({column.type}) is read by the table's consumer",
                    E.INTERFACE_CHANGED,
                )
            )
        elif outputs[column.name][1] != column.type:
            problems.append(
                FieldError(
                    f"outputs.{outputs[column.name][0]}.type", f"{column.name!r} must stay {column.type}", E.INTERFACE_CHANGED
                )
            )
    default_inputs = {c.name: c.type for c in default.inputs}
    for i, given in enumerate(defn.inputs):
        if given.name in default_inputs and default_inputs[given.name] != given.type:
            problems.append(
                FieldError(
                    f"inputs.{i}.type",
                    f"{given.name!r} is given as {default_inputs[given.name]} by the table's consumer",
                    E.INTERFACE_CHANGED,
                )
            )
    return problems
