"""What the transport allows, shown with a raw HTTP/2 client (the `h2` package) over mutual TLS:
what a gRPC library would never send, an adversary can."""
import socket
import ssl
import struct

import h2.config
import h2.connection
import h2.errors
import h2.events

METHOD = "/grpc.health.v1.Health/Check"


class RawCall:
    """One gRPC request whose body is given whole (prefix included), over its own connection."""

    def __init__(self, daemon):
        pki = f"{daemon.directory}/pki"
        context = ssl.create_default_context(cafile=f"{pki}/ca.pem")
        context.load_cert_chain(f"{pki}/operator.pem", f"{pki}/operator-key.pem")
        context.set_alpn_protocols(["h2"])
        self.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", daemon.port), timeout=10),
                                        server_hostname="localhost")
        self.connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.connection.initiate_connection()
        self.headers, self.trailers, self.reset = {}, None, None

    @property
    def done(self):
        return self.trailers is not None or self.reset is not None

    def pump(self):
        """Sends what is pending, then reads and handles one batch of frames."""
        self.sock.sendall(self.connection.data_to_send())
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        for event in self.connection.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                self.headers = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h2.events.TrailersReceived):
                self.trailers = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h2.events.StreamReset):
                self.reset = event.error_code
            elif isinstance(event, h2.events.StreamEnded) and "grpc-status" in self.headers:
                self.trailers = self.headers  # a trailers-only response
        self.sock.sendall(self.connection.data_to_send())

    def run(self, body):
        """Returns (trailers or None, reset error code or None)."""
        stream = self.connection.get_next_available_stream_id()
        self.connection.send_headers(stream, [(":method", "POST"), (":scheme", "https"), (":path", METHOD),
                                              (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers")])
        offset = 0
        try:
            while offset < len(body) and not self.done:
                window = min(self.connection.local_flow_control_window(stream), self.connection.max_outbound_frame_size)
                if window <= 0:
                    self.pump()  # wait for WINDOW_UPDATE
                    continue
                chunk = body[offset:offset + window]
                offset += len(chunk)
                self.connection.send_data(stream, chunk, end_stream=offset == len(body))
                self.sock.sendall(self.connection.data_to_send())
            if not body:
                self.connection.end_stream(stream)
            while not self.done:
                self.pump()
        except ConnectionError:
            pass
        finally:
            self.sock.close()
        return self.trailers, self.reset


def raw_call(daemon, body):
    return RawCall(daemon).run(body)


def grpc_frame(payload, compressed=False):
    return struct.pack(">BI", 1 if compressed else 0, len(payload)) + payload


def test_plain_health_check_over_raw_http2(daemon):
    trailers, reset = raw_call(daemon, grpc_frame(b""))
    assert reset is None and trailers is not None and trailers.get("grpc-status") == "0", trailers


def test_compressed_flag_without_grpc_encoding_is_reset_without_status(daemon):
    """A message flagged compressed without `grpc-encoding` is refused by grpc-swift-nio-transport
    before any gongjid code sees it: the stream is reset (no grpc-status, no details). Documented
    in README (Connections, TLS and limits); the daemon keeps serving."""
    trailers, reset = raw_call(daemon, grpc_frame(b"\x0a\x00", compressed=True))
    assert trailers is None and reset == h2.errors.ErrorCodes.CANCEL, (trailers, reset)
    trailers, reset = raw_call(daemon, grpc_frame(b""))
    assert trailers is not None and trailers.get("grpc-status") == "0"


def test_message_over_the_limit_gets_resource_exhausted_with_details(daemon):
    """`gongjid dev` keeps the 4 MiB default: 5 MiB is over the limit and under the transport's
    ceiling (4x), so it is answered RESOURCE_EXHAUSTED (8) with MESSAGE_TOO_LARGE details."""
    trailers, reset = raw_call(daemon, grpc_frame(b"\x00" * (5 << 20)))
    assert reset is None and trailers is not None, (trailers, reset)
    assert trailers.get("grpc-status") == "8", trailers
    assert "grpc-status-details-bin" in trailers and "MESSAGE_TOO_LARGE" in trailers.get("grpc-message", ""), trailers
