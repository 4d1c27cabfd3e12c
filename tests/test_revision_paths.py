"""A revision's errors name the revision's input (core/change/revision_input.py ``revision_paths``):
the capture of the revised order names its lines by position, the revision by its own lists."""

from __future__ import annotations

from tests.test_revision import _create, _internet, _order, _ready, _revise, client  # noqa: F401  (the fixture)


def test_capture_errors_name_the_changed_and_added_lines_of_the_revision(client):  # noqa: F811
    order_id = _create(client, [_internet(), _internet(address="2 Side St")])
    _ready(client, order_id, "test.install")
    refused = _revise(
        client,
        order_id,
        _order(client, order_id)["version"],
        lines=[{"lineNumber": 2, "characteristics": [{"name": "speed", "value": "fast"}]}],
        addLines=[_internet(speed="slow")],
    )
    fields = sorted(e["field"] for e in refused["errors"])
    assert refused["revision"] is None and fields, refused
    assert fields == ["addLines.0.characteristics.speed", "lines.0.characteristics.speed"], fields
