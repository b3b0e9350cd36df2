import Foundation
import GongjiCore

/// Reads every `*.json5` file of the policy directory into a `PolicyBook`.
public enum PolicyLoader {
    /// Loads and validates all policies; the first bad file fails the whole load (naming it).
    public static func load(directory: String) throws(DomainError) -> PolicyBook {
        let url = URL(fileURLWithPath: directory)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".json5") }.sorted()
        } catch {
            throw .policyInvalid(source: directory, field: "", problem: "cannot list the policy directory")
        }
        guard !names.isEmpty else { throw .policyInvalid(source: directory, field: "", problem: "holds no *.json5 policy file") }
        var policies: [RegionPolicy] = []
        for name in names {
            let file = url.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw .policyInvalid(source: file.path, field: "", problem: "cannot read the file")
            }
            policies.append(try RegionPolicy.decode(json5: data, source: file.path))
        }
        do {
            return try PolicyBook(policies)
        } catch {
            throw DomainError.policyInvalid(source: directory, field: error.field, problem: error.problem)
        }
    }
}
