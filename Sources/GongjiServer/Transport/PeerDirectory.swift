import GongjiTransport
import NIOCore
import NIOSSL
import Synchronization
import X509

/// The names a verified client certificate carries: its subject common names, then its DNS
/// subject alternative names. Roles are configured for these names.
public struct IdentityNames: Sendable, Hashable {
    /// Common names first, then DNS names.
    public let names: [String]

    /// The names of `certificate`.
    public init(_ certificate: Certificate) {
        var names: [String] = []
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                names.append(String(describing: attribute.value))
            }
        }
        if let sans = try? certificate.extensions.subjectAlternativeNames {
            for name in sans { if case .dnsName(let dns) = name { names.append(dns) } }
        }
        self.names = names
    }

    /// The names of a certificate as the TLS handshake delivered it (empty when it does not parse).
    init(_ certificate: NIOSSLCertificate) {
        if let parsed = try? Certificate(derEncoded: certificate.toDERBytes()) { self.init(parsed) } else { self.init(names: []) }
    }

    private init(names: [String]) {
        self.names = names
    }
}

/// The verified identity of each open connection, keyed by the peer address as calls see it
/// (`ServerContext.remotePeer`, e.g. `ipv4:127.0.0.1:53122`). Filled once per connection when its
/// first HTTP/2 frame arrives (after the handshake), removed when it closes: a call looks its
/// caller up instead of parsing the certificate chain again.
public final class PeerDirectory: Sendable {
    private struct Entry: Sendable {
        var connection: ObjectIdentifier
        var names: IdentityNames
        /// Calls in progress on the connection.
        var calls = 0
        /// When a call last began or ended (or the connection was recorded).
        var lastActive = NIODeadline.now()
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// An empty directory.
    public init() {}

    /// The key of a peer address, formatted as grpc-swift-nio-transport formats `remotePeer`.
    static func key(for address: SocketAddress) -> String? {
        switch address {
        case .v4, .v6: address.port == nil ? nil : peerName(address)
        case .unixDomainSocket: nil
        }
    }

    func insert(_ key: String, connection: ObjectIdentifier, names: IdentityNames) {
        entries.withLock { $0[key] = Entry(connection: connection, names: names) }
    }

    /// Removes the entry of `connection` (a newer connection from the same address keeps its own).
    func remove(_ key: String, connection: ObjectIdentifier) {
        entries.withLock { entries in
            if entries[key]?.connection == connection { entries[key] = nil }
        }
    }

    /// The certificate names of the connection a call arrived on, or nil when it presented none.
    public func names(ofPeer key: String) -> IdentityNames? {
        entries.withLock { $0[key]?.names }
    }

    /// A call began on the connection of `key`.
    func callStarted(_ key: String) {
        entries.withLock { entries in
            entries[key]?.calls += 1
            entries[key]?.lastActive = .now()
        }
    }

    /// A call ended on the connection of `key`.
    func callEnded(_ key: String) {
        entries.withLock { entries in
            entries[key]?.calls -= 1
            entries[key]?.lastActive = .now()
        }
    }

    /// Whether the connection of `key` has no call in progress and has had none since `before`.
    func isIdle(_ key: String, since before: NIODeadline) -> Bool {
        entries.withLock { entries in
            guard let entry = entries[key] else { return false }
            return entry.calls <= 0 && entry.lastActive <= before
        }
    }

    /// When the connection of `key` was last active, if it is recorded.
    func lastActive(_ key: String) -> NIODeadline? {
        entries.withLock { $0[key]?.lastActive }
    }

    /// Connections with a recorded identity.
    public var count: Int { entries.withLock { $0.count } }
}
