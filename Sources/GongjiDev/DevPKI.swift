import Crypto
import Foundation
import SwiftASN1
import X509

/// A throwaway certificate authority with a server certificate and one client certificate per
/// identity, for dev mode and tests. Production PKI comes from `deploy/pki/`.
public struct DevPKI: Sendable {
    /// A certificate with its private key, as PEM.
    public struct Issued: Sendable {
        /// PEM certificate.
        public var certificatePEM: String
        /// PEM private key (PKCS#8).
        public var privateKeyPEM: String
    }

    /// The CA certificate (PEM).
    public let caCertificatePEM: String
    private let caKey: P256.Signing.PrivateKey
    private let caName: DistinguishedName
    private let caKeyIdentifier: SubjectKeyIdentifier

    /// Creates a new CA named `name`.
    public init(name: String = "Gongji Dev CA", now: Date = Date()) throws {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName("Gongji")
            CommonName(name)
        }
        self.caKey = caKey
        self.caName = caName
        let keyIdentifier = SubjectKeyIdentifier(hash: .init(caKey.publicKey))
        self.caKeyIdentifier = keyIdentifier
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(3650 * 86400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                keyIdentifier
            },
            issuerPrivateKey: .init(caKey))
        caCertificatePEM = try certificate.serializeAsPEM().pemString
    }

    /// Issues a server certificate for `localhost` and 127.0.0.1 (plus `hosts`).
    public func issueServer(hosts: [String] = [], validDays: Double = 825, now: Date = Date()) throws -> Issued {
        var names: [GeneralName] = [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))]
        names += hosts.map { GeneralName.dnsName($0) }
        return try issue(commonName: "localhost", usage: .serverAuth, names: names, validDays: validDays, now: now)
    }

    /// Issues a client certificate whose subject common name and DNS SAN are `identity`.
    public func issueClient(identity: String, validDays: Double = 825, now: Date = Date()) throws -> Issued {
        try issue(commonName: identity, usage: .clientAuth, names: [.dnsName(identity)], validDays: validDays, now: now)
    }

    private func issue(
        commonName: String, usage: ExtendedKeyUsage.Usage, names: [GeneralName], validDays: Double,
        now: Date
    ) throws -> Issued {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("Gongji")
            CommonName(commonName)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(validDays * 86400),
            issuer: caName, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([usage])
                SubjectAlternativeNames(names)
                // Must equal the CA's subject key identifier, or BoringSSL cannot find the issuer.
                AuthorityKeyIdentifier(keyIdentifier: self.caKeyIdentifier.keyIdentifier)
            },
            issuerPrivateKey: .init(caKey))
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }
}
