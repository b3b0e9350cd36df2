"""An OTLP/gRPC trace collector that counts and discards what it gets: the receiving end of
`bench/run --tracing`. Needs grpcio and opentelemetry-proto (Tests/contract/requirements.txt,
installed into .venv by scripts/test). Prints its port, then, at every line read on standard
input, the number of spans received so far."""
import concurrent.futures
import sys
import threading

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Sink(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self):
        self.spans = 0
        self.lock = threading.Lock()

    def Export(self, request, context):
        count = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
        with self.lock:
            self.spans += count
        return trace_service_pb2.ExportTraceServiceResponse()


def main():
    sink = Sink()
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=2), options=[("grpc.so_reuseport", 0)])
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    for _ in sys.stdin:
        with sink.lock:
            print(sink.spans, flush=True)
    server.stop(0)


if __name__ == "__main__":
    main()
