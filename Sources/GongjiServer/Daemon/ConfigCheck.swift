import Foundation
import GongjiCore
import NIOSSL

/// `gongjid check-config`: everything `build` would check, without opening the database for
/// writing or listening: certificates and keys parse, the key file is valid, policies load.
public enum ConfigCheck {
    /// Throws the first problem found, naming the key or file.
    public static func run(_ config: GongjiConfig) throws {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(config.tls.certificate)
            guard !chain.isEmpty else { throw ConfigError(key: "tls.certificate", problem: "holds no certificate") }
        } catch let error as ConfigError { throw error } catch {
            throw ConfigError(key: "tls.certificate", problem: "\(config.tls.certificate) is not a PEM certificate chain (\(error))")
        }
        do { _ = try NIOSSLPrivateKey(file: config.tls.privateKey, format: .pem) } catch {
            throw ConfigError(key: "tls.private_key", problem: "\(config.tls.privateKey) is not a PEM private key")
        }
        do {
            let roots = try NIOSSLCertificate.fromPEMFile(config.tls.clientCA)
            guard !roots.isEmpty else { throw ConfigError(key: "tls.client_ca", problem: "holds no certificate") }
        } catch let error as ConfigError { throw error } catch {
            throw ConfigError(key: "tls.client_ca", problem: "\(config.tls.clientCA) is not a PEM certificate bundle")
        }
        _ = try Secrets(keyFile: config.secrets.keyFile)
        do { _ = try PolicyLoader.load(directory: config.policies.directory) } catch {
            throw ConfigError(key: "policies.directory", problem: error.description)
        }
    }
}
