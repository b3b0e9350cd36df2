import Foundation
import NIOCertificateReloading
import NIOCore
import NIOSSL
import SwiftASN1
import Synchronization
import X509

/// The server's certificate, key and trusted client CAs, replaceable at run time (SIGHUP) without
/// dropping connections: new handshakes use the new material, established connections keep theirs.
/// A bad new file is refused and the running material stays.
public final class TLSMaterial: CertificateReloader, Sendable {
    private struct Current: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
        var roots: [Certificate]
    }

    private let current: Mutex<Current>
    let certificatePath: String
    let privateKeyPath: String
    let clientCAPath: String

    /// Loads the three files; throws a `ConfigError` naming the key of a bad one.
    public init(certificate: String, privateKey: String, clientCA: String) throws(ConfigError) {
        certificatePath = certificate
        privateKeyPath = privateKey
        clientCAPath = clientCA
        current = Mutex(try Self.load(certificate: certificate, privateKey: privateKey, clientCA: clientCA))
    }

    /// Refuses a file that cannot be read, naming its key, before its contents are judged: so
    /// `run`, `check-config` and a reload say the same of a missing or unreadable file.
    static func checkReadable(certificate: String, privateKey: String, clientCA: String) throws(ConfigError) {
        for (path, key) in [(certificate, "tls.certificate"), (privateKey, "tls.private_key"), (clientCA, "tls.client_ca")]
        where !FileManager.default.isReadableFile(atPath: path) {
            throw ConfigError(key: key, problem: "cannot read \(path)")
        }
    }

    private static func load(certificate: String, privateKey: String, clientCA: String) throws(ConfigError) -> Current {
        try checkReadable(certificate: certificate, privateKey: privateKey, clientCA: clientCA)
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw ConfigError(key: "tls.certificate", problem: "\(certificate) is not a PEM certificate chain")
        }
        guard let leaf = chain.first else { throw ConfigError(key: "tls.certificate", problem: "\(certificate) holds no certificate") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: privateKey, format: .pem) } catch {
            throw ConfigError(key: "tls.private_key", problem: "\(privateKey) is not a PEM private key")
        }
        do {
            let leafCertificate = try Certificate(derEncoded: try leaf.toDERBytes())
            let keyText = try String(contentsOfFile: privateKey, encoding: .utf8)
            guard try Certificate.PrivateKey(pemEncoded: keyText).publicKey == leafCertificate.publicKey else {
                throw ConfigError(key: "tls.private_key", problem: "\(privateKey) does not belong to the certificate in \(certificate)")
            }
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(key: "tls.private_key", problem: "cannot compare \(privateKey) with the certificate (\(error))")
        }
        let roots: [Certificate]
        do {
            let text = try String(contentsOfFile: clientCA, encoding: .utf8)
            roots = try PEMDocument.parseMultiple(pemString: text).map { try Certificate(pemDocument: $0) }
        } catch {
            throw ConfigError(key: "tls.client_ca", problem: "\(clientCA) is not a PEM certificate bundle")
        }
        guard !roots.isEmpty else { throw ConfigError(key: "tls.client_ca", problem: "\(clientCA) holds no certificate") }
        return Current(chain: chain, key: key, roots: roots)
    }

    /// Reads the files again; on any problem the running material stays and the error says why.
    public func reload() throws(ConfigError) {
        let fresh = try Self.load(certificate: certificatePath, privateKey: privateKeyPath, clientCA: clientCAPath)
        current.withLock { $0 = fresh }
    }

    /// The certificate and key for the next handshake.
    public var sslContextConfigurationOverride: NIOSSLContextConfigurationOverride {
        let material = current.withLock { $0 }
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = material.chain.map { .certificate($0) }
        override.privateKey = .privateKey(material.key)
        return override
    }

    /// The current certificate chain, for the server's initial TLS configuration.
    var certificateSources: [NIOSSLCertificateSource] { current.withLock { $0.chain.map { .certificate($0) } } }
    /// The current private key, for the server's initial TLS configuration.
    var privateKeySource: NIOSSLPrivateKeySource { current.withLock { .privateKey($0.key) } }

    /// When the server certificate and the earliest client CA stop being valid (for the
    /// `gongji_certificate_expiry_seconds` gauge).
    var expiries: [(certificate: String, notValidAfter: Date)] {
        let (chain, roots) = current.withLock { ($0.chain, $0.roots) }
        var result: [(String, Date)] = []
        if let leaf = chain.first.flatMap({ try? Certificate(derEncoded: $0.toDERBytes()) }) {
            result.append(("server", leaf.notValidAfter))
        }
        if let earliest = roots.map(\.notValidAfter).min() { result.append(("client_ca", earliest)) }
        return result
    }

    /// Whether a certificate may authenticate a client: when it carries an extended key usage,
    /// that must include clientAuth (or anyExtendedKeyUsage). A server-only certificate issued by
    /// the same CA is not a client certificate.
    static func isClientCertificate(_ certificate: Certificate) -> Bool {
        do {
            // No extension: any use (RFC 5280 4.2.1.12). A malformed one: refused.
            guard let usage = try certificate.extensions.extendedKeyUsage else { return true }
            return usage.contains(.clientAuth) || usage.contains(.any)
        } catch {
            return false
        }
    }

    /// Verifies a client's chain against the current trusted CAs (RFC 5280 path validation) and
    /// checks that the leaf is meant for client authentication.
    @Sendable
    public func verify(_ certificates: [NIOSSLCertificate], _ promise: EventLoopPromise<NIOSSLVerificationResultWithMetadata>) {
        let roots = current.withLock { $0.roots }
        promise.completeWithTask {
            guard let leaf = certificates.first.flatMap({ try? Certificate(derEncoded: $0.toDERBytes()) }),
                Self.isClientCertificate(leaf)
            else { return .failed }
            let intermediates = certificates.dropFirst().compactMap { try? Certificate(derEncoded: $0.toDERBytes()) }
            var verifier = Verifier(rootCertificates: CertificateStore(roots)) { RFC5280Policy() }
            let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates))
            guard case .validCertificate(let chain) = result else { return .failed }
            let validated = chain.compactMap { certificate -> NIOSSLCertificate? in
                var serializer = DER.Serializer()
                guard (try? serializer.serialize(certificate)) != nil else { return nil }
                return try? NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
            }
            guard validated.count == chain.count else { return .failed }
            return .certificateVerified(VerificationMetadata(ValidatedCertificateChain(validated)))
        }
    }
}
