import Foundation
import GongjiCore
import Testing

/// R-LTC-1 in the store contract, on every backend.
@Suite("store contract: long-term-care contribution")
struct StoreLongTermCareTests {
    @Test(
        "R-LTC-1 the resident premium and the long-term-care contribution of one member and year are paid once each, stored with their kind",
        arguments: Backend.all)
    func oncePerKind(backend: Backend) async throws {
        var world = try await World(backend)
        var hohhot = try #require(world.policies.policy(of: .hohhot))
        hohhot.longTermCare = [
            .init(
                year: 2025, amount: .yuan(100), windowStart: CivilDate(year: 2024, month: 9, day: 1)!,
                windowEnd: CivilDate(year: 2025, month: 2, day: 28)!)
        ]
        world = world.withPolicies(try PolicyBook([hohhot]))
        let authorizer = try await world.employee(World.id(1), balance: .yuan(1000))
        let child = try await world.resident(World.id(2, born: "2010-06-01"), name: "王小明")
        _ = try await world.bind(authorizer, child, name: "王小明", id: "b1")
        func pay(_ id: String, _ kind: PremiumKind, total: Money) async throws -> PaymentRecord {
            var order = world.order("b1", total: total)
            order.kind = kind
            return try await world.store.pay(
                order, endUser: authorizer, paymentID: id, key: nil, policies: world.policies, today: world.today, now: world.now
            ).record
        }
        let care = try await pay("p-care", .longTermCare, total: .yuan(100))
        #expect(care.kind == .longTermCare)
        let premium = try await pay("p-premium", .resident, total: .yuan(405))
        #expect(premium.kind == .resident)
        #expect(await refusal { try await pay("p-care-2", .longTermCare, total: .yuan(100)) } == "PREMIUM_ALREADY_PAID")
        #expect(await refusal { try await pay("p-premium-2", .resident, total: .yuan(405)) } == "PREMIUM_ALREADY_PAID")
        #expect(try await world.store.payment(id: "p-care")?.kind == .longTermCare)
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(495))
        #expect(try await world.store.ledgerSum() == .zero)
    }
}
