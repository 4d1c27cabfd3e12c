"""The API's permission table: every operation and every field of every object type, in one place.

``OPERATIONS`` says what each root field requires. ``FIELDS`` lists each object type's fields with
the permission needed to read them; ``INHERIT`` means "visible whenever its parent object is"
(value types such as Money, edges, payloads). A test walks the whole schema and fails when any
operation or field is missing here, so nothing ships open by accident.

At schema build, a field extension is attached to every operation and to every field whose
permission differs from its type's ``BASE`` (the permission that led to the object), so plain
fields cost nothing at run time. Row scoping (customers see only their account) is enforced in
the core services, which also re-check these permissions.
"""

from __future__ import annotations

import inspect

from graphql import GraphQLError
from strawberry.extensions import FieldExtension

from om_graph.core.access.permissions import Permission as P
from om_graph.core.kernel.error_codes import CommonErrorCode

INHERIT = "inherit"
AUTHENTICATED = "authenticated"

OPERATIONS: dict[str, str | P] = {
    "Query.node": AUTHENTICATED,  # schema/loaders.py checks each type's BASE permission
    "Query.nodes": AUTHENTICATED,
    "Query.productOfferings": P.CATALOG_READ,
    "Query.orderPreview": P.ORDER_READ,  # an unsaved order needs ORDER_CAPTURE too (core/lifecycle/preview.py)
    "Query.order": P.ORDER_READ,
    "Query.orders": P.ORDER_READ,
    "Query.products": P.INVENTORY_READ,
    "Mutation.orderCreate": P.ORDER_CAPTURE,
    "Mutation.orderUpdate": P.ORDER_CAPTURE,
    "Mutation.orderSubmit": P.ORDER_CAPTURE,
    "Mutation.taskComplete": P.TASK_COMPLETE,
    "Mutation.orderResume": P.ORDER_RESUME,
    "Mutation.enrichmentTaskComplete": P.TASK_COMPLETE,
    "Mutation.orderApprove": P.ORDER_APPROVE,
    "Mutation.orderReject": P.ORDER_APPROVE,
    "Query.enrichmentTasks": P.FULFILMENT_READ,  # staff work queues (customers: no)
    "Query.approvalQueue": P.ORDER_APPROVE,
    "Query.ordersAwaitingMyApproval": P.ORDER_APPROVE,
    "Query.priceLists": P.PRICE_READ,  # customers: the lists aimed at no account or at theirs
    "Subscription.orderEvents": P.EVENTS_SUBSCRIBE,
    # core/decisions: staff read decision tables; only process admins change (or test) them.
    "Query.decisionTables": P.DECISION_READ,
    "Query.decisionTable": P.DECISION_READ,
    "Mutation.decisionTableCreate": P.DECISION_MANAGE,
    "Mutation.decisionTableDraftUpdate": P.DECISION_MANAGE,
    "Mutation.decisionTableTest": P.DECISION_MANAGE,
    "Mutation.decisionTableActivate": P.DECISION_MANAGE,
    "Mutation.decisionTableRollback": P.DECISION_MANAGE,
    "Mutation.decisionTableDraftDiscard": P.DECISION_MANAGE,
    # core/fulfilment/fallout.py: staff read the queue; agents work records, managers reassign and give up.
    "Query.fallouts": P.FULFILMENT_READ,
    "Query.falloutCounts": P.FULFILMENT_READ,
    "Subscription.falloutEvents": P.FULFILMENT_READ,
    "Mutation.falloutWork": P.FALLOUT_WORK,
    "Mutation.falloutRetry": P.FALLOUT_WORK,
    "Mutation.falloutSkip": P.FALLOUT_WORK,
    "Mutation.falloutResolve": P.FALLOUT_WORK,
    "Mutation.falloutReassign": P.FALLOUT_MANAGE,
    "Mutation.falloutGiveUp": P.FALLOUT_MANAGE,
    "Mutation.domainOrderClose": P.TASK_ASSIGN,  # fulfilment (and fallout) managers
    # core/fulfilment: holds (orderResume above also resumes a held order) and work queues.
    "Mutation.orderHold": P.ORDER_HOLD,
    "Mutation.orderLineHold": P.ORDER_HOLD,
    "Mutation.orderLineResume": P.ORDER_HOLD,
    "Query.tasks": P.FULFILMENT_READ,  # staff work queues (customers: no)
    "Mutation.taskClaim": P.TASK_COMPLETE,
    "Mutation.taskAssign": P.TASK_ASSIGN,
    "Mutation.taskRelease": P.TASK_COMPLETE,
    # core/fulfilment/staggered.py: values a line's parked decomposition waits for.
    "Mutation.orderLineCharacteristicsSupply": P.ORDER_CAPTURE,
    # core/change/cancellation.py: TMF622 CancelProductOrder (a customer: their own orders, by row scoping).
    "Mutation.orderCancel": P.ORDER_CANCEL,
    "Mutation.orderLineCancel": P.ORDER_CANCEL,
    "Query.cancelRequest": P.ORDER_READ,
    # core/change/revision.py: in-flight revision and order versions.
    "Mutation.orderRevise": P.ORDER_REVISE,
    "Mutation.revisionApprove": P.ORDER_APPROVE,
    "Mutation.revisionReject": P.ORDER_APPROVE,
    "Query.orderVersionDiff": P.ORDER_READ,
    # core/notification/hub.py: the event hub's listeners and deliveries (listeners register over TMF622).
    "Query.hubListeners": P.HUB_MANAGE,
    "Query.revisionsAwaitingApproval": P.ORDER_APPROVE,  # core/change/revision.py: the approvers' queue
    "Query.viewer": AUTHENTICATED,  # om_graph/web: the caller's own roles and permissions
    "Query.installedPacks": P.DECISION_READ,  # staff: the process admin's packs screen
    "Query.hubDeliveries": P.HUB_MANAGE,
    "Mutation.hubDeliveryRetry": P.HUB_MANAGE,
    "Mutation.hubDeliverySkip": P.HUB_MANAGE,
}

# The permission that leads to an object of each node type (node(id) checks it).
BASE: dict[str, P] = {
    "Order": P.ORDER_READ,
    "OrderLine": P.ORDER_READ,
    "DomainOrder": P.ORDER_READ,
    "Task": P.ORDER_READ,
    "OrderEvent": P.ORDER_READ,
    "Product": P.INVENTORY_READ,
    "ProductOffering": P.CATALOG_READ,
    "ProductSpecification": P.CATALOG_READ,
    "Fallout": P.FULFILMENT_READ,  # staff only: customers never see fallout
    "CancelRequest": P.ORDER_READ,  # core/change/cancellation.py (customers: their own orders')
}


def _same(permission, names: str) -> dict:
    return {name: permission for name in names.split()}


FIELDS: dict[str, dict[str, str | P]] = {
    "Order": {
        **_same(
            P.ORDER_READ,
            "id state stage waitingFor version customerId description externalId requestedCompletionDate createdAt submittedAt completedAt lines domainOrders events pointOfNoReturn",
        ),
        "oneTimeTotal": P.PRICE_READ,
        "recurringTotal": P.PRICE_READ,
        # core/pricing: prices and their alterations (customers: their own orders, by row scoping)
        **_same(P.PRICE_READ, "orderTotalPrice priceList manualDiscountPercent discountOverLimit"),
        **_same(P.ORDER_READ, "channel segment"),
        "createdBy": P.AUDIT_READ,
        "priority": P.ORDER_READ,  # ordering/priority.py (the order.priority decision table)
        "products": P.INVENTORY_READ,
        "enrichmentTasks": P.FULFILMENT_READ,  # technical work on the order: staff
        "approvals": P.AUDIT_READ,  # who approved or rejected what, and why: staff
        "fallouts": P.FULFILMENT_READ,  # core/fulfilment/fallout.py: staff only
        **_same(P.ORDER_READ, "pausedAt pausedSeconds"),  # core/fulfilment/holds.py
        "holdReason": P.FULFILMENT_READ,  # staff free text
        "jeopardy": P.ORDER_READ,  # fulfilment/jeopardy.py (TMF622 jeopardy alerts reach customers too)
        "predictedLateness": P.FULFILMENT_READ,
        # core/fulfilment/schedule.py: TMF dates reach customers; the Gantt chart is staff work
        **_same(P.ORDER_READ, "requestedStartDate expectedCompletionDate committedCompletionDate completionEstimates"),
        "timeline": P.FULFILMENT_READ,
        "cancelRequests": P.ORDER_READ,  # core/change/cancellation.py
        **_same(P.ORDER_READ, "versions revisions"),  # core/change/revision.py, versions.py
    },
    "OrderLine": {
        **_same(P.ORDER_READ, "id lineNumber action offeringKey quantity state characteristics productId"),
        "unitOneTimePrice": P.PRICE_READ,
        "unitRecurringPrice": P.PRICE_READ,
        **_same(P.PRICE_READ, "itemPrice itemTotalPrice priceDelta"),
        **_same(P.ORDER_READ, "informationRequired pausedAt pausedSeconds"),  # core/fulfilment/holds.py
        "holdReason": P.FULFILMENT_READ,  # staff free text
        "jeopardy": P.ORDER_READ,
        **_same(P.ORDER_READ, "expectedCompletionDate completionEstimates"),  # core/fulfilment/schedule.py
        **_same(P.ORDER_READ, "relationships decompositionWaits"),  # ordering/relationships.py, staggered.py
        "pointOfNoReturn": P.ORDER_READ,  # core/change/ponr.py
    },
    "DomainOrder": {
        **_same(P.ORDER_READ, "id kind specKey unitIndex state lineNumber orderId parentId completedAt tasks"),
        "characteristics": P.FULFILMENT_READ,  # technical data: ports, serials, addresses of kit
        "jeopardy": P.ORDER_READ,
        # schedule
        **_same(
            P.ORDER_READ, "plannedStartDate plannedEndDate estimatedStartDate estimatedEndDate actualStartDate actualEndDate"
        ),
    },
    "Task": {
        **_same(
            P.ORDER_READ,
            "id key name kind state attempts maxAttempts dependencies domainOrderId orderId startedAt finishedAt dueAt jeopardy",
        ),
        **_same(P.FULFILMENT_READ, "handler errorCode errorMessage outcome"),
        # core/fulfilment/schedule.py: dates for everyone who sees the task; the float is staff work
        **_same(
            P.ORDER_READ,
            "durationSeconds plannedStartDate plannedEndDate estimatedStartDate estimatedEndDate actualStartDate actualEndDate",
        ),
        **_same(P.FULFILMENT_READ, "critical totalFloat releaseAt finishBlocked"),
        "completedBy": P.AUDIT_READ,
        **_same(P.FULFILMENT_READ, "assignmentGroup assignee assignedAt"),  # work queues: staff
        **_same(P.ORDER_READ, "mode compensatesId"),  # change management: like its name ("Undo: ...")
    },
    "OrderEvent": {
        **_same(P.ORDER_READ, "id orderId type entityKind entityId fromState toState occurredAt"),
        "actor": P.AUDIT_READ,
        "payload": P.FULFILMENT_READ,
    },
    "Product": {
        **_same(
            P.INVENTORY_READ,
            "id name customerId offeringKey status characteristics orderId orderLineId agreementId agreement entitlements startDate terminationDate history",
        ),
        "oneTimePrice": P.PRICE_READ,
        "recurringPrice": P.PRICE_READ,
        "productPrice": P.PRICE_READ,
    },
    "ProductOffering": _same(
        P.CATALOG_READ,
        "id key name description oneTimePrice recurringPrice recurringPeriod minQuantity maxQuantity family productSpecification characteristics productOfferingPrice",
    ),
    "ProductSpecification": _same(P.CATALOG_READ, "key name version characteristics"),
    "CharacteristicSpecification": _same(
        INHERIT, "name valueType required allowedValues default minValue maxValue maxLength description pattern constraints"
    ),
    "CharacteristicConstraint": _same(INHERIT, "when then description"),
    "CharacteristicCondition": _same(INHERIT, "characteristic values"),
    "CharacteristicRestriction": _same(INHERIT, "allowedValues minValue maxValue pattern maxLength required"),
    "Characteristic": _same(INHERIT, "name value"),
    "Money": _same(INHERIT, "amount currency"),
    "Agreement": _same(INHERIT, "id name status startDate endDate"),
    "ProductStatusChange": {
        **_same(INHERIT, "at event fromStatus toStatus orderId orderLineId characteristics"),
        "actor": P.AUDIT_READ,
    },
    "Entitlement": _same(INHERIT, "id name quantity unit status"),
    "TaskDependency": _same(INHERIT, "predecessorId type lag"),
    # core/reads/timeline.py (order.timeline: staff) and the expected completion revisions
    "OrderTimeline": _same(
        INHERIT,
        "state jeopardy startDate requestedCompletionDate committedCompletionDate expectedCompletionDate completedAt lines",
    ),
    "TimelineLine": _same(INHERIT, "id lineNumber offeringKey state jeopardy expectedCompletionDate domainOrders"),
    "TimelineDomainOrder": _same(
        INHERIT,
        "id parentId kind specKey unitIndex state jeopardy tasks"
        " plannedStartDate plannedEndDate estimatedStartDate estimatedEndDate actualStartDate actualEndDate",
    ),
    "TimelineTask": _same(
        INHERIT,
        "id key name kind state jeopardy durationSeconds dueAt critical totalFloat releaseAt finishBlocked assignee dependencies"
        " plannedStartDate plannedEndDate estimatedStartDate estimatedEndDate actualStartDate actualEndDate",
    ),
    "TimelineDependency": _same(INHERIT, "predecessorId type lag"),
    "CompletionEstimate": _same(INHERIT, "lineNumber expectedCompletionDate previous reason detail recordedAt"),
    "PageInfo": _same(INHERIT, "hasNextPage hasPreviousPage startCursor endCursor"),
    "OrderConnection": _same(INHERIT, "edges pageInfo totalCount"),
    "OrderEdge": _same(INHERIT, "cursor node"),
    "ProductConnection": _same(INHERIT, "edges pageInfo totalCount"),
    "ProductEdge": _same(INHERIT, "cursor node"),
    "OrderCreatePayload": _same(INHERIT, "order errors"),
    "OrderUpdatePayload": _same(INHERIT, "order errors"),
    "OrderSubmitPayload": _same(INHERIT, "order errors"),
    "TaskCompletePayload": _same(INHERIT, "task order errors"),
    "OrderResumePayload": _same(INHERIT, "order errors"),
    "UserError": _same(INHERIT, "field message code"),
    # orderPreview (schema/preview.py): the order's fields as on Order, prices behind PRICE_READ.
    "OrderPreviewPayload": _same(INHERIT, "preview errors"),
    "OrderPreview": {
        **_same(
            INHERIT,
            "orderId customerId priority lines enrichments enrichmentTasks approvalSteps waits domainOrders tasks startsAt predictedCompletionDate criticalPath requestedCompletionDate meetsRequestedCompletionDate",
        ),
        **_same(
            P.PRICE_READ,
            "currency priceList oneTimeTotal recurringTotal orderTotalPrice manualDiscountPercent discountOverLimit",
        ),
    },
    "PreviewLine": {
        **_same(INHERIT, "lineNumber action offeringKey quantity productId characteristics"),
        **_same(P.PRICE_READ, "unitOneTimePrice unitRecurringPrice itemPrice itemTotalPrice priceDelta"),
    },
    "PreviewEnrichment": _same(INHERIT, "lineNumber step characteristics"),
    "PreviewEnrichmentTask": _same(INHERIT, "lineNumber key name role capture"),
    "PreviewApprovalStep": _same(INHERIT, "level levels role reasons"),
    "PreviewWait": _same(INHERIT, "stage waitingFor"),
    "PreviewDomainOrder": _same(INHERIT, "ref parentRef lineNumber kind specKey unitIndex"),
    "PreviewTask": _same(
        INHERIT,
        "ref domainOrderRef key name kind plannedSeconds durationSeconds dependsOn dependencies earliestStart earliestFinish totalFloat critical",
    ),
    "PreviewTaskDependency": _same(INHERIT, "predecessorRef type lag"),
    # core/decisions: reached only through the DECISION_READ / DECISION_MANAGE operations above.
    "DecisionTable": _same(
        INHERIT, "name description defaultSource createdBy createdAt updatedAt activeVersion draft versions audit"
    ),
    "DecisionTableVersion": _same(
        INHERIT,
        "number status source comment hitPolicy description createdBy createdAt updatedAt activatedBy activatedAt inputs outputs rules",
    ),
    "DecisionInputColumn": _same(INHERIT, "name type description"),
    "DecisionOutputColumn": _same(INHERIT, "name type default description"),
    "DecisionRule": _same(INHERIT, "index when then priority description"),
    "DecisionCondition": _same(INHERIT, "column op value values minimum maximum minimumInclusive maximumInclusive"),
    "DecisionOutputValue": _same(INHERIT, "column value"),
    "DecisionTableAuditEntry": _same(INHERIT, "action fromVersion toVersion actor reason at"),
    "DecisionTestResult": _same(INHERIT, "sample hits"),
    "DecisionTestHit": _same(INHERIT, "rule outputs"),
    "DecisionTableCreatePayload": _same(INHERIT, "table errors"),
    "DecisionTableDraftUpdatePayload": _same(INHERIT, "table errors"),
    "DecisionTableTestPayload": _same(INHERIT, "results errors"),
    "DecisionTableActivatePayload": _same(INHERIT, "table errors"),
    "DecisionTableRollbackPayload": _same(INHERIT, "table errors"),
    "DecisionTableDraftDiscardPayload": _same(INHERIT, "table errors"),
    # core/pricing: reached through the PRICE_READ fields above, ProductOffering and priceLists.
    "OrderPrice": _same(
        INHERIT,
        "name priceType recurringChargePeriod recurringChargePeriodLength unitOfMeasure price priceAlteration productOfferingPrice",
    ),
    "Price": _same(INHERIT, "dutyFreeAmount taxIncludedAmount taxRate percentage"),
    "PriceAlteration": _same(INHERIT, "name priceType priority applicationDuration recurringChargePeriod price source"),
    "PriceAlterationSource": _same(INHERIT, "kind table actor reason"),
    "ProductOfferingPriceRef": _same(INHERIT, "id name matrix"),
    "PriceDelta": _same(
        INHERIT, "priceType recurringChargePeriod currentPrice newPrice deltaPrice remainingTermMonths earlyTerminationCharge"
    ),
    "PriceList": _same(
        INHERIT,
        "key name currency validFrom validTo segments accounts channels taxRate taxIncluded description productOfferingPrice",
    ),
    "ProductOfferingPrice": _same(
        INHERIT,
        "priceList offeringKey name priceType recurringChargePeriod recurringChargePeriodLength unitOfMeasure amount tiers matrix",
    ),
    "PriceTier": _same(INHERIT, "minQuantity amount"),
    # core/lifecycle: reached through Order.enrichmentTasks / enrichmentTasks (FULFILMENT_READ) and
    # Order.approvals (AUDIT_READ), which decide who sees them.
    "EnrichmentTask": {
        **_same(INHERIT, "id orderId lineId lineNumber key name role state capture captured createdAt completedAt"),
        "completedBy": P.AUDIT_READ,
    },
    "OrderApproval": {
        **_same(INHERIT, "id round level levels role reasons state comment createdAt decidedAt"),
        "actor": P.AUDIT_READ,
    },
    "EnrichmentTaskCompletePayload": _same(INHERIT, "task order errors"),
    "OrderApprovePayload": _same(INHERIT, "order errors"),
    "OrderRejectPayload": _same(INHERIT, "order errors"),
    # core/fulfilment/fallout.py: reached through FULFILMENT_READ (Order.fallouts, fallouts, node).
    "Fallout": _same(
        P.FULFILMENT_READ,
        "id orderId lineId domainOrderId taskId type priority state assignmentGroup assignee errorCode errorMessage handler attempt southboundResponse resolution note version createdAt updatedAt closedAt",
    ),
    "FalloutConnection": _same(INHERIT, "edges pageInfo"),
    "FalloutEdge": _same(INHERIT, "cursor node"),
    "FalloutCount": _same(INHERIT, "state type priority count"),
    "FalloutPayload": _same(INHERIT, "fallout errors"),
    # core/fulfilment: holds and work queues.
    **{name: _same(INHERIT, "order errors") for name in ("OrderHoldPayload", "OrderLineHoldPayload", "OrderLineResumePayload")},
    **{name: _same(INHERIT, "task errors") for name in ("TaskClaimPayload", "TaskAssignPayload", "TaskReleasePayload")},
    "TaskConnection": _same(INHERIT, "edges pageInfo"),
    "TaskEdge": _same(INHERIT, "cursor node"),
    # core/fulfilment/staggered.py, ordering/relationships.py: reached through OrderLine (ORDER_READ).
    "LineRelationship": _same(INHERIT, "lineNumber relationshipType"),
    "PointOfNoReturn": _same(INHERIT, "kind reachedAt taskId task"),  # core/change/ponr.py, on OrderLine
    "OrderPointOfNoReturn": _same(INHERIT, "kind reachedAt taskId task lineId"),  # core/change/ponr_order.py, on Order
    "DecompositionWait": _same(INHERIT, "specKey characteristic fieldPath unitIndex since parentDomainOrderId"),
    "OrderLineCharacteristicsSupplyPayload": _same(INHERIT, "order errors"),
    # core/change/cancellation.py: reached through ORDER_READ (Order.cancelRequests, cancelRequest).
    "CancelRequest": _same(
        INHERIT,
        "id state cancellationReason reasonType requestedCancellationDate effectiveCancellationDate result resultMessage fee pointOfNoReturnAcknowledged compensation orderId lineId requestedBy createdAt completedAt",
    ),
    "CancellationFee": _same(INHERIT, "amount currency reason"),
    **{name: _same(INHERIT, "cancelRequest order errors") for name in ("OrderCancelPayload", "OrderLineCancelPayload")},
    # core/change/revision.py: reached through ORDER_READ (Order.revisions, Order.versions, orderVersionDiff).
    "OrderRevision": _same(
        INHERIT,
        "id state reason baseVersion newVersion diff compensation charges pointOfNoReturnAcknowledged requestedBy orderId createdAt completedAt",
    ),
    "OrderVersion": _same(INHERIT, "number createdAt createdBy reason revisionId snapshot"),
    "VersionChange": _same(INHERIT, "path kind from to"),
    **{name: _same(INHERIT, "revision order errors") for name in ("OrderRevisePayload", "RevisionDecisionPayload")},
    # core/notification/hub.py: reached only through the HUB_MANAGE operations above.
    "HubListener": _same(INHERIT, "id callback query eventTypes owner accountId state fannedOutSequence createdAt deletedAt"),
    "HubDelivery": _same(
        INHERIT,
        "id listenerId eventId eventType orderId sequence state attempts nextAttemptAt lastError lastStatus createdAt deliveredAt",
    ),
    "HubDeliveryPayload": _same(INHERIT, "delivery errors"),
    "Viewer": _same(INHERIT, "id roles accountId permissions"),
    "InstalledPack": _same(INHERIT, "name distribution hooks"),
}


def forbidden(what: str) -> GraphQLError:
    return GraphQLError(f"not allowed: {what}", extensions={"code": CommonErrorCode.FORBIDDEN})


class RequirePermission(FieldExtension):
    """Checks the acting user's permission before the field resolves."""

    def __init__(self, permission: str | P, what: str):
        self.permission = permission
        self.what = what

    def _check(self, info) -> None:
        actor = info.context.acting
        if self.permission != AUTHENTICATED and self.permission not in actor.permissions:
            raise forbidden(self.what)

    def resolve(self, next_, source, info, **kwargs):
        self._check(info)
        return next_(source, info, **kwargs)

    async def resolve_async(self, next_, source, info, **kwargs):
        self._check(info)
        result = next_(source, info, **kwargs)
        if inspect.isawaitable(result):
            return await result
        return result  # a subscription's async generator


def may_see(info, type_name: str) -> bool:
    actor = info.context.actor
    return actor is not None and BASE[type_name] in actor.permissions


def apply(types: list[type]) -> None:
    """Attach RequirePermission to operations and to fields stricter than their type's BASE."""
    from strawberry.types.base import get_object_definition
    from strawberry.utils.str_converters import to_camel_case

    for cls in types:
        definition = get_object_definition(cls, strict=True)
        type_name = definition.name
        for field in definition.fields:
            name = field.graphql_name or to_camel_case(field.python_name)
            key = f"{type_name}.{name}"
            rule = OPERATIONS.get(key)
            if rule is None:
                rule = FIELDS.get(type_name, {}).get(name)
                if rule is None or rule == INHERIT or rule == BASE.get(type_name):
                    continue
            if not any(isinstance(e, RequirePermission) for e in field.extensions):
                field.extensions.append(RequirePermission(rule, key))
