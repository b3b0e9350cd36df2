"""Contract tests: a Python gRPC client generated from proto/ at test time, against the real
gongjid (dev mode: throwaway PKI, demo people, 127.0.0.1, a port the daemon picks). With
GONGJI_CONTRACT_POSTGRESQL set to the URL of an empty PostgreSQL database, the daemon keeps its data
there (`gongjid dev --postgresql`) instead of in a SQLite file."""
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid

import grpc
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GENERATED = tempfile.mkdtemp(prefix="gongji-stubs-")


def _generate_stubs():
    from grpc_tools import protoc
    import importlib.resources

    well_known = str(importlib.resources.files("grpc_tools") / "_proto")
    protos = []
    for folder in ["gongji/v1", "grpc/health/v1", "grpc/reflection/v1"]:
        for name in sorted(os.listdir(os.path.join(ROOT, "proto", folder))):
            if name.endswith(".proto"):
                protos.append(f"{folder}/{name}")
    code = protoc.main(["protoc", f"-I{os.path.join(ROOT, 'proto')}", f"-I{well_known}",
                        f"--python_out={GENERATED}", f"--grpc_python_out={GENERATED}", *protos])
    assert code == 0, "protoc failed on proto/"
    for package in ["gongji", "gongji/v1", "grpc", "grpc/health", "grpc/health/v1", "grpc/reflection", "grpc/reflection/v1"]:
        open(os.path.join(GENERATED, package, "__init__.py"), "a").close()


_generate_stubs()
# The generated 'grpc' package (health, reflection) would shadow grpcio: load it under another root.
os.rename(os.path.join(GENERATED, "grpc"), os.path.join(GENERATED, "grpcstd"))
for root, _, files in os.walk(os.path.join(GENERATED, "grpcstd")):
    for name in files:
        if name.endswith(".py"):
            path = os.path.join(root, name)
            text = open(path).read().replace("from grpc.health.v1", "from grpcstd.health.v1") \
                .replace("from grpc.reflection.v1", "from grpcstd.reflection.v1")
            open(path, "w").write(text)
sys.path.insert(0, GENERATED)


def check_character(body):
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


def make_id(code, born, sequence):
    body = f"{code}{born}{sequence:03d}"
    return body + check_character(body)


class Daemon:
    def __init__(self, directory, port, process, postgresql=None):
        self.directory = directory
        self.port = port
        self.process = process
        self.postgresql = postgresql
        self.today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
        self.demo_year = self.today.year + 1

    def channel(self, role):
        pki = os.path.join(self.directory, "pki")
        read = lambda name: open(os.path.join(pki, name), "rb").read()
        if role == "none":
            credentials = grpc.ssl_channel_credentials(root_certificates=read("ca.pem"))
        else:
            credentials = grpc.ssl_channel_credentials(read("ca.pem"), read(f"{role}-key.pem"), read(f"{role}.pem"))
        return grpc.secure_channel(f"127.0.0.1:{self.port}", credentials,
                                   options=[("grpc.ssl_target_name_override", "localhost")])


def launch(directory, *extra, policies=os.path.join(ROOT, "deploy", "policies")):
    """Starts `gongjid dev` in `directory` with `extra` arguments and the policies of `policies`;
    returns the process, its port and the list its standard output's lines keep being appended to
    (a thread drains the pipe, so the daemon never blocks on it)."""
    binary = os.environ.get("GONGJID", os.path.join(ROOT, ".build", "debug", "gongjid"))
    assert os.access(binary, os.X_OK), f"{binary} is missing: run swift build first"
    process = subprocess.Popen(
        [binary, "dev", "--directory", directory, "--port", "0", "--policies", policies, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port = None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("message") == "listening":
                port = int(entry["listen.port"])
                break
    assert port, "gongjid dev did not report its port:\n" + "".join(lines)
    import threading
    threading.Thread(target=lambda: [lines.append(line) for line in process.stdout], daemon=True).start()
    return process, port, lines


@pytest.fixture(scope="session")
def daemon():
    directory = tempfile.mkdtemp(prefix="gongji-contract-")
    postgresql = os.environ.get("GONGJI_CONTRACT_POSTGRESQL")
    process, port, _ = launch(directory, *(["--postgresql", postgresql] if postgresql else []))
    yield Daemon(directory, port, process, postgresql)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, "gongjid must stop cleanly on SIGTERM"


@pytest.fixture(scope="session")
def pb():
    """The generated modules."""
    import importlib

    modules = {}
    for name in ["common", "binding", "document", "review", "premium", "registry", "operations", "settlement", "event", "wallet"]:
        modules[name] = importlib.import_module(f"gongji.v1.{name}_pb2")
        modules[name + "_grpc"] = importlib.import_module(f"gongji.v1.{name}_pb2_grpc")
    modules["health"] = importlib.import_module("grpcstd.health.v1.health_pb2")
    modules["health_grpc"] = importlib.import_module("grpcstd.health.v1.health_pb2_grpc")
    modules["reflection"] = importlib.import_module("grpcstd.reflection.v1.reflection_pb2")
    modules["reflection_grpc"] = importlib.import_module("grpcstd.reflection.v1.reflection_pb2_grpc")
    return modules


def error_info(error):
    """(code, ErrorInfo reason, metadata, zh-CN message) decoded from grpc-status-details-bin."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = rpc_status.from_call(error)
    reason, metadata, localized = None, {}, None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                assert info.domain == "gongji.v1"
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
                message = error_details_pb2.LocalizedMessage()
                detail.Unpack(message)
                assert message.locale == "zh-CN"
                localized = message.message
    return error.code(), reason, metadata, localized


def expect_error(call, code, reason=None):
    """Calls `call`, which must fail with `code` (and `reason`); returns the ErrorInfo metadata."""
    with pytest.raises(grpc.RpcError) as raised:
        call()
    got_code, got_reason, metadata, localized = error_info(raised.value)
    assert got_code == code, f"{got_code} {got_reason} {raised.value.details()}"
    if reason is not None:
        assert got_reason == reason, f"{got_reason}: {raised.value.details()}"
        assert localized, "every reasoned error carries a zh-CN message"
    return metadata


def user(id_number):
    return [("x-gongji-end-user", id_number)]


def request_id():
    return str(uuid.uuid4())
