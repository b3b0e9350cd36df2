import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiCore
import NIOSSL

/// The metadata header in which the gateway names the end user it acts for.
public let endUserHeader = WireNames.endUserHeader

/// Where a client's credentials come from: PEM files or PEM bytes.
public enum PEMSource: Sendable {
    /// A PEM file.
    case file(String)
    /// PEM text.
    case text(String)

    var certificate: TLSConfig.CertificateSource {
        switch self {
        case .file(let path): .file(path: path, format: .pem)
        case .text(let pem): .bytes(Array(pem.utf8), format: .pem)
        }
    }

    var privateKey: TLSConfig.PrivateKeySource {
        switch self {
        case .file(let path): .file(path: path, format: .pem)
        case .text(let pem): .bytes(Array(pem.utf8), format: .pem)
        }
    }
}

/// A mutual-TLS client transport to gongjid, as the operators' CLI and the tests use it.
/// Without `certificate` the client offers no certificate (the server then refuses it).
public func makeClientTransport(
    host: String, port: Int, ca: PEMSource, certificate: PEMSource?, key: PEMSource?,
    serverName: String = "localhost"
) throws -> HTTP2ClientTransport.Posix {
    let configure: (inout HTTP2ClientTransport.Posix.TransportSecurity.TLS) -> Void = { tls in
        tls.trustRoots = .certificates([ca.certificate])
        tls.serverCertificateVerification = .fullVerification
    }
    let security: HTTP2ClientTransport.Posix.TransportSecurity
    if let certificate, let key {
        security = .mTLS(certificateChain: [certificate.certificate], privateKey: key.privateKey, configure: configure)
    } else {
        security = .tls(configure: configure)
    }
    return try HTTP2ClientTransport.Posix(
        target: .ipv4(address: host, port: port),
        transportSecurity: security,
        config: .defaults { config in
            config.http2.authority = serverName
            config.http2.targetWindowSize = 1 << 20
            config.http2.maxFrameSize = 1 << 20
        })
}
