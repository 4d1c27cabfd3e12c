"""The documentation stays true to the schema and to the server's behaviour.

Static checks: every ```graphql example in README.md and docs/*.md is a valid operation, docs/api.md
covers every root field, and example variables are JSON the operation accepts.

The live run (test_docs_run_as_printed) starts `om-graph serve` on a fresh database in demo mode,
as the README says, and runs each document's examples against it exactly as printed, comparing
each answer with the documented response (ids, timestamps and generated serials aside). What runs:
``graphql`` blocks (with the ```json variables right after them), websocket examples (a
``connection_init`` message and the ``subscribe``/``next`` messages after it), ``curl`` examples,
and ```json answers or variables that carry a role comment (see plan()).

The convention: an HTML comment right before the block names the demo token it runs with
(a key of demo-tokens.json, see om_graph/demo.py): ``<!-- role: order_agent -->``, optionally
``<!-- role: order_agent; step: 3 -->`` to set where in the story it runs (docs/api.md is a
reference, ordered by topic; a block without a step runs after the one before it). Where a
step needs an id an earlier one returned, the docs write ``<the order id>`` / ``<the task id>`` /
``<the enrichment id>`` (an open manual enrichment task) / ``<the fallout id>`` (an open fallout record).
test_example_names_its_role fails for an example without a role."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from graphql import (
    DocumentNode,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    validate,
    visit,
)
from graphql.execution.values import get_variable_values
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from om_graph.core.access.permissions import Role
from om_graph.demo import DEMO_ACCOUNTS
from om_graph.schema import build_schema
from tests import support

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "api.md"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`\n]*)$")


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int  # 1-based line of the opening fence
    previous: Block | None  # the fenced block before this one
    gap: str  # the markdown between the previous block's closing fence and this opening fence
    source: str = "docs/api.md"

    @property
    def follows_graphql(self) -> bool:
        return self.previous is not None and self.previous.lang == "graphql" and not self.gap.strip()

    def describe(self) -> str:
        return f"{self.source} line {self.line} (```{self.lang}):\n{self.text}"


def read_blocks(markdown: str, source: str = "docs/api.md") -> list[Block]:
    """Fenced code blocks in document order (``` or longer fences, language from the info string)."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    gap: list[str] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            gap.append(lines[i])
            i += 1
            continue
        fence, start = opening["fence"], i
        body: list[str] = []
        i += 1
        while i < len(lines) and not re.match(rf"^[ \t]*{fence}`*[ \t]*$", lines[i]):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence (or the end of the file)
        info = opening["info"].strip().split()
        blocks.append(
            Block(
                lang=info[0].lower() if info else "",
                text="\n".join(body),
                line=start + 1,
                previous=blocks[-1] if blocks else None,
                gap="\n".join(gap),
                source=source,
            )
        )
        gap = []
    return blocks


DOC_BLOCKS = {
    path.relative_to(ROOT).as_posix(): read_blocks(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
    for path in DOCUMENTS
}
BLOCKS = [b for blocks in DOC_BLOCKS.values() for b in blocks]
GRAPHQL = [b for b in BLOCKS if b.lang == "graphql"]
VARIABLES = [b for b in BLOCKS if b.lang == "json" and b.follows_graphql]
API_GRAPHQL = [b for b in DOC_BLOCKS.get("docs/api.md", []) if b.lang == "graphql"]


def _ids(blocks: list[Block]) -> list[str]:
    return [f"{b.source}:{b.line}" for b in blocks]


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


def parse_valid(block: Block, schema: GraphQLSchema) -> DocumentNode:
    try:
        document = parse(block.text)
    except Exception as exc:  # GraphQLSyntaxError
        pytest.fail(f"{exc}\nin {block.describe()}", pytrace=False)
    errors = validate(schema, document)
    if errors:
        messages = "\n".join(f"- {e.message}" for e in errors)
        pytest.fail(f"invalid against the schema:\n{messages}\nin {block.describe()}", pytrace=False)
    return document


def test_doc_has_examples():
    assert DOC.exists(), f"{DOC} is missing"
    assert API_GRAPHQL, "docs/api.md has no ```graphql blocks"


@pytest.mark.parametrize("block", GRAPHQL, ids=_ids(GRAPHQL))
def test_graphql_example_is_valid(block, schema):
    parse_valid(block, schema)


def test_every_root_field_has_an_example(schema):
    roots = {t.name: t for t in (schema.query_type, schema.mutation_type, schema.subscription_type) if t is not None}
    used: set[tuple[str, str]] = set()
    type_info = TypeInfo(schema)

    class RootFields(Visitor):
        def enter_field(self, node, *_):
            parent = type_info.get_parent_type()
            if parent is not None and parent.name in roots:
                used.add((parent.name, node.name.value))

    for block in API_GRAPHQL:
        try:
            document = parse(block.text)
        except Exception:
            continue  # reported by test_graphql_example_is_valid
        visit(document, TypeInfoVisitor(type_info, RootFields()))
    missing = sorted(f"{root}.{name}" for root, t in roots.items() for name in t.fields if (root, name) not in used)
    assert not missing, f"root fields without an example in docs/api.md: {', '.join(missing)}"


@pytest.mark.parametrize("block", VARIABLES, ids=_ids(VARIABLES))
def test_variables_are_json_the_operation_accepts(block, schema):
    try:
        variables = json.loads(block.text)
    except json.JSONDecodeError as exc:
        pytest.fail(f"not JSON: {exc}\nin {block.describe()}", pytrace=False)
    assert isinstance(variables, dict), f"variables must be a JSON object\nin {block.describe()}"
    operations = [d for d in parse_valid(block.previous, schema).definitions if isinstance(d, OperationDefinitionNode)]
    declared = {v.variable.name.value for op in operations for v in op.variable_definitions or ()}
    unknown = sorted(set(variables) - declared)
    assert not unknown, f"variables not declared by the operation: {unknown}\nin {block.describe()}"
    for op in operations:
        result = get_variable_values(schema, op.variable_definitions or (), variables)
        if isinstance(result, list):  # a list of GraphQLErrors
            messages = "\n".join(f"- {e.message}" for e in result)
            pytest.fail(f"variables rejected:\n{messages}\nin {block.describe()}", pytrace=False)


@pytest.mark.parametrize("block", GRAPHQL, ids=_ids(GRAPHQL))
def test_operation_with_variables_is_followed_by_them(block, schema):
    operations = [d for d in parse_valid(block, schema).definitions if isinstance(d, OperationDefinitionNode)]
    if any(op.variable_definitions for op in operations):
        assert any(v.previous is block for v in VARIABLES), (
            f"an operation with variables needs a ```json variables block right after it\nin {block.describe()}"
        )


def test_every_json_block_parses():
    bad = []
    for block in BLOCKS:
        if block.lang == "json":
            try:
                json.loads(block.text)
            except json.JSONDecodeError as exc:
                bad.append(f"{exc}\nin {block.describe()}")
    assert not bad, "\n\n".join(bad)


# ---------------------------------------------------------------------------------------------
# Every example runs as printed, with the token its role comment names.

_ROLE = re.compile(r"<!--\s*role:\s*(?P<role>[a-z_]+)\s*(?:;\s*step:\s*(?P<step>\d+)\s*)?-->")
_NEW_TOPIC = re.compile(r"^\s*(#+|[*-]|\d+\.)\s", re.MULTILINE)
_PLACEHOLDER = re.compile(r"<the (?P<what>[a-z]+) id>")
DEMO_ROLES = {r.value for r in Role if r not in (Role.SYSTEM, Role.CUSTOMER)} | set(DEMO_ACCOUNTS)
# Values that differ on every installation: ids, cursors and timestamps compare only in being
# null or not, and so do the values fulfilment generates (serials, line ids, addresses).
GENERATED = {"accessLineId", "oltPort", "ontSerial", "pppoeUsername", "routerSerial", "shipmentTracking", "staticIpAddress"}
# Known defects the docs run finds, by the difference they make; each has an xfail(strict=True)
# test that flips once it is fixed (then drop it here).
KNOWN_DIFFERENCES: set[str] = set()
RETRY_SECONDS = 60  # processing is asynchronous: a step is repeated until it answers as documented


def role_comment(block: Block) -> re.Match | None:
    """The ``<!-- role: … -->`` comment of a block: the last one in the markdown right before it."""
    found = list(_ROLE.finditer(block.gap))
    return found[-1] if found else None


def _is_ws_message(block: Block, kind: str) -> bool:
    if block.lang != "json":
        return False
    try:
        message = json.loads(block.text)
    except json.JSONDecodeError:
        return False
    return isinstance(message, dict) and message.get("type") == kind


def _is_curl(block: Block) -> bool:
    return block.lang in ("sh", "bash", "shell") and block.text.lstrip().startswith("curl") and "/graphql" in block.text


RUN_ALSO = [b for b in BLOCKS if _is_ws_message(b, "connection_init") or _is_curl(b)]


@pytest.mark.parametrize("block", GRAPHQL + RUN_ALSO, ids=_ids(GRAPHQL + RUN_ALSO))
def test_example_names_its_role(block):
    found = role_comment(block)
    assert found, f"no <!-- role: … --> comment right before the example (which token runs it?)\nin {block.describe()}"
    assert found["role"] in DEMO_ROLES, (
        f"role {found['role']!r} is not a demo token ({sorted(DEMO_ROLES)})\nin {block.describe()}"
    )


def test_role_comment_is_read():
    """The convention's parser (a check that cannot fail is no check)."""
    [_, with_step, without] = read_blocks(
        "```sh\nx\n```\n<!-- role: viewer; step: 3 -->\n```graphql\n{ a }\n```\n\ntext\n```graphql\n{ b }\n```\n"
    )
    assert role_comment(with_step)["role"] == "viewer" and role_comment(with_step)["step"] == "3"
    assert role_comment(without) is None


@dataclass
class Step:
    block: Block  # the ```graphql block, or the connection_init message of a websocket example
    role: str
    order: tuple[int, int]
    variables: dict | None = None
    expected: dict | None = None  # the documented response (the first ```json with "data" after it)
    messages: list[dict] | None = None  # a websocket example: the messages the client sends
    replies: list[dict] | None = None  # and the `next` messages it documents
    shown: Block | None = None  # the ```json block that asks for the run, when it is not the example itself
    curl: tuple[dict, dict] | None = None  # a curl example's headers and JSON body

    def describe(self) -> str:
        return (self.shown or self.block).describe()


def _example(blocks: list[Block], index: int) -> list[Block]:
    """The ```json blocks that belong to the example at ``index``: up to the next example, heading
    or list (so the delivery rules' own snippets are not taken for this example's answers)."""
    following = []
    for later in blocks[index + 1 :]:
        if later.lang == "graphql" or _is_ws_message(later, "connection_init") or _NEW_TOPIC.search(later.gap):
            break
        if later.lang == "json":
            following.append(later)
    return following


def _response(following: list[Block]) -> dict | None:
    """The documented answer: the first ```json after the example that holds a GraphQL "data"."""
    for block in following:
        if not block.follows_graphql:
            parsed = json.loads(block.text)
            if isinstance(parsed, dict) and "data" in parsed:
                return parsed
    return None


def _curl_request(text: str) -> tuple[dict, dict]:
    """The headers and body of a ``curl … -H … -d '…'`` example."""
    words = shlex.split(text.replace("\\\n", " "))
    headers, body = {}, None
    for flag, value in zip(words, words[1:]):
        if flag in ("-H", "--header"):
            name, _, content = value.partition(":")
            headers[name.strip()] = content.strip()
        elif flag in ("-d", "--data", "--data-raw"):
            body = json.loads(value)
    assert body is not None, f"a curl example without -d JSON:\n{text}"
    return headers, body


def plan(blocks: list[Block]) -> list[Step]:
    """The runnable examples of one document in the order they run: by step, else document order.

    Besides the ```graphql and websocket examples, a ```json block with a role comment runs too:
    an answer ("sending the same request again …") runs the example before it again and expects
    that answer; variables ("`OrderCreate` (above) with these variables") run the named operation
    with them and expect the answer after them."""
    steps: list[Step] = []
    step_number = 0
    operations = {}  # operation name -> (its block, its step)
    for index, block in enumerate(blocks):
        ws = _is_ws_message(block, "connection_init")
        comment = role_comment(block)
        if block.lang == "json" and not ws and comment and not block.follows_graphql:
            step_number = int(comment["step"]) if comment["step"] else step_number
            parsed = json.loads(block.text)
            if "data" in parsed:
                again = steps[-1]  # the example right before, in document order
                steps.append(Step(again.block, comment["role"], (step_number, index), again.variables, parsed, shown=block))
            else:
                named = [operations[n] for n in re.findall(r"`(\w+)`", block.gap) if n in operations]
                assert named, f"variables with a role comment name no operation of this document\nin {block.describe()}"
                steps.append(
                    Step(
                        named[0].block,
                        comment["role"],
                        (step_number, index),
                        parsed,
                        _response(_example(blocks, index)),
                        shown=block,
                    )
                )
            continue
        if _is_curl(block):
            assert comment, f"no role comment\nin {block.describe()}"
            step_number = int(comment["step"]) if comment["step"] else step_number
            steps.append(Step(block, comment["role"], (step_number, index), curl=_curl_request(block.text)))
            continue
        if block.lang != "graphql" and not ws:
            continue
        assert comment, f"no role comment\nin {block.describe()}"
        step_number = int(comment["step"]) if comment["step"] else step_number
        step = Step(block, comment["role"], (step_number, index))
        following = _example(blocks, index)
        if ws:
            parsed = [json.loads(b.text) for b in following if _is_ws_message(b, "subscribe") or _is_ws_message(b, "next")]
            step.messages = [json.loads(block.text)] + [m for m in parsed if m["type"] == "subscribe"]
            step.replies = [m for m in parsed if m["type"] == "next"]
        else:
            if following and following[0].follows_graphql:
                step.variables = json.loads(following[0].text)
            step.expected = _response(following)
            for definition in parse(block.text).definitions:
                if isinstance(definition, OperationDefinitionNode) and definition.name:
                    operations[definition.name.value] = step
        steps.append(step)
    return sorted(steps, key=lambda s: s.order)


def differences(expected, actual, path: str = "", volatile: bool = False) -> list[str]:
    """How an actual response differs from a documented one. Lists may be abbreviated in the docs
    (documented elements must appear in that order), but a documented empty list must be empty."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: documented an object, got {json.dumps(actual)[:200]}"]
        if set(expected) != set(actual):
            return [f"{path}: documented keys {sorted(expected)}, got {sorted(actual)}"]
        generated = expected.get("name") in GENERATED
        return [
            d
            for key in expected
            for d in differences(
                expected[key],
                actual[key],
                f"{path}.{key}",
                volatile
                or key == "id"
                or key.endswith(("Id", "At", "Cursor", "Date"))
                or key in ("cursor", "occurredAt")
                or key in GENERATED
                or (generated and key == "value")
                or (path.endswith("outcome") and key == "message"),
            )
        ]
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: documented a list, got {json.dumps(actual)[:200]}"]
        if not expected and actual:
            return [f"{path}: documented [], got {json.dumps(actual)[:300]}"]
        position = 0
        for i, item in enumerate(expected):
            while position < len(actual) and differences(item, actual[position], f"{path}[{i}]", volatile):
                position += 1
            if position == len(actual):
                closest = differences(item, actual[min(i, len(actual) - 1)], f"{path}[{i}]", volatile) if actual else ["empty"]
                return [f"{path}[{i}]: documented element not found in order; e.g. {closest[:3]}"]
            position += 1
        return []
    if volatile and not isinstance(expected, (dict, list)):
        return [] if (expected is None) == (actual is None) else [f"{path}: documented {expected!r}, got {actual!r}"]
    return [] if expected == actual else [f"{path}: documented {expected!r}, got {actual!r}"]


def _objects(value, key: str):
    """Every object under ``key`` in a response, depth first."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key:
                yield from (v if isinstance(v, list) else [v])
            yield from _objects(v, key)
    elif isinstance(value, list):
        for v in value:
            yield from _objects(v, key)


class Subscription:
    """A websocket opened by an example, read in the background until the run ends."""

    def __init__(self, url: str, messages: list[dict]):
        self.received: list[dict] = []
        self.closed: str | None = None
        self.ws = ws_connect(url.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"], open_timeout=10)
        self.ws.send(json.dumps(messages[0]))
        try:
            ack = json.loads(self.ws.recv(10))
        except ConnectionClosed as closed:
            raise AssertionError(f"the server closed the websocket after connection_init: {closed}") from None
        assert ack["type"] == "connection_ack", ack
        for message in messages[1:]:
            self.ws.send(json.dumps(message))
        # The protocol does not acknowledge a subscribe; a pong (answered in order) and a moment
        # for the subscription to reach the event bus keep the next step from racing it.
        self.ws.send(json.dumps({"type": "ping"}))
        while (message := json.loads(self.ws.recv(10)))["type"] != "pong":
            self.received.append(message)
        time.sleep(0.2)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for raw in self.ws:
                self.received.append(json.loads(raw))
        except ConnectionClosed as closed:
            self.closed = str(closed)

    def nexts(self) -> list[dict]:
        return [m for m in self.received if m["type"] == "next"]


class DocsRun:
    def __init__(self, base_url: str, tokens: dict[str, str]):
        self.url, self.tokens = base_url, tokens
        self.http = httpx.Client(timeout=30)
        self.history: list[dict] = []  # every response, newest last
        self.subscriptions: list[tuple[Step, Subscription]] = []

    def placeholder(self, what: str, block: Block) -> str:
        for response in reversed(self.history):
            if what == "order":
                found = [o["id"] for o in _objects(response, "order") if isinstance(o, dict) and o.get("id")]
            elif what == "task":  # the work order a person completes
                found = [t["id"] for t in _objects(response, "tasks") if t.get("kind") == "MANUAL" and t.get("state") == "READY"]
            elif what == "enrichment":  # a manual enrichment task a person completes
                found = [t["id"] for t in _objects(response, "enrichmentTasks") if t.get("state") == "OPEN"]
            elif what == "fallout":  # an open (or taken) fallout record an agent works
                found = [
                    e["node"]["id"]
                    for connection in _objects(response, "fallouts")
                    if isinstance(connection, dict)
                    for e in connection.get("edges") or ()
                    if e.get("node", {}).get("state") in ("OPEN", "IN_PROGRESS")
                ]
            else:
                pytest.fail(f"unknown placeholder <the {what} id>\nin {block.describe()}", pytrace=False)
            if found:
                return found[0]
        raise AssertionError(f"no earlier answer gave <the {what} id> yet")

    def text(self, step: Step) -> str:
        return _PLACEHOLDER.sub(lambda m: self.placeholder(m["what"], step.block), step.block.text)

    def post(self, step: Step) -> dict:
        headers = {"Authorization": f"Bearer {self.tokens[step.role]}"}
        response = self.http.post(
            self.url + "/graphql", headers=headers, json={"query": self.text(step), "variables": step.variables or {}}
        )
        body = response.json()
        self.history.append(body)
        return body

    def run(self, step: Step, previous: Step | None) -> None:
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                self.attempt(step)
                return
            except AssertionError as problem:
                if time.monotonic() > deadline or getattr(problem, "final", False):
                    pytest.fail(f"{problem}\n\nas {step.role} in {step.describe()}", pytrace=False)
            time.sleep(0.5)
            if previous is not None and previous.messages is None and not _is_mutation(previous.block.text):
                with contextlib.suppress(AssertionError):
                    self.post(previous)  # a read the step depends on (the README's task list)

    def attempt(self, step: Step) -> None:
        if step.curl is not None:
            headers, body = step.curl
            headers = {k: v.replace("<token>", self.tokens[step.role]) for k, v in headers.items()}
            response = self.http.post(self.url + "/graphql", headers=headers, json=body)
            assert response.status_code == 200 and "errors" not in response.json(), (
                f"{response.status_code}: {response.text[:2000]}"
            )
            return
        if step.messages is not None:
            messages = [json.loads(json.dumps(m).replace("<token>", self.tokens[step.role])) for m in step.messages]
            self.subscriptions.append((step, Subscription(self.url, messages)))
            return
        operation = parse(self.text(step)).definitions[0]
        if operation.operation.value == "subscription":
            query = {"query": self.text(step), "variables": step.variables or {}}
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.tokens[step.role]}"}}
            self.subscriptions.append((step, Subscription(self.url, [init, {"id": "1", "type": "subscribe", "payload": query}])))
            return
        body = self.post(step)
        data = body.get("data") or {}
        payload_errors = [e for p in data.values() if isinstance(p, dict) for e in (p.get("errors") or [])]
        # A mutation that wrote something is not repeated: a second order would change the story.
        wrote = operation.operation.value == "mutation" and "errors" not in body and not payload_errors
        if step.expected is not None:
            problems = [p for p in differences(step.expected, body) if p not in KNOWN_DIFFERENCES]
            if problems:
                error = AssertionError(
                    "answers other than documented:\n" + "\n".join(problems[:12]) + f"\n\ngot: {json.dumps(body)[:3000]}"
                )
                error.final = wrote
                raise error
        else:
            assert "errors" not in body and not payload_errors, json.dumps(body)[:3000]

    def finish(self) -> None:
        """Every subscription example received events, and the documented ones."""
        for step, sub in self.subscriptions:

            def documented_received():
                got = sub.nexts()
                if not got or any(m["type"] == "error" for m in sub.received):
                    return False
                return all(any(not differences(r, m) for m in got) for r in step.replies or [])

            try:
                support.wait_for(documented_received, RETRY_SECONDS, message="the documented events")
            except AssertionError:
                received = json.dumps(sub.received[:10])[:3000]
                pytest.fail(
                    f"subscription example: expected {step.replies or 'events'}\ngot {received}, closed: {sub.closed}\n"
                    f"in {step.block.describe()}",
                    pytrace=False,
                )
            finally:
                sub.ws.close()


def _is_mutation(text: str) -> bool:
    return text.lstrip().startswith("mutation")


RUNNABLE = [source for source, blocks in DOC_BLOCKS.items() if any(b.lang == "graphql" for b in blocks)]


@pytest.mark.slow
@pytest.mark.parametrize("source", RUNNABLE)
def test_docs_run_as_printed(source, tmp_path):
    """A newcomer's run: `om-graph serve` on a fresh SQLite database in demo mode, then the
    document's examples in order, each with its role's demo token, compared with the documented
    responses."""
    env = support.base_env(tmp_path, OM_GRAPH_DATABASE_URL=f"sqlite:///{tmp_path / 'om.db'}")
    server, url = support.start_server(env, tmp_path)
    run = DocsRun(url, support.demo_tokens(tmp_path))
    try:
        steps = plan(DOC_BLOCKS[source])
        for previous, step in zip([None, *steps], steps):
            run.run(step, previous)
        run.finish()
    finally:
        # Every answer, for whoever updates the documented responses.
        (tmp_path / "responses.json").write_text(json.dumps(run.history, indent=2))
        for _, sub in run.subscriptions:
            sub.ws.close()
        server.kill()
