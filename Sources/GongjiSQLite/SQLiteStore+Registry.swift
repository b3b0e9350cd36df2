import Foundation
import GRDB
import GongjiCore
import GongjiStorage

extension SQLiteStore {
    public func person(_ id: ResidentID) async throws -> PersonRecord? {
        try readNow { db in try Self.fetchPerson(id, in: db) }
    }

    static func fetchPerson(_ id: ResidentID, in db: Database) throws -> PersonRecord? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM person WHERE id_number = ?"), arguments: [id.value]) else {
            return nil
        }
        let person = try decodePerson(row, id: id)
        let years = try Int.fetchAll(
            db.cachedStatement(sql: "SELECT year FROM person_paid_year WHERE id_number = ? ORDER BY year"), arguments: [id.value])
        return PersonRecord(person: person, paidYears: years, account: try fetchAccount(id, in: db))
    }

    static func decodePerson(_ row: Row, id: ResidentID) throws -> Person {
        guard let type = InsuranceType(rawValue: row["insurance_type"]),
            let status = InsuranceStatus(rawValue: row["status"]),
            let region = RegionCode(row["region_code"] as Int)
        else { throw StoreError(.database, "person row \(id.masked) does not decode") }
        return Person(
            id: id, name: row["name"], insuranceType: type, status: status, region: region,
            specialCategory: row["special_category"])
    }

    static func fetchAccount(_ id: ResidentID, in db: Database) throws -> PersonalAccount? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM account WHERE id_number = ?"), arguments: [id.value]).map(decodeAccount)
    }

    static func decodeAccount(_ row: Row) throws -> PersonalAccount {
        PersonalAccount(
            owner: try ResidentID.stored(row["id_number"]), year: row["year"], currentYear: Money(fen: row["current_year_fen"]),
            carryOver: Money(fen: row["carry_over_fen"]))
    }

    public func availabilityOverrides() async throws -> [RegionCode: Bool] {
        try await read { db in
            var result: [RegionCode: Bool] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT region_code, suspended FROM region_availability")) {
                if let region = RegionCode(row["region_code"] as Int) { result[region] = row["suspended"] as Bool }
            }
            return result
        }
    }

}
