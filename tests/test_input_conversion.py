"""The prepared input converters (schema/input_conversion.py) build what strawberry's generic
conversion builds, for every marked input type, from values graphql-core has coerced."""

from __future__ import annotations

import pytest
from graphql import GraphQLError
from graphql.utilities import coerce_input_value
from strawberry.relay import GlobalID
from strawberry.types.arguments import convert_argument

from om_graph.schema import build_schema, input_conversion

ORDER = GlobalID("Order", "12").__str__()
PRODUCT = GlobalID("Product", "7").__str__()
LINE = {"offering": "test-auto", "characteristics": [{"name": "label", "value": "x"}, {"name": "n", "value": 3}]}
SAMPLES = {
    "CharacteristicInput": [
        {"name": "a", "value": "x"},
        {"name": "a", "value": None},
        {"name": "a", "value": 1.5},
        {"name": "a", "value": True},
        {"name": "a", "value": {"nested": [1, 2]}},
        {"name": "a", "value": [1, "b"]},
    ],
    "OrderLineInput": [
        {},
        {"offering": "x"},
        LINE,
        {"action": "MODIFY", "productId": PRODUCT, "quantity": 3, "characteristics": []},
        {"action": "DELETE", "productId": PRODUCT, "offering": None},
        {"productId": "not-base64!"},
        {"productId": None, "characteristics": [{"name": "k", "value": None}]},
        {**LINE, "priceAdjustments": [{"kind": "DISCOUNT", "chargeType": "recurring", "reason": "r", "amount": "3"}]},
        {**LINE, "relationships": [{"lineNumber": 1, "relationshipType": "reliesOn"}]},
    ],
    "OrderCreateInput": [
        {"customerId": "C", "lines": []},
        {"customerId": "C", "lines": [LINE, LINE]},
        {
            "customerId": "C",
            "lines": [LINE],
            "description": "d",
            "externalId": None,
            "requestedCompletionDate": "2030-01-02T03:04:05+02:00",
            "requestedStartDate": "2030-01-01T08:00:00Z",
            "idempotencyKey": "k",
            "requestedInitialState": "ACKNOWLEDGED",
        },
        {"customerId": "C", "lines": [{"productId": "bad"}]},
        {
            "customerId": "C",
            "lines": [LINE],
            "segment": "smb",
            "priceList": "list.EUR",
            "priceAdjustments": [{"kind": "SURCHARGE", "chargeType": "oneTime", "reason": "express", "amount": "30"}],
        },
    ],
    "OrderUpdateInput": [
        {"id": ORDER, "lines": [LINE]},
        {"id": ORDER, "version": 3, "lines": [], "description": "x", "requestedCompletionDate": None},
        {"id": ORDER, "lines": [LINE], "requestedStartDate": "2030-01-01T08:00:00", "requestedCompletionDate": None},
        {"id": "Zm9v", "lines": []},
    ],
    "OrderSubmitInput": [{"id": ORDER}, {"id": ORDER, "version": None}, {"id": ORDER, "version": 2}],
    "OrderResumeInput": [{"id": ORDER}, {"id": ORDER, "version": 1}],
    "OrderPreviewInput": [
        {"id": ORDER},
        {"order": {"customerId": "C", "lines": [LINE]}},
        {"id": None, "order": None},
        {},
    ],
    "TaskCompleteInput": [
        {"id": GlobalID("Task", "3").__str__()},
        {"id": GlobalID("Task", "3").__str__(), "characteristics": [{"name": "serial", "value": "S1"}]},
    ],
    "EnrichmentTaskCompleteInput": [
        {"id": GlobalID("EnrichmentTask", "3").__str__()},
        {"id": GlobalID("EnrichmentTask", "3").__str__(), "characteristics": [{"name": "surveyReference", "value": "S"}]},
    ],
    "OrderApproveInput": [{"id": ORDER}, {"id": ORDER, "version": 4, "comment": "ok"}, {"id": ORDER, "comment": None}],
    "OrderRejectInput": [{"id": ORDER, "reason": "too deep"}, {"id": ORDER, "version": None, "reason": ""}],
    "DecisionInputColumnInput": [{"name": "a", "type": "STRING"}, {"name": "n", "type": "INTEGER", "description": "d"}],
    "DecisionOutputColumnInput": [
        {"name": "o", "type": "NUMBER"},
        {"name": "o", "type": "STRING", "default": "x", "description": ""},
        {"name": "o", "type": "BOOLEAN", "default": None},
    ],
    "DecisionConditionInput": [
        {"column": "a", "op": "ANY"},
        {"column": "a", "op": "EQUALS", "value": "x"},
        {"column": "a", "op": "IN", "values": [1, "b", None]},
        {"column": "n", "op": "RANGE", "minimum": 1, "maximum": "9.5", "maximumInclusive": False},
    ],
    "DecisionOutputValueInput": [{"column": "o", "value": {"nested": [1]}}, {"column": "o"}],
    "DecisionRuleInput": [
        {},
        {"when": [{"column": "a", "op": "EQUALS", "value": "x"}], "then": [{"column": "o", "value": 1}], "priority": 3},
    ],
    "DecisionTableCreateInput": [
        {"name": "t.x", "hitPolicy": "FIRST", "inputs": [], "outputs": [], "rules": []},
        {
            "name": "t.x",
            "hitPolicy": "COLLECT",
            "inputs": [{"name": "a", "type": "STRING"}],
            "outputs": [{"name": "o", "type": "INTEGER", "default": 0}],
            "rules": [{"when": [{"column": "a", "op": "IN", "values": ["x"]}], "then": [{"column": "o", "value": 2}]}],
            "description": "d",
            "comment": "why",
        },
    ],
    "DecisionTableDraftUpdateInput": [
        {"name": "t.x", "hitPolicy": "UNIQUE", "inputs": [], "outputs": [], "rules": [], "expectedDraft": None},
        {"name": "t.x", "hitPolicy": "PRIORITY", "inputs": [], "outputs": [], "rules": [{}], "expectedDraft": 2},
    ],
    "DecisionTableTestInput": [{"name": "t.x", "samples": [{"a": "x"}, {}]}, {"name": "t.x", "samples": [], "version": 3}],
    "DecisionTableActivateInput": [{"name": "t.x", "version": 2, "reason": "go"}],
    "DecisionTableRollbackInput": [{"name": "t.x", "version": 1, "reason": ""}],
    "DecisionTableDraftDiscardInput": [{"name": "t.x", "version": 3, "reason": "no"}],
    "PriceAdjustmentInput": [
        {"kind": "DISCOUNT", "chargeType": "recurring", "reason": "r", "percentage": "10"},
        {"kind": "SURCHARGE", "chargeType": "oneTime", "reason": "r", "amount": 5, "percentage": None},
        {"kind": "DISCOUNT", "chargeType": "x", "reason": "", "amount": "1.005", "percentage": "2"},
    ],
    # core/fulfilment/fallout.py
    "FalloutFilterInput": [
        {},
        {"states": ["OPEN", "ON_HOLD"], "types": ["billing"], "priorities": [1, 2], "mine": True},
        {"assignee": "a", "assignmentGroup": "g", "olderThan": "2026-01-01T00:00:00Z", "newerThan": None},
    ],
    "FalloutWorkInput": [{"id": "x", "action": "TAKE"}, {"id": "x", "action": "CLOSE", "version": 2, "note": "n"}],
    "FalloutActionInput": [{"id": "x"}, {"id": "x", "version": 3, "note": None}],
    "FalloutSkipInput": [{"id": "x"}, {"id": "x", "characteristics": [{"name": "a", "value": 1}], "version": 1}],
    "FalloutReassignInput": [{"id": "x", "assignee": "a"}, {"id": "x", "assignmentGroup": "g", "note": "n"}],
    "DomainOrderCloseInput": [{"id": "x", "reason": "r"}, {"id": "x", "reason": "r", "version": 4}],
    # core/fulfilment/staggered.py, ordering/relationships.py
    "OrderLineRelationshipInput": [{"lineNumber": 2, "relationshipType": "reliesOn"}, {"lineNumber": 0, "relationshipType": ""}],
    "OrderLineCharacteristicsSupplyInput": [
        {"orderId": ORDER, "lineNumber": 1, "characteristics": [{"name": "vlan", "value": 100}]},
        {"orderId": ORDER, "lineId": "x", "characteristics": [], "version": 2},
    ],
    # core/fulfilment/holds.py and queues.py
    "OrderHoldInput": [{"id": ORDER, "reason": "r"}, {"id": ORDER, "reason": "", "version": 3}],
    "OrderLineHoldInput": [
        {"orderId": ORDER, "lineNumber": 1, "reason": "r"},
        {"orderId": ORDER, "lineId": "x", "reason": "r", "version": None},
        {"orderId": ORDER, "reason": "r"},
    ],
    "OrderLineResumeInput": [{"orderId": ORDER, "lineNumber": 2}, {"orderId": ORDER, "lineId": "x", "version": 1}],
    # core/change/cancellation.py
    "OrderCancelInput": [
        {"id": ORDER, "reason": "r"},
        {
            "id": ORDER,
            "reason": "r",
            "version": 2,
            "reasonType": "COMMERCIAL",
            "requestedCancellationDate": "2030-01-01T00:00:00",
            "acknowledgePointOfNoReturn": True,
        },
    ],
    "OrderLineRevisionInput": [
        {"lineNumber": 1},
        {"lineNumber": 2, "characteristics": [{"name": "a", "value": 1}], "quantity": 3, "remove": False},
    ],
    "OrderReviseInput": [
        {"id": ORDER, "reason": "r"},
        {
            "id": ORDER,
            "reason": "r",
            "version": 2,
            "lines": [{"lineNumber": 1, "remove": True}],
            "addLines": [{"offering": "x"}],
            "requestedCompletionDate": "2030-01-01T00:00:00Z",
            "requestedStartDate": None,
            "manualDiscountPercent": "5",
            "acknowledgePointOfNoReturn": True,
        },
    ],
    "RevisionDecisionInput": [{"id": "x"}, {"id": "x", "comment": "ok"}],
    "OrderLineCancelInput": [
        {"lineId": "x", "reason": "r"},
        {"lineId": "x", "reason": "", "reasonType": None, "acknowledgePointOfNoReturn": False, "version": None},
    ],
    "TaskQueueFilterInput": [
        {},
        {"mine": True, "states": ["READY", "ON_HOLD"], "jeopardy": ["HIGH"], "kind": "MANUAL"},
        {"assignee": "ME", "assignmentGroup": "g", "myGroups": True, "unassigned": False, "dueBefore": "2026-01-01T00:00:00"},
        {"orderId": ORDER, "states": None, "jeopardy": None, "dueBefore": None},
    ],
    "TaskClaimInput": [{"id": "x"}],
    "TaskAssignInput": [{"id": "x", "assignee": "a"}, {"id": "x", "assignee": None, "assignmentGroup": "g"}],
    "TaskReleaseInput": [{"id": "x"}],
    "HubDeliveryFilterInput": [{}, {"states": ["DEAD", "PENDING"], "listenerId": "3", "orderId": ORDER}, {"states": None}],
    "HubDeliveryActionInput": [{"id": "7"}, {"id": "x"}],
}


def _convert(schema, cls, coerced):
    try:
        return ("ok", convert_argument(coerced, cls, schema.schema_converter.scalar_registry, schema.config))
    except Exception as exc:  # both must fail alike
        return ("error", type(exc), str(exc))


def _marked():
    build_schema()
    return {cls.__strawberry_definition__.name: cls for cls in input_conversion._MARKED}


def test_every_marked_type_has_samples():
    assert set(_marked()) == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_prepared_conversion_builds_what_strawberry_builds(name):
    schema = build_schema()
    cls = _marked()[name]
    gql_type = schema._schema.get_type(name)
    definitions = [c.__strawberry_definition__ for c in input_conversion._MARKED]
    prepared = [d.from_input for d in definitions]
    for sample in SAMPLES[name]:
        try:
            coerced = coerce_input_value(sample, gql_type)
        except GraphQLError as exc:  # a sample graphql-core refuses never reaches the conversion
            pytest.fail(f"{name} sample {sample}: {exc}")
        fast = _convert(schema, cls, coerced)
        try:
            for d in definitions:
                d.from_input = None
            generic = _convert(schema, cls, coerced)
        finally:
            for d, hook in zip(definitions, prepared, strict=True):
                d.from_input = hook
        assert fast == generic, sample
        if fast[0] == "ok":
            assert type(fast[1]) is type(generic[1])


def test_lists_are_copied_not_shared():
    """graphql-core hands every request the same default value: a converted list is a copy."""
    schema = build_schema()
    cls = _marked()["CharacteristicInput"]
    line = _marked()["OrderLineInput"]
    coerced = coerce_input_value({}, schema._schema.get_type("OrderLineInput"))
    built = convert_argument(coerced, line, schema.schema_converter.scalar_registry, schema.config)
    assert built.characteristics == [] and built.characteristics is not coerced.get("characteristics")
    assert cls is not None


def test_an_unprepared_type_in_a_marked_tree_is_refused():
    import strawberry

    @strawberry.input
    class Inner:
        x: int

    @strawberry.input
    class Outer:
        inner: Inner

    schema = build_schema()
    compiler = input_conversion._Compiler(schema.schema_converter.scalar_registry, schema.config, [Outer])
    with pytest.raises(TypeError, match="not prepared"):
        compiler.object(Outer)
