"""The core's entry point: every use case, wired to a database, a registry and the two ports."""

from __future__ import annotations

import os
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from om_graph.core.catalog.registry import Registry
from om_graph.core.catalog.sync import sync_catalog
from om_graph.core.change import cancellation_settlement, ponr, suspend_void, versions
from om_graph.core.change.cancellation import CancellationService
from om_graph.core.change.cancellation_reads import CancelRequestReads
from om_graph.core.change.revision import RevisionService, on_plan_close
from om_graph.core.change.revision_waiting import on_resume, on_rolled_up
from om_graph.core.decisions.service import DecisionService, pack_source
from om_graph.core.fulfilment.dispatch import forget_dispatch
from om_graph.core.fulfilment.fallout import FalloutService
from om_graph.core.fulfilment.holds import HoldService
from om_graph.core.fulfilment.orchestration import Orchestrator
from om_graph.core.fulfilment.queues import WorkQueues
from om_graph.core.fulfilment.reconciler import JeopardySettings, Reconciler
from om_graph.core.fulfilment.staggered import LineSupply
from om_graph.core.fulfilment.tables import FULFILMENT_TABLES
from om_graph.core.inventory.history import ProductHistory
from om_graph.core.kernel.ports import EventSink, JobSink
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.lifecycle.approval import Approvals
from om_graph.core.lifecycle.enrichment import EnrichmentTasks, Tables
from om_graph.core.lifecycle.preview import PreviewService
from om_graph.core.lifecycle.processing import OrderProcessing
from om_graph.core.lifecycle.tables import LIFECYCLE_TABLES
from om_graph.core.notification.hub import HubService
from om_graph.core.notification.ports import HubSettings
from om_graph.core.ordering.priority import ORDERING_TABLES
from om_graph.core.ordering.service import OrderService
from om_graph.core.pricing.pricer import Pricer
from om_graph.core.pricing.settings import PricingSettings
from om_graph.core.pricing.tables import PRICING_TABLES
from om_graph.core.reads.queries import ChangeSeqProbe, QueryService
from om_graph.core.reads.timeline import Timelines
from om_graph.core.reads.work_queue import WorkQueueReads


class Services:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        registry: Registry,
        jobs: JobSink,
        events: EventSink,
        *,
        lease_seconds: float = 60.0,
        redispatch_after: float = 30.0,
        retry_backoff_ms: int = 1000,
        pricing: PricingSettings | None = None,
        jeopardy: JeopardySettings | None = None,
        hub: HubSettings | None = None,
    ):
        self.sessions = sessions
        self.registry = registry
        self.uow = partial(UnitOfWork, sessions, jobs, events, unsent=forget_dispatch)
        # Decision tables: the core's and the packs' defaults (stored by load_catalog), the
        # active versions read per unit of work (decisions.active(session)).
        self.decisions = DecisionService(
            self.uow,
            defaults=(*ORDERING_TABLES, *LIFECYCLE_TABLES, *PRICING_TABLES, *FULFILMENT_TABLES, *registry.decision_tables),
            sources={name: pack_source(pack) for name, pack in registry.decision_table_packs.items()},
        )
        self.orchestrator = Orchestrator(registry, lease_seconds=lease_seconds, retry_backoff_ms=retry_backoff_ms)
        self.fallout = FalloutService(self.uow, self.orchestrator)  # failures routed to people
        # Prices: the packs' price lists, matrices and adjustment tables checked against the tables
        # known at startup; limits of manual discounts from OM_GRAPH_PRICE_LIMIT_<ROLE>.
        self.pricer = Pricer(
            registry,
            pricing or PricingSettings.from_environ(os.environ),
            table_names=set(self.decisions.defaults),
        )
        self.orders = OrderService(self.uow, registry, self.pricer, tables=self.decisions.active)
        self.processing = OrderProcessing(self.uow, registry, self.orchestrator, tables=self._decision_tables)
        self.enrichment = EnrichmentTasks(self.uow, registry)
        # Hold and resume (core/fulfilment/holds.py): orderResume continues a held order or a stage wait.
        self.holds = HoldService(self.uow, self.orchestrator, stage_resume=self.processing.resume)
        # Staggered decomposition (core/fulfilment/staggered.py): characteristics supplied to an in-flight line.
        self.line_supply = LineSupply(
            self.uow,
            registry,
            self.orchestrator,
            self.processing.decomposer,
            self._decision_tables,  # type: ignore[arg-type]
        )
        # Work queues (core/fulfilment/queues.py; the read: core/reads/work_queue.py).
        self.orchestrator.tables = self._decision_tables
        self.orchestrator.on_task_start = ponr.reach  # a line passes its points of no return (core/change/ponr.py)
        ponr.configure(registry)
        # Cancellation (core/change/cancellation.py): requests, and their settlement as plan sessions
        # close (cancellation_settlement.py); dated requests are carried out by a reconciler pass.
        self.cancellations = CancellationService(self.uow, self.orchestrator, registry)
        self.cancel_requests = CancelRequestReads(self.uow)  # reads: by id, by order, filtered lists
        self.orchestrator.close_hooks = (*self.orchestrator.close_hooks, cancellation_settlement.settle)
        self.orchestrator.rolled_up_hooks = (*self.orchestrator.rolled_up_hooks, cancellation_settlement.on_rolled_up)
        # A resume voids its product's pending suspend (core/change/suspend_void.py): capture asks
        # whether it may, the submit cancels the suspend line in its own transaction.
        self.orders.validator.suspend_refusal = suspend_void.refusal
        self.orders.submitted_hooks.append(suspend_void.SuspendVoiding(self.cancellations).on_submitted)
        # In-flight revision (core/change/revision.py): version 1 at submit, a revision completing
        # when the work it planned has finished (as plan sessions close).
        self.orders.submitted_hooks.append(versions.record_submitted)
        self.revisions = RevisionService(
            self.uow, registry, self.orders, self.orchestrator, self.processing.decomposer, self._decision_tables
        )
        self.orchestrator.close_hooks = (*self.orchestrator.close_hooks, on_plan_close)
        self.orchestrator.resume_hooks = (*self.orchestrator.resume_hooks, on_resume)
        self.orchestrator.rolled_up_hooks = (*self.orchestrator.rolled_up_hooks, on_rolled_up)
        self.work_queues = WorkQueues(self.uow, self.orchestrator)
        self.work_queue = WorkQueueReads(self.uow)
        self.approvals = Approvals(self.uow)
        # orderPreview: capture and the stages of the real run (the same objects), writing nothing.
        self.preview = PreviewService(self.uow, self.orders, self.processing.stages, self._decision_tables)
        self.queries = QueryService(self.uow)
        self.timelines = Timelines(self.uow)  # order.timeline, completion estimates (schedule)
        self.product_history = ProductHistory(self.uow)  # product.history (TMF637)
        self.change_seqs = ChangeSeqProbe(sessions.kw["bind"])
        # TMF622's event hub (core/notification/hub.py): listeners, and their deliveries from the
        # events table; the runtime runs its passes with the TMF renderer and the HTTP port.
        self.hub = HubService(self.uow, hub)
        jeopardy = jeopardy or JeopardySettings()
        self.reconciler = Reconciler(
            self.uow,
            registry,
            redispatch_after=redispatch_after,
            tables=self.decisions.active,  # the fulfilment.sla table of domain orders and orders
            jeopardy_batch=jeopardy.batch,
            jeopardy_write_group=jeopardy.write_group,
            jeopardy_interval=jeopardy.interval_seconds,
            passes=(self.cancellations.run_due,),  # dated cancellations whose date has come
        )

    def _decision_tables(self, session: Session) -> Tables:
        """The active decision tables, read in the stage pass's read (the enrichment and approval policies)."""
        return self.decisions.active(session)

    def load_catalog(self) -> None:
        with self.uow() as uow:
            sync_catalog(uow.session, self.registry)
        self.decisions.sync_defaults()
