import Foundation
import GongjiStorage
import PostgresNIO
import Testing

@testable import GongjiPostgres

@Suite("PostgreSQL URLs: one host, or a primary and its standbys")
struct PostgresURLTests {
    @Test("a URL with several hosts is one configuration per host, each with the user, password, database and options")
    func severalHosts() throws {
        let hosts = try PostgresStore.configurations(
            url: "postgres://gongji:s%40cret@db-a:5432,db-b:6543,db-c/gongji?search_path=x", poolSize: 7)
        #expect(hosts.map { $0.host } == ["db-a", "db-b", "db-c"])
        #expect(hosts.map { $0.port } == [5432, 6543, 5432])
        #expect(hosts.allSatisfy { $0.username == "gongji" && $0.password == "s@cret" && $0.database == "gongji" })
        #expect(
            hosts.allSatisfy {
                $0.options.maximumConnections == 7 && $0.options.additionalStartupParameters.contains { $0 == ("search_path", "x") }
            })
        let one = try PostgresStore.configurations(url: "postgres://gongji@127.0.0.1:5432/gongji")
        #expect(one.count == 1 && one[0].host == "127.0.0.1")
        #expect(throws: StoreError.self) { try PostgresStore.configurations(url: "postgres://gongji@a:1,/gongji") }
        #expect(throws: StoreError.self) { try PostgresStore.configurations(url: "mysql://gongji@a,b/gongji") }
    }
}
