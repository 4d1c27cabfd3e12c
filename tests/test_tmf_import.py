"""``om-graph import`` (om_graph/tmf/bulk_import.py): TMF622 JSON lines and CSV order lines through
the same mapping and capture as the REST API; bad records reported with their line, externalId and
typed errors while the rest goes on; a second run skips what the first imported; --dry-run
writes nothing; the command itself, with its summary and exit status."""

from __future__ import annotations

import json

import pytest

from om_graph import cli
from om_graph.core.access.actor import Actor
from om_graph.tmf.bulk_import import Importer
from tests.test_tmf_product_order import BASE, order_body, tmf  # noqa: F401

ACTOR = Actor("import:acme-crm", frozenset({"service_account"}))


def _lines(path, *bodies):
    path.write_text("".join((b if isinstance(b, str) else json.dumps(b)) + "\n" for b in bodies))
    return path


def _imported(tmf, external_id):  # noqa: F811
    return tmf.get(f"{BASE}/productOrder", params={"externalId": external_id, "state": "acknowledged,inProgress,draft"}).json()


def test_json_lines_import_reports_bad_records_and_resumes(tmf, tmp_path):  # noqa: F811
    bad_offering = order_body(external_id="BAD-1")
    bad_offering["productOrderItem"][0]["productOffering"]["id"] = "no-such"
    no_external = order_body()
    source = _lines(
        tmp_path / "orders.jsonl",
        order_body(external_id="IMP-1"),
        "{not json",
        bad_offering,
        order_body(external_id="IMP-2", state="draft"),
        no_external,
        order_body(external_id="IMP-3"),
    )
    importer = Importer(tmf.runtime.services, ACTOR)
    report = tmp_path / "report.jsonl"
    summary = importer.run(source, report, progress=False)
    assert (summary.read, summary.created, summary.skipped, summary.failed) == (6, 3, 0, 3)
    problems = [json.loads(line) for line in report.read_text().splitlines()]
    assert [(p["line"], p["externalId"]) for p in problems] == [(2, None), (3, "BAD-1"), (5, None)]
    assert problems[1]["errors"][0]["field"] == "productOrderItem[0].productOffering.id"
    assert problems[2]["errors"][0] == {
        "field": "externalId",
        "code": "REQUIRED",
        "message": "required: it makes the import resumable",
    }
    assert summary.errors_by_code["INVALID"] == 1 and summary.errors_by_code["REQUIRED"] == 1
    [draft] = _imported(tmf, "IMP-2")
    assert draft["state"] == "draft"

    again = importer.run(source, report, progress=False)  # resumed: nothing imported twice
    assert (again.created, again.skipped, again.failed) == (0, 3, 3)
    assert len(_imported(tmf, "IMP-1")) == 1
    # The partner's own POST (its token's subject is the import's partner) finds the imported order.
    token = tmf.runtime.tokens.issue("acme-crm", ["service_account"]).token
    posted = tmf.post(f"{BASE}/productOrder", json=order_body(external_id="IMP-3"), headers={"Authorization": f"Bearer {token}"})
    assert posted.status_code == 201 and [posted.json()["id"]] == [o["id"] for o in _imported(tmf, "IMP-3")]


def test_csv_rows_with_one_externalid_are_one_order(tmf, tmp_path):  # noqa: F811
    source = tmp_path / "lines.csv"
    source.write_text(
        "externalId,customerId,offering,quantity,characteristic.speed,characteristic.address,description\n"
        "CSV-1,ACME,test-internet,1,100,1 Main St,two lines\n"
        "CSV-1,ACME,test-internet,2,1000,2 Main St,\n"
        "CSV-2,GLOBEX,test-internet,1,100,9 Side St,\n"
        "CSV-3,GLOBEX,test-internet,1,250,9 Side St,\n"
    )
    summary = Importer(tmf.runtime.services, ACTOR).run(source, tmp_path / "r.jsonl", progress=False)
    assert (summary.read, summary.created, summary.failed) == (3, 2, 1)  # 250 is not an allowed speed
    [order] = _imported(tmf, "CSV-1")
    assert [(i["id"], i["quantity"]) for i in order["productOrderItem"]] == [("1", 1), ("2", 2)]
    speeds = [{c["name"]: c["value"] for c in i["product"]["productCharacteristic"]}["speed"] for i in order["productOrderItem"]]
    assert speeds == [100, 1000] and order["description"] == "two lines"


def test_a_dry_run_writes_nothing(tmf, tmp_path):  # noqa: F811
    source = _lines(tmp_path / "orders.jsonl", order_body(external_id="DRY-1"), order_body(external_id="DRY-2", customer=""))
    summary = Importer(tmf.runtime.services, ACTOR, dry_run=True).run(source, tmp_path / "r.jsonl", progress=False)
    assert (summary.valid, summary.failed, summary.created) == (1, 1, 0)
    assert _imported(tmf, "DRY-1") == []


def test_the_command_prints_a_summary_and_fails_when_a_record_failed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OM_GRAPH_DATABASE_URL", f"sqlite:///{tmp_path / 'om.db'}")
    monkeypatch.setenv("OM_GRAPH_PLUGINS", "tests.fixture_pack")
    monkeypatch.setenv("OM_GRAPH_DEMO_TOKENS_FILE", str(tmp_path / "tokens.json"))
    source = _lines(tmp_path / "orders.jsonl", order_body(external_id="CLI-1"), "[]")
    assert cli.main(["import", str(source), "--quiet", "--partner", "acme-crm"]) == 1
    out = capsys.readouterr().out
    assert "2 orders read: 1 created, 0 already imported, 1 failed" in out and "report:" in out
    assert cli.main(["import", str(source), "--quiet", "--partner", "acme-crm"]) == 1
    assert "0 created, 1 already imported, 1 failed" in capsys.readouterr().out
    assert cli.main(["import", str(tmp_path / "missing.jsonl")]) == 2


@pytest.mark.parametrize("header", ["colour,offering\n", "offering\n"])
def test_a_csv_header_it_cannot_read_is_one_reported_problem(tmf, tmp_path, header):  # noqa: F811
    source = tmp_path / "bad.csv"
    source.write_text(header + "x\n")
    summary = Importer(tmf.runtime.services, ACTOR).run(source, tmp_path / "r.jsonl", progress=False)
    assert (summary.read, summary.failed) == (1, 1)
