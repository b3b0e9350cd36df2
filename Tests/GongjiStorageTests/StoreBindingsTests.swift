import Foundation
import GongjiCore
import Testing

/// The binding part of the store contract (UseCases.swift: createBinding, changeBinding).
@Suite("store contract: bindings")
struct StoreBindingsTests {
    @Test(
        "a binding is created as the core decides, recorded with its event, listed; a retry returns it; refusals write nothing",
        arguments: Backend.all)
    func create(backend: Backend) async throws {
        let world = try await World(backend)
        let authorizer = try await world.employee(World.id(1))
        let child = try await world.resident(World.id(2, born: "2010-06-01"), name: "王小明")
        let request = BindingRequest(memberIDNumber: child.value, memberName: "王小明", relationship: .child, startDate: world.today)
        let actor = ChangeActor(certificateIdentity: "gw", endUser: authorizer, requestID: "b1")
        let created = try await world.store.createBinding(
            request, endUser: authorizer, id: "b1", key: world.key("b1"), actor: actor,
            policies: world.policies, today: world.today, now: world.now)
        #expect(created.binding.status == .active && created.binding.region == .hohhot && created.createdAt == world.now)
        #expect(try await world.store.binding(id: "b1") == created)
        let retried = try await world.store.createBinding(
            request, endUser: authorizer, id: "b-other", key: world.key("b1"), actor: actor,
            policies: world.policies, today: world.today, now: world.now)
        #expect(retried == created, "a retry returns the first binding")
        #expect(
            await refusal {
                try await world.store.createBinding(
                    request, endUser: authorizer, id: "b2", key: nil, actor: actor,
                    policies: world.policies, today: world.today, now: world.now)
            }
                == "BINDING_ALREADY_EXISTS")
        #expect(
            await refusal {
                try await world.store.createBinding(
                    request, endUser: World.id(7), id: "b3", key: nil, actor: actor,
                    policies: world.policies, today: world.today, now: world.now)
            }
                == "AUTHORIZER_NOT_FOUND")
        var misnamed = request
        misnamed.memberName = "王小华"
        #expect(
            await refusal {
                try await world.store.createBinding(
                    misnamed, endUser: authorizer, id: "b4", key: nil, actor: actor,
                    policies: world.policies, today: world.today, now: world.now)
            }
                == "NAME_MISMATCH")
        #expect(try await world.store.binding(id: "b4") == nil)
        let events = try await world.store.bindingEvents(id: "b1")
        #expect(events.map(\.status) == ["active"] && events.first?.endUser == authorizer.value && events.first?.requestID == "b1")
        #expect(try await world.store.bindings(of: authorizer, as: .authorizer, before: nil, limit: 10).map(\.binding.id) == ["b1"])
        #expect(try await world.store.bindings(of: child, as: .member, before: nil, limit: 10).map(\.binding.id) == ["b1"])
        #expect(try await world.store.bindings(of: child, as: .authorizer, before: nil, limit: 10).isEmpty)
    }

    @Test(
        "R-BIND-2a every relationship the vocabulary knows is stored when the region's policy allows it (the schema checks vocabulary, not policy)",
        arguments: Backend.all)
    func everyRelationship(backend: Backend) async throws {
        var world = try await World(backend)
        var hohhot = try #require(world.policies.policy(of: .hohhot))
        hohhot.member.relationships = Relationship.allCases
        hohhot.member.limit = nil
        world = world.withPolicies(try PolicyBook([hohhot]))
        let authorizer = try await world.employee(World.id(1, born: "1980-03-15"))
        let born: [Relationship: String] = [
            .spouse: "1981-01-01", .parent: "1955-01-01", .child: "2010-06-01",
            .grandparent: "1930-01-01", .grandchild: "2020-06-01", .sibling: "1983-01-01",
        ]
        for (index, relationship) in Relationship.allCases.enumerated() {
            let member = try await world.resident(World.id(20 + index, born: born[relationship]!), name: "亲属\(index)")
            let request = BindingRequest(
                memberIDNumber: member.value, memberName: "亲属\(index)", relationship: relationship, startDate: world.today)
            let created = try await world.store.createBinding(
                request, endUser: authorizer, id: "rel-\(relationship)", key: nil, actor: world.actor,
                policies: world.policies, today: world.today, now: world.now)
            #expect(created.binding.relationship == relationship)
            #expect(try await world.store.binding(id: "rel-\(relationship)")?.binding.relationship == relationship)
        }
    }

    @Test("R-BIND-4 concurrent requests cannot pass the member limit together", arguments: Backend.all)
    func concurrentLimit(backend: Backend) async throws {
        let world = try await World(backend)
        let authorizer = try await world.employee(World.id(1))
        var children: [ResidentID] = []
        for index in 0..<10 { children.append(try await world.resident(World.id(10 + index, born: "2010-06-01"), name: "孩子\(index)")) }
        let outcomes = await withTaskGroup(of: String?.self) { group in
            for (index, child) in children.enumerated() {
                group.addTask {
                    await refusal { try await world.bind(authorizer, child, name: "孩子\(index)", id: "c\(index)") }
                }
            }
            return await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == 6, "Hohhot's limit is 6")
        #expect(outcomes.filter { $0 == "MEMBER_LIMIT_REACHED" }.count == 4)
    }

    @Test(
        "changes: a reviewer approves or rejects a pending binding; the authorizer revokes; others are refused",
        arguments: Backend.all)
    func changes(backend: Backend) async throws {
        let world = try await World(backend)
        let authorizer = try await world.employee(World.id(1, area: "340503"), region: .maanshan)
        let first = try await world.resident(World.id(2, area: "340503", born: "2010-06-01"), name: "张一", region: .maanshan)
        let second = try await world.resident(World.id(3, area: "340503", born: "2011-06-01"), name: "张二", region: .maanshan)
        for (member, name, id) in [(first, "张一", "m1"), (second, "张二", "m2")] {
            let request = BindingRequest(memberIDNumber: member.value, memberName: name, relationship: .child, startDate: world.today)
            let pending = try await world.store.createBinding(
                request, endUser: authorizer, id: id, key: nil, actor: world.actor,
                policies: world.policies, today: world.today, now: world.now)
            #expect(pending.binding.status == .pending)
        }
        #expect(try await world.store.pendingBindings(region: .maanshan, after: nil, limit: 10).map(\.binding.id) == ["m1", "m2"])
        #expect(try await world.store.pendingBindings(region: .hohhot, after: nil, limit: 10).isEmpty)
        let approved = try await world.store.changeBinding(
            id: "m1", .review(.approve), key: world.key("a"), actor: world.actor, now: world.now + 5)
        #expect(approved.binding.status == .active && approved.updatedAt == world.now + 5)
        #expect(
            try await world.store.changeBinding(id: "m1", .review(.approve), key: world.key("a"), actor: world.actor, now: world.now)
                == approved)
        let rejected = try await world.store.changeBinding(
            id: "m2", .review(.reject(reason: " 材料不全 ")), key: nil, actor: world.actor, now: world.now)
        #expect(rejected.binding.status == .rejected && rejected.binding.rejectionReason == "材料不全")
        #expect(
            await refusal { try await world.store.changeBinding(id: "m2", .review(.approve), key: nil, actor: world.actor, now: world.now) }
                == "BINDING_REJECTED")
        #expect(
            await refusal {
                try await world.store.changeBinding(id: "nope", .review(.approve), key: nil, actor: world.actor, now: world.now)
            }
                == "BINDING_NOT_FOUND")
        #expect(
            await refusal {
                try await world.store.changeBinding(id: "nope", .revoke(by: authorizer), key: nil, actor: world.actor, now: world.now)
            }
                == "NOT_PARTY", "to an end user a missing binding looks like someone else's")
        #expect(
            await refusal {
                try await world.store.changeBinding(id: "m1", .revoke(by: World.id(8)), key: nil, actor: world.actor, now: world.now)
            }
                == "NOT_PARTY")
        let revoked = try await world.store.changeBinding(id: "m1", .revoke(by: authorizer), key: nil, actor: world.actor, now: world.now)
        #expect(revoked.binding.status == .revoked && revoked.binding.endedBy == .authorizer)
        #expect(try await world.store.binding(id: "m1")?.binding.endedBy == .authorizer)
        #expect(try await world.store.bindingEvents(id: "m1").map(\.status) == ["pending", "active", "revoked"])
        #expect(try await world.store.pendingBindings(region: nil, after: nil, limit: 10).isEmpty)
    }

    @Test("lists page by cursor: newest first for a person, oldest first for review", arguments: Backend.all)
    func paging(backend: Backend) async throws {
        let world = try await World(backend)
        let authorizer = try await world.employee(World.id(1))
        for index in 0..<3 {
            let child = try await world.resident(World.id(10 + index, born: "2010-06-01"), name: "孩子\(index)")
            _ = try await world.bind(authorizer, child, name: "孩子\(index)", id: "p\(index)")
        }
        let first = try await world.store.bindings(of: authorizer, as: .authorizer, before: nil, limit: 2)
        #expect(first.map(\.binding.id) == ["p2", "p1"])
        let rest = try await world.store.bindings(of: authorizer, as: .authorizer, before: first.last?.seq, limit: 2)
        #expect(rest.map(\.binding.id) == ["p0"])
    }
}
