"""Tracing over OTLP: a real OTLP/gRPC receiver (opentelemetry-proto's collector service on grpcio)
and a real gongjid exporting to it. A call with the gateway's `traceparent` makes a server span with
that trace id and parent, and child spans for the store and the documents; its log lines carry the
trace id; the sample ratio is reloaded with SIGHUP; with the receiver gone, calls answer as before.

The daemon here keeps its data in SQLite whichever backend the session's daemon uses: tracing is
the same code above either backend (the store span names `db.system`), so the PostgreSQL run of
the suite skips this module instead of doing the same again."""
import concurrent.futures
import json
import os
import re
import signal
import tempfile
import threading
import time
import uuid

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from conftest import Daemon, expect_error, launch, make_id, request_id, user

pytestmark = pytest.mark.skipif(bool(os.environ.get("GONGJI_CONTRACT_POSTGRESQL")),
                                reason="tracing is checked once, on the SQLite run")

HOHHOT_AUTH = make_id("150102", "19800315", 131)
JPEG = bytes([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]) + b"JFIF" + bytes(range(256)) * 40 + bytes([0xFF, 0xD9])
SERVER, INTERNAL = 2, 1  # Span.SpanKind


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """Keeps every span exported to it."""

    def __init__(self):
        self.spans = []
        self.lock = threading.Lock()

    def Export(self, request, context):
        with self.lock:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append((resource_spans.resource, span))
        return trace_service_pb2.ExportTraceServiceResponse()

    def of_trace(self, trace_id):
        with self.lock:
            return [span for _, span in self.spans if span.trace_id.hex() == trace_id]

    def wait_for(self, trace_id, count, seconds=15):
        """The spans of `trace_id` once at least `count` have arrived (the daemon exports every second)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            spans = self.of_trace(trace_id)
            if len(spans) >= count:
                return spans
            time.sleep(0.1)
        return self.of_trace(trace_id)


def attributes(span):
    out = {}
    for kv in span.attributes:
        value = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None
    return out


@pytest.fixture(scope="module")
def traced():
    receiver = Receiver()
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4), options=[("grpc.so_reuseport", 0)])
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    directory = tempfile.mkdtemp(prefix="gongji-tracing-")
    process, daemon_port, lines = launch(directory, "--otlp-endpoint", f"http://127.0.0.1:{port}",
                                         "--trace-sample-ratio", "0", "--log-level", "info")

    class Traced:
        daemon = Daemon(directory, daemon_port, process)
        receiver_server = server

    Traced.receiver = receiver
    Traced.lines = lines
    yield Traced
    Traced.receiver_server.stop(0)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, "gongjid must stop cleanly on SIGTERM"


def traceparent(sampled=True):
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    return trace_id, parent, [("traceparent", f"00-{trace_id}-{parent}-{'01' if sampled else '00'}"),
                              ("tracestate", "gateway=1")]


def log_lines(traced, trace_id):
    found = []
    for line in list(traced.lines):
        if line.startswith("{") and trace_id in line:
            found.append(json.loads(line))
    return found


def registry(traced, pb):
    return pb["registry_grpc"].RegistryServiceStub(traced.daemon.channel("operator"))


def test_a_call_with_the_gateways_traceparent_is_its_child_with_a_store_span(traced, pb):
    reg, c = pb["registry"], pb["common"]
    id_number = make_id("150102", "19900101", 931)
    trace_id, parent, metadata = traceparent()
    person = reg.Person(id_number=id_number, name="周二", insurance_type=c.INSURANCE_TYPE_EMPLOYEE,
                        status=c.INSURANCE_STATUS_NORMAL, region_code="150100")
    assert registry(traced, pb).UpsertPerson(reg.UpsertPersonRequest(request_id=request_id(), person=person),
                                             metadata=metadata).created
    spans = traced.receiver.wait_for(trace_id, 2)
    servers = [s for s in spans if s.kind == SERVER]
    assert len(servers) == 1, spans
    server = servers[0]
    assert server.name == "gongji.v1.RegistryService/UpsertPerson"
    assert server.parent_span_id.hex() == parent, "the gateway's span is the parent"
    assert server.trace_state == "gateway=1"
    server_attributes = attributes(server)
    assert server_attributes["rpc.system"] == "grpc"
    assert server_attributes["rpc.service"] == "gongji.v1.RegistryService"
    assert server_attributes["rpc.method"] == "UpsertPerson"
    assert server_attributes["rpc.grpc.status_code"] == 0
    stores = [s for s in spans if s.name.startswith("store ")]
    assert len(stores) == 1, spans
    store = stores[0]
    assert store.name == "store upsertPerson" and store.kind == INTERNAL
    assert store.parent_span_id == server.span_id
    store_attributes = attributes(store)
    assert store_attributes["db.system"] == "sqlite"
    assert store_attributes["gongji.use_case"] == "upsertPerson"
    assert store_attributes["gongji.batch_size"] >= 1
    for span in spans:
        for value in attributes(span).values():
            assert id_number not in str(value) and "周二" not in str(value), "no personal data in a span"
    # The call's log lines carry the trace id: the interceptor's and the service's.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(log_lines(traced, trace_id)) < 2:
        time.sleep(0.1)
    messages = {line["message"]: line for line in log_lines(traced, trace_id)}
    assert {"call", "person upserted"} <= set(messages), messages
    assert all(line["trace.id"] == trace_id for line in messages.values())
    assert messages["person upserted"]["span.id"] == server.span_id.hex()


def test_an_upload_has_a_documents_span_and_a_refused_call_its_status(traced, pb):
    c = pb["common"]
    documents = pb["document_grpc"].DocumentServiceStub(traced.daemon.channel("gateway"))
    trace_id, _, metadata = traceparent()

    def messages():
        yield pb["document"].UploadIdentityDocumentRequest(metadata=pb["document"].UploadMetadata(side=c.DOCUMENT_SIDE_FRONT, media_type="image/jpeg"))
        for offset in range(0, len(JPEG), 4096):
            yield pb["document"].UploadIdentityDocumentRequest(chunk=JPEG[offset:offset + 4096])

    documents.UploadIdentityDocument(messages(), metadata=user(HOHHOT_AUTH) + metadata)
    spans = traced.receiver.wait_for(trace_id, 3)
    server = next(s for s in spans if s.kind == SERVER)
    assert server.name == "gongji.v1.DocumentService/UploadIdentityDocument"
    upload = next(s for s in spans if s.name == "documents upload")
    assert upload.parent_span_id == server.span_id
    assert attributes(upload)["gongji.document.bytes"] == len(JPEG)
    assert next(s for s in spans if s.name == "store recordDocument").parent_span_id == server.span_id
    for span in spans:
        assert HOHHOT_AUTH not in str(attributes(span)), "the end user is not an attribute"

    # A refused call: its span says the status and the reason, and is not an error of the server's.
    trace_id, _, metadata = traceparent()
    bindings = pb["binding_grpc"].BindingServiceStub(traced.daemon.channel("gateway"))
    expect_error(lambda: bindings.GetBinding(pb["binding"].GetBindingRequest(binding_id="nope"),
                                             metadata=user(HOHHOT_AUTH) + metadata), grpc.StatusCode.PERMISSION_DENIED, "NOT_PARTY")
    server = next(s for s in traced.receiver.wait_for(trace_id, 1) if s.kind == SERVER)
    assert attributes(server)["rpc.grpc.status_code"] == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert attributes(server)["gongji.reason"] == "NOT_PARTY"
    assert server.status.code != 2, "a refusal is the caller's, not an error of the server"


def test_unsampled_calls_make_no_span_and_reload_changes_the_ratio(traced, pb):
    health = pb["health_grpc"].HealthStub(traced.daemon.channel("gateway"))
    # The gateway says not sampled: no span, but the log line still names its trace.
    trace_id, _, metadata = traceparent(sampled=False)
    health.Check(pb["health"].HealthCheckRequest(), metadata=metadata)
    time.sleep(2.5)
    assert traced.receiver.of_trace(trace_id) == []
    assert any(line["message"] == "call" for line in log_lines(traced, trace_id))

    def roots():
        with traced.receiver.lock:
            return [s for _, s in traced.receiver.spans if s.name == "grpc.health.v1.Health/Check" and not s.parent_span_id]

    # Without a traceparent the ratio decides: 0 in this daemon, then 1 after a reload.
    before = len(roots())
    for _ in range(20):
        health.Check(pb["health"].HealthCheckRequest())
    time.sleep(2.5)
    assert len(roots()) == before, "ratio 0: no root spans"
    path = os.path.join(traced.daemon.directory, "gongjid.json5")
    text = open(path).read()
    assert "sample_ratio: 0.0" in text, text
    open(path, "w").write(text.replace("sample_ratio: 0.0", "sample_ratio: 1"))
    seen = len(traced.lines)
    traced.daemon.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any("configuration reloaded" in line for line in traced.lines[seen:]):
        time.sleep(0.1)
    assert any("configuration reloaded" in line for line in traced.lines[seen:])
    for _ in range(5):
        health.Check(pb["health"].HealthCheckRequest())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(roots()) < before + 5:
        time.sleep(0.1)
    assert len(roots()) == before + 5, "ratio 1: every call is a root span"


def test_calls_answer_as_before_when_the_collector_is_gone(traced, pb):
    traced.receiver_server.stop(0).wait()
    health = pb["health_grpc"].HealthStub(traced.daemon.channel("gateway"))
    bindings = pb["binding_grpc"].BindingServiceStub(traced.daemon.channel("gateway"))
    started = time.monotonic()
    for _ in range(50):
        _, _, metadata = traceparent()
        assert health.Check(pb["health"].HealthCheckRequest(), metadata=metadata).status == 1
        expect_error(lambda: bindings.GetBinding(pb["binding"].GetBindingRequest(binding_id="nope"),
                                                 metadata=user(HOHHOT_AUTH) + metadata), grpc.StatusCode.PERMISSION_DENIED, "NOT_PARTY")
    # 100 calls take well under a second here; calls that waited for the collector would not.
    assert time.monotonic() - started < 30
