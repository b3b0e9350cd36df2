"""What the transport allows, shown with a raw HTTP/2 client (the `h2` package) over mutual TLS:
what a gRPC library would never send, an adversary can."""
import socket
import ssl
import struct

import h2.config
import h2.connection
import h2.events

METHOD = "/grpc.health.v1.Health/Check"


def raw_call(daemon, frame, headers_extra=()):
    """Sends one gRPC request whose body is `frame` (prefix included); returns (events seen,
    trailers dict or None, reset error code or None)."""
    pki = f"{daemon.directory}/pki"
    context = ssl.create_default_context(cafile=f"{pki}/ca.pem")
    context.load_cert_chain(f"{pki}/operator.pem", f"{pki}/operator-key.pem")
    context.set_alpn_protocols(["h2"])
    sock = context.wrap_socket(socket.create_connection(("127.0.0.1", daemon.port), timeout=10), server_hostname="localhost")
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    stream = connection.get_next_available_stream_id()
    connection.send_headers(stream, [(":method", "POST"), (":scheme", "https"), (":path", METHOD), (":authority", "localhost"),
                                     ("content-type", "application/grpc"), ("te", "trailers"), *headers_extra])
    connection.send_data(stream, frame, end_stream=True)
    sock.sendall(connection.data_to_send())
    trailers, reset, headers = None, None, {}
    try:
        while trailers is None and reset is None:
            data = sock.recv(65536)
            if not data:
                break
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    headers = {k.decode(): v.decode() for k, v in event.headers}
                elif isinstance(event, h2.events.TrailersReceived):
                    trailers = {k.decode(): v.decode() for k, v in event.headers}
                elif isinstance(event, h2.events.StreamReset):
                    reset = event.error_code
                elif isinstance(event, h2.events.StreamEnded) and "grpc-status" in headers:
                    trailers = headers  # trailers-only response
            sock.sendall(connection.data_to_send())
    finally:
        sock.close()
    return headers, trailers, reset


def grpc_frame(payload, compressed=False):
    return struct.pack(">BI", 1 if compressed else 0, len(payload)) + payload


def test_plain_health_check_over_raw_http2(daemon):
    _, trailers, reset = raw_call(daemon, grpc_frame(b""))
    assert reset is None and trailers is not None and trailers.get("grpc-status") == "0", trailers


def test_compressed_flag_without_grpc_encoding_is_reset_without_status(daemon):
    """A message flagged compressed without `grpc-encoding` is refused by grpc-swift-nio-transport
    before any gongjid code sees it: the stream is reset (no grpc-status, no details). Documented
    in README (Connections, TLS and limits); the daemon keeps serving."""
    _, trailers, reset = raw_call(daemon, grpc_frame(b"\x0a\x00", compressed=True))
    assert trailers is None or trailers.get("grpc-status") != "0", trailers
    assert reset is not None or (trailers is not None and trailers.get("grpc-status") not in (None, "0")), (trailers, reset)
    _, trailers, reset = raw_call(daemon, grpc_frame(b""))
    assert trailers is not None and trailers.get("grpc-status") == "0"


def test_message_over_the_limit_gets_resource_exhausted_with_details(daemon):
    """`gongjid dev` keeps the 4 MiB default: 5 MiB is over the limit and under the transport's
    ceiling (4x), so it is answered RESOURCE_EXHAUSTED (8) with MESSAGE_TOO_LARGE details."""
    _, trailers, reset = raw_call(daemon, grpc_frame(b"\x00" * (5 << 20)))
    assert reset is None and trailers is not None, (trailers, reset)
    assert trailers.get("grpc-status") == "8", trailers
    assert "grpc-status-details-bin" in trailers and "MESSAGE_TOO_LARGE" in trailers.get("grpc-message", ""), trailers
