# Schemathesis hooks for the Reprise HTTP API: property-based tests of the
# OpenAPI description a running server serves, against that same server.
#
# Run from the repository root (scripts/toolchains installs schemathesis), with
# a fresh `reprise serve` at BASE that has the approval, hello_sequence and
# bank example components uploaded:
#
#   target/toolchains/schemathesis/bin/schemathesis \
#       --config-file tests/api/schemathesis.toml \
#       run BASE/api/openapi.json
#
# tests/api/schemathesis.toml loads this file and holds the rest: the checks
# (all of them), a fixed seed, one worker, bounded examples and stateful steps,
# nothing written to the work tree. It exits 0 when every check passed.
#
# What is here, and why:
# - a serializer for `application/wasm`, the body of POST /api/components,
#   which schemathesis has none of (it would skip the operation);
# - long polls kept short: `wait_ms` (instances) and `timeout_ms` (actor
#   calls) may be up to 300000 ms, and one such wait would take the run's
#   whole budget;
# - requests steered, part of the time, to what the server has deployed (an
#   orchestration, the `account` actor, the `approval` event), and links from a
#   started instance to its actions: random names only ever meet 404, and the
#   stateful phase should reach real instances and actors.
import os
import tempfile
import zlib

import schemathesis

# Hypothesis keeps caches in ./.hypothesis by default: not in the work tree.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "reprise-api-hypothesis"))


# POST /api/components takes the raw bytes of a WebAssembly component. Bytes go
# as they are; anything else generated (a negative case's number, object, ...)
# goes as its UTF-8 text, which the server must refuse with 400.
@schemathesis.serializer("application/wasm")
def wasm(ctx, value):
    if isinstance(value, (bytes, bytearray)):
        return {"data": bytes(value)}
    data = getattr(value, "data", None)  # schemathesis' Binary wrapper
    if isinstance(data, (bytes, bytearray)):
        return {"data": bytes(data)}
    return {"data": str(value).encode("utf-8", errors="replace")}


# Links the description does not declare, so that the stateful phase chains
# requests on what exists: a started instance (its `id` in the answer) to
# everything that can be done with it, a suspended one to its resumption, an
# actor that was sent an operation to its state.
ID = "$response.body#/id"
ACTOR = {"kind": "$request.path.kind", "key": "$request.path.key"}
LINKS = {
    ("/api/instances", "post", "202"): {
        "GetInstance": ("getInstance", {"id": ID}),
        "History": ("getHistory", {"id": ID}),
        "Waiting": ("getWaiting", {"id": ID}),
        "RaiseApproval": ("raiseEvent", {"id": ID, "name": "approval"}),
        "Suspend": ("suspendInstance", {"id": ID}),
        "Terminate": ("terminateInstance", {"id": ID}),
        "Purge": ("purgeInstance", {"id": ID}),
    },
    ("/api/instances/{id}/suspend", "post", "200"): {
        "Resume": ("resumeInstance", {"id": ID}),
        "Waiting": ("getWaiting", {"id": ID}),
    },
    ("/api/actors/{kind}/{key}/signal/{operation}", "post", "202"): {"State": ("getActor", ACTOR)},
    ("/api/actors/{kind}/{key}/call/{operation}", "post", "200"): {"State": ("getActor", ACTOR)},
}


@schemathesis.hook
def before_load_schema(ctx, raw_schema):
    paths = raw_schema.get("paths", {})
    for (path, method, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None or "$ref" in response:
            continue  # another server's description: leave it be
        for name, (operation_id, parameters) in links.items():
            response.setdefault("links", {}).setdefault(name, {"operationId": operation_id, "parameters": parameters})


# The long-poll parameters and the least value the schema allows for each.
LONG_POLLS = {"wait_ms": 0, "timeout_ms": 1}
LONG_POLL_MAX = 300_000  # the schema's maximum for both
SHORT = 250  # ms: long enough to take the waiting path, short enough to add up to little


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _in_range(name, v):
    return name in LONG_POLLS and _is_int(v) and LONG_POLLS[name] <= v <= LONG_POLL_MAX


# A stable choice among n, from a generated value: the same seed gives the
# same requests (Python's hash() of a string changes with every process).
def _pick(value, n):
    return zlib.crc32(repr(value).encode("utf-8", "surrogatepass")) % n


def _start_body(body):
    # One start in four of each: hello_sequence with names (completes),
    # approval with a good input (waits for its event: something to raise,
    # suspend, terminate), hello_sequence with whatever was generated (fails
    # when that is not a list of names), the generated name (404).
    pick = _pick(body["orchestration"], 4)
    if pick == 0:
        names = body.get("input")
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            names = ["Tokyo", str(body["orchestration"])]
        return dict(body, orchestration="hello_sequence", input=names)
    if pick == 1:
        return dict(body, orchestration="approval", input={"item": str(body["orchestration"]), "amount": 1800, "timeout_secs": 600})
    if pick == 2:
        return dict(body, orchestration="hello_sequence")
    return body


ACCOUNT_OPS = ("deposit", "withdraw", "balance", "close")


# Replaces one of the case's containers (query, body, path_parameters), and
# only when the value differs: an assignment makes schemathesis re-check
# whether the case is still schema-valid, and with 4.32.5, assigning values
# unchanged got a valid signal request of the stateful phase reported as
# "Schema-violating request accepted" (negative_data_rejection).
def _replace(case, container, value):
    if value != getattr(case, container):
        setattr(case, container, value)


# map_case, not map_query & co: those apply to the fuzzing phase only, while
# the coverage phase, which tries the boundaries (300000 first of all), runs
# the case hooks alone. Assigning a container (not editing it in place) makes
# schemathesis re-check whether the case is still schema-valid, so the
# positive/negative data checks keep judging it right.
@schemathesis.hook
def map_case(ctx, case):
    # Read before any edit: once a container is edited, reading the metadata
    # re-checks the case.
    meta = case.meta
    positive = meta is None or meta.generation.mode.is_positive

    query = case.query
    if query and any(_in_range(k, query.get(k)) for k in LONG_POLLS):
        # Only values in range shrink, and stay in range: an out-of-range one
        # stays, as the negative case it is, and the server refuses it at once.
        _replace(case, "query", {k: (LONG_POLLS[k] + (v - LONG_POLLS[k]) % SHORT if _in_range(k, v) else v)
                                 for k, v in query.items()})

    # The rest steers schema-valid requests only. A negative case stays as
    # generated: once edited, schemathesis re-checks it, and could take it for
    # a valid one (4.32.5 re-checks path parameters percent-encoded, where a
    # control character passes the pattern) or keep it negative for a reason
    # the server rightly ignores (an unknown query parameter).
    if not positive:
        return case

    method, path = case.method.upper(), case.path
    body = case.body
    if method == "POST" and path == "/api/instances" and isinstance(body, dict) and isinstance(body.get("orchestration"), str):
        _replace(case, "body", _start_body(body))

    params = case.path_parameters or {}
    if path.startswith("/api/actors/") and isinstance(params.get("kind"), str) and _pick(params["kind"], 2) == 0:
        # Half of the actor requests go to the bank's `account` actor, and
        # two thirds of those operations to one it has (an amount as input).
        steered = dict(params, kind="account")
        if isinstance(params.get("operation"), str) and _pick(params["operation"], 3) < 2:
            steered["operation"] = ACCOUNT_OPS[_pick(params["operation"], len(ACCOUNT_OPS))]
            if steered["operation"] in ("deposit", "withdraw") and not _is_int(body):
                _replace(case, "body", 1 + _pick(body, 50))
        _replace(case, "path_parameters", steered)
    elif path.endswith("/events/{name}") and isinstance(params.get("name"), str) and _pick(params["name"], 2) == 0:
        _replace(case, "path_parameters", dict(params, name="approval"))
    return case
