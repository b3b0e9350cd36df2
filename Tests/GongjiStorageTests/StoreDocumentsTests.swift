import Foundation
import GongjiCore
import Testing

/// The document records of the store contract (UseCases.swift: recordDocument, removeExpiredDocuments).
@Suite("store contract: document records")
struct StoreDocumentsTests {
    @Test("R-DOC-1 the same bytes are recorded once, for one side; R-DOC-4 unused uploads expire, used ones stay", arguments: Backend.all)
    func documents(backend: Backend) async throws {
        let world = try await World(backend)
        let uploader = try await world.employee(World.id(1))
        let front = String(repeating: "a", count: 64)
        let back = String(repeating: "b", count: 64)
        let recorded = try await world.store.recordDocument(
            id: front, side: .front, mediaType: "image/jpeg", size: 10, uploadedBy: uploader,
            now: world.now)
        #expect(recorded == DocumentRecord(id: front, side: .front, mediaType: "image/jpeg", size: 10, uploadedAt: world.now))
        let again = try await world.store.recordDocument(
            id: front, side: .front, mediaType: "image/jpeg", size: 10, uploadedBy: uploader,
            now: world.now + 100)
        #expect(again.uploadedAt == world.now + 100, "a new upload of the same bytes restarts its retention")
        #expect(
            await refusal {
                try await world.store.recordDocument(
                    id: front, side: .back, mediaType: "image/jpeg", size: 10,
                    uploadedBy: uploader, now: world.now)
            } == "DOCUMENT_SIDE_CONFLICT")
        _ = try await world.store.recordDocument(
            id: back, side: .back, mediaType: "image/png", size: 20, uploadedBy: uploader, now: world.now)
        #expect(try await world.store.documentIDs() == [front, back])
        #expect(try await world.store.documentTotals() == (2, 30), "the same bytes again are one document")
        #expect(try await world.store.document(id: back)?.mediaType == "image/png")
        #expect(try await world.store.document(id: "none") == nil)
        #expect(try await world.store.removeExpiredDocuments(now: world.now + 50, retentionSeconds: 100).isEmpty)
        #expect(try await world.store.removeExpiredDocuments(now: world.now + 150, retentionSeconds: 100) == [back])
        #expect(try await world.store.documentIDs() == [front])
        #expect(try await world.store.documentTotals() == (1, 10))
    }

    @Test("a binding finds only the uploader's own documents, and a document a binding uses does not expire", arguments: Backend.all)
    func usedDocuments(backend: Backend) async throws {
        let world = try await World(backend)
        let authorizer = try await world.employee(World.id(1))
        let stranger = try await world.employee(World.id(2))
        let child = try await world.resident(World.id(3, born: "2010-06-01"), name: "王小明")
        let front = String(repeating: "c", count: 64)
        let back = String(repeating: "d", count: 64)
        _ = try await world.store.recordDocument(
            id: front, side: .front, mediaType: "image/jpeg", size: 1, uploadedBy: authorizer, now: world.now)
        _ = try await world.store.recordDocument(
            id: back, side: .back, mediaType: "image/jpeg", size: 1, uploadedBy: stranger, now: world.now)
        var hohhot = try World.policy("hohhot")
        hohhot.materials.commitmentVersions = []
        let withImages = try PolicyBook([hohhot])
        var request = BindingRequest(
            memberIDNumber: child.value, memberName: "王小明", relationship: .child, startDate: world.today,
            frontDocument: front, backDocument: back)
        #expect(
            await refusal {
                try await world.store.createBinding(
                    request, endUser: authorizer, id: "d1", key: nil, actor: world.actor,
                    policies: withImages, today: world.today, now: world.now)
            }
                == "DOCUMENT_NOT_FOUND", "another person's upload is not found")
        _ = try await world.store.recordDocument(
            id: back, side: .back, mediaType: "image/jpeg", size: 1, uploadedBy: authorizer, now: world.now)
        request.backDocument = back
        _ = try await world.store.createBinding(
            request, endUser: authorizer, id: "d1", key: nil, actor: world.actor,
            policies: withImages, today: world.today, now: world.now)
        #expect(try await world.store.removeExpiredDocuments(now: world.now + 1_000_000, retentionSeconds: 100).isEmpty)
    }
}
