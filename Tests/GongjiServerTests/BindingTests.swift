import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiProto
import GongjiServer
import Testing

@Suite("Documents and bindings end to end", .serialized)
struct BindingTests {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    func files(in daemon: TestDaemon) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: daemon.config.documents.directory).filter { $0 != "tmp" }.sorted()
    }

    func tempFiles(in daemon: TestDaemon) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: daemon.config.documents.directory + "/tmp")
    }

    /// Uploads a front and a back image as the Hohhot authorizer and returns their ids.
    func uploadPair(_ client: Client, seed: UInt8 = 1, as user: String = Demo.hohhotAuthorizer) async throws -> (String, String) {
        let front = try await upload(client, fakeJPEG(size: 300_000, seed: seed), side: .front, as: user)
        let back = try await upload(client, fakePNG(size: 200_000 + Int(seed)), side: .back, as: user)
        return (front.documentID, back.documentID)
    }

    @Test(
        "a document file without its row (the daemon killed between the file and the row) is removed when the daemon starts; files with rows stay"
    )
    func orphanFilesRemovedAtStart() async throws {
        let daemon = try await TestDaemon.start()
        let kept = try await daemon.withClient("gateway") {
            try await upload($0, fakeJPEG(size: 2000, seed: 3), side: .front, as: Demo.hohhotAuthorizer)
        }
        let (directory, pki) = (daemon.directory, daemon.pki)
        await daemon.stop()
        let orphan = String(repeating: "ab", count: 32)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: daemon.config.documents.directory).appendingPathComponent(orphan))
        let restarted = try await TestDaemon.start(directory: directory, pki: pki)
        defer { Task { await restarted.stop() } }
        #expect(try files(in: restarted) == [kept.documentID])
    }

    @Test("R-DOC-1 uploads in pieces are hashed, identified by SHA-256 and stored once")
    func uploads() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        let image = fakeJPEG(size: 1_500_000, seed: 7)
        try await daemon.withClient("gateway") { client in
            let first = try await upload(client, image, side: .front, as: Demo.hohhotAuthorizer, chunk: 100_000)
            #expect(first.documentID == sha256Hex(image))
            #expect(first.sizeBytes == Int64(image.count))
            #expect(first.mediaType == "image/jpeg")
            #expect(!first.deduplicated)
            let again = try await upload(client, image, side: .front, as: Demo.hohhotAuthorizer, chunk: 333_333)
            #expect(again.documentID == first.documentID && again.deduplicated)
            #expect(try files(in: daemon) == [first.documentID])
            let png = try await upload(client, fakePNG(size: 5000), side: .back, as: Demo.hohhotAuthorizer)
            #expect(png.mediaType == "image/png")
            let conflict = await rpcFailure { try await upload(client, image, side: .back, as: Demo.hohhotAuthorizer) }
            #expect(conflict?.reason == "DOCUMENT_SIDE_CONFLICT")
        }
    }

    @Test("R-DOC-2 non-images, oversize, empty and cancelled uploads keep nothing")
    func refusedUploads() async throws {
        var limits = GongjiConfig.Limits()
        limits.messageBytesMax = 2 << 20
        let daemon = try await TestDaemon.start(limits: limits)
        defer { Task { await daemon.stop() } }
        try await daemon.withClient("gateway") { client in
            let pdf = Array("%PDF-1.7\n".utf8) + [UInt8](repeating: 0x20, count: 50_000)
            let notImage = await rpcFailure { try await upload(client, pdf, side: .front, as: Demo.hohhotAuthorizer) }
            #expect(notImage?.code == .invalidArgument && notImage?.reason == "NOT_AN_IMAGE")
            // A JPEG header with the wrong declared type is still judged by its bytes; a cut-off JPEG is not an image.
            let truncated = await rpcFailure {
                try await upload(client, Array(fakeJPEG(size: 10_000).dropLast(2)), side: .front, as: Demo.hohhotAuthorizer)
            }
            #expect(truncated?.reason == "NOT_AN_IMAGE")
            let big = await rpcFailure {
                try await upload(client, fakeJPEG(size: 11 << 20), side: .front, as: Demo.hohhotAuthorizer, chunk: 1 << 20)
            }
            #expect(big?.code == .invalidArgument && big?.reason == "DOCUMENT_TOO_LARGE")
            let empty = await rpcFailure { try await upload(client, [], side: .front, as: Demo.hohhotAuthorizer) }
            #expect(empty?.reason == "DOCUMENT_EMPTY")
            let cancelled = await rpcFailure {
                try await upload(client, fakeJPEG(size: 900_000), side: .front, as: Demo.hohhotAuthorizer, failAfter: 3)
            }
            #expect(cancelled != nil)
            let noSide = await rpcFailure {
                try await Gongji_V1_DocumentService.Client(wrapping: client).uploadIdentityDocument(
                    metadata: endUser(Demo.hohhotAuthorizer),
                    options: failFast
                ) { writer in
                    try await writer.write(.with { $0.chunk = Data([1, 2, 3]) })
                }
            }
            #expect(noSide?.reason == "UPLOAD_METADATA_REQUIRED")
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try files(in: daemon).isEmpty, "nothing of a refused upload is kept")
        #expect(try tempFiles(in: daemon).isEmpty, "no temporary file is left behind")
        #expect(try await daemon.daemon.store.documentIDs().isEmpty)
    }

    @Test("R-DOC-3 no plaintext image bytes are on disk; a corrupted file is reported, never served")
    func encryptedAtRest() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let image = fakeJPEG(size: 200_000, seed: 9)
        let id = try await daemon.withClient("gateway") { client in
            try await upload(client, image, side: .front, as: Demo.hohhotAuthorizer).documentID
        }
        // Look for any 32-byte run of the image in every file the daemon wrote.
        let probes = stride(from: 0, to: image.count - 32, by: 4096).map { Array(image[$0..<($0 + 32)]) }
        let enumerator = FileManager.default.enumerator(atPath: daemon.directory.path)!
        var scanned = 0
        while let name = enumerator.nextObject() as? String {
            let url = daemon.directory.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url), !data.isEmpty else { continue }
            scanned += 1
            for probe in probes { #expect(data.range(of: Data(probe)) == nil, "plaintext found in \(name)") }
        }
        #expect(scanned >= 2)
        // The reviewer reads it back intact.
        let read = try await daemon.withClient("reviewer") { client in
            try await Gongji_V1_ReviewService.Client(wrapping: client).readIdentityDocument(.with { $0.documentID = id }, options: failFast)
            { response in
                var bytes: [UInt8] = []
                var info: Gongji_V1_DocumentInfo? = nil
                for try await message in response.messages {
                    switch message.payload {
                    case .metadata(let m): info = m
                    case .chunk(let c): bytes += c
                    case nil: break
                    }
                }
                return (info, bytes)
            }
        }
        #expect(read.0?.side == .front && read.1 == image)
        // Only a reviewer may read documents.
        let gateway = try await daemon.withClient("gateway") { client in
            await statusCode {
                try await Gongji_V1_ReviewService.Client(wrapping: client).readIdentityDocument(
                    .with { $0.documentID = id }, options: failFast
                ) { response in
                    for try await _ in response.messages {}
                }
            }
        }
        #expect(gateway == .permissionDenied)
        // Flip one byte in the middle of the stored file.
        let path = daemon.config.documents.directory + "/" + id
        var stored = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        stored[stored.count / 2] ^= 0x01
        try Data(stored).write(to: URL(fileURLWithPath: path))
        let corrupted = try await daemon.withClient("reviewer") { client in
            await rpcFailure {
                try await Gongji_V1_ReviewService.Client(wrapping: client).readIdentityDocument(
                    .with { $0.documentID = id }, options: failFast
                ) { response in
                    var chunks = 0
                    for try await message in response.messages { if case .chunk = message.payload { chunks += 1 } }
                    return chunks
                }
            }
        }
        #expect(corrupted?.code == .dataLoss && corrupted?.reason == "DOCUMENT_CORRUPTED", "\(String(describing: corrupted))")
    }

    @Test("R-BIND-6 hohhot binds at once; a retried create returns the same binding; key reuse is refused")
    func hohhotBinding() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let today = daemon.clock.today()
        try await daemon.withClient("gateway") { client in
            let (front, back) = try await uploadPair(client)
            let bindings = Gongji_V1_BindingService.Client(wrapping: client)
            let request = createRequest("req-1", member: Demo.hohhotChild, name: "王小明", start: today, front: front, back: back)
            let created = try await bindings.createBinding(request, metadata: endUser(Demo.hohhotAuthorizer), options: failFast).binding
            #expect(created.status == .active)
            #expect(created.frontDocumentID == front && created.commitment.version == "hohhot-2024-09")
            let retried = try await bindings.createBinding(request, metadata: endUser(Demo.hohhotAuthorizer), options: failFast).binding
            #expect(retried.bindingID == created.bindingID)
            var other = request
            other.memberName = "王小红"
            let reused = await rpcFailure {
                try await bindings.createBinding(other, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            }
            #expect(reused?.code == .alreadyExists && reused?.reason == "REQUEST_ID_REUSED")
            let events = try await daemon.daemon.store.bindingEvents(id: created.bindingID)
            #expect(events.count == 1)
            #expect(
                events.first?.identity == TestPKI.identities["gateway"] && events.first?.endUser == Demo.hohhotAuthorizer
                    && events.first?.requestID == "req-1")
        }
    }

    @Test("each binding rule's rejection carries its reason in the status details")
    func rejections() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let today = daemon.clock.today()
        try await daemon.withClient("gateway") { client in
            let (front, back) = try await uploadPair(client)
            let bindings = Gongji_V1_BindingService.Client(wrapping: client)
            func attempt(_ request: Gongji_V1_CreateBindingRequest, as user: String = Demo.hohhotAuthorizer) async -> RPCError? {
                await rpcFailure { try await bindings.createBinding(request, metadata: endUser(user), options: failFast) }
            }
            let cases: [(Gongji_V1_CreateBindingRequest, String, RPCError.Code)] = [
                (
                    createRequest("a", member: Demo.hohhotChild, name: "王小红", start: today, front: front, back: back), "NAME_MISMATCH",
                    .invalidArgument
                ),
                (
                    createRequest(
                        "b", member: String(Demo.hohhotChild.dropLast()) + "0", name: "王小明", start: today, front: front, back: back),
                    "ID_NUMBER_CHECK_FAILED", .invalidArgument
                ),
                (
                    createRequest("c", member: Demo.hohhotParent, name: "王老汉", start: today, front: front, back: back),
                    "RELATIONSHIP_IMPLAUSIBLE", .invalidArgument
                ),
                (
                    createRequest("d", member: Demo.hohhotChild, name: "王小明", start: today.adding(days: -1), front: front, back: back),
                    "START_DATE_IN_PAST", .invalidArgument
                ),
                (
                    createRequest("e", member: Demo.hohhotChild, name: "王小明", start: today, front: front, back: back, version: ""),
                    "COMMITMENT_REQUIRED", .invalidArgument
                ),
                (
                    createRequest("f", member: Demo.hohhotChild, name: "王小明", start: today, front: front), "ID_IMAGES_REQUIRED",
                    .invalidArgument
                ),
                (
                    createRequest("g", member: Demo.hohhotChild, name: "王小明", start: today, front: back, back: front),
                    "DOCUMENT_SIDE_MISMATCH", .invalidArgument
                ),
                (
                    createRequest(
                        "i", member: Demo.hohhotAuthorizer, name: "王建国", relationship: .spouse, start: today, front: front, back: back),
                    "SELF_BINDING_NOT_ALLOWED", .invalidArgument
                ),
                (
                    createRequest("j", member: makeID("150102", "20150101", 999), name: "无名", start: today, front: front, back: back),
                    "MEMBER_NOT_FOUND", .notFound
                ),
            ]
            for (request, reason, code) in cases {
                let failure = await attempt(request)
                #expect(failure?.reason == reason, "\(request.requestID): \(String(describing: failure))")
                #expect(failure?.code == code, "\(request.requestID)")
                #expect(failure?.localized?.isEmpty == false)
            }
            let field = await attempt(createRequest("k", member: Demo.hohhotChild, name: "王小明", relationship: .unspecified, start: today))
            #expect(field?.violations.first?.0 == "relationship")
            // Documents must have been uploaded by the authorizer.
            let (otherFront, otherBack) = try await uploadPair(client, seed: 5, as: Demo.ulanqabAuthorizer)
            let foreign = await attempt(
                createRequest("l", member: Demo.hohhotChild, name: "王小明", start: today, front: otherFront, back: otherBack))
            #expect(foreign?.reason == "DOCUMENT_NOT_FOUND")
            let stranger = await attempt(
                createRequest("m", member: Demo.hohhotChild, name: "王小明", start: today, front: front, back: back),
                as: makeID("110105", "19700101", 111))
            #expect(stranger?.reason == "AUTHORIZER_NOT_FOUND")
            let suspended = await attempt(
                createRequest(
                    "n", member: Demo.ulanqabChild, name: "李小明", start: today, front: otherFront, back: otherBack,
                    version: "ulanqab-2024-09"), as: Demo.ulanqabAuthorizer)
            #expect(suspended?.code == .unavailable && suspended?.reason == "FAMILY_PAYMENT_SUSPENDED")
            #expect(suspended?.helpDescriptions.contains { $0.contains("蒙速办") } == true)
            #expect(suspended?.reasonMetadata["hotline"] == "12393")
            let noUser = await rpcFailure {
                try await bindings.createBinding(createRequest("o", member: Demo.hohhotChild, name: "王小明", start: today), options: failFast)
            }
            #expect(noUser?.code == .unauthenticated && noUser?.reason == "END_USER_REQUIRED")
        }
    }

    @Test("R-BIND-4 the 7th member is refused over the wire; R-BIND-3 a second open binding of a pair too")
    func memberLimit() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let children = try await Demo.addHohhotChildren(daemon, count: 7)
        let today = daemon.clock.today()
        try await daemon.withClient("gateway") { client in
            let (front, back) = try await uploadPair(client)
            let bindings = Gongji_V1_BindingService.Client(wrapping: client)
            for (i, child) in children.prefix(6).enumerated() {
                _ = try await bindings.createBinding(
                    createRequest("c\(i)", member: child, name: "孩子\(i)", start: today, front: front, back: back),
                    metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            }
            let seventh = await rpcFailure {
                try await bindings.createBinding(
                    createRequest("c6", member: children[6], name: "孩子6", start: today, front: front, back: back),
                    metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            }
            #expect(seventh?.code == .resourceExhausted && seventh?.reason == "MEMBER_LIMIT_REACHED")
            #expect(seventh?.reasonMetadata["limit"] == "6")
            let duplicate = await rpcFailure {
                try await bindings.createBinding(
                    createRequest("dup", member: children[0], name: "孩子0", start: today, front: front, back: back),
                    metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            }
            #expect(duplicate?.code == .alreadyExists && duplicate?.reason == "BINDING_ALREADY_EXISTS")
        }
    }

    @Test("R-BIND-6 maanshan: pending until a reviewer approves; rejection carries a reason; reviewers page the queue")
    func reviewFlow() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let today = daemon.clock.today()
        let (pending, second) = try await daemon.withClient("gateway") { client in
            let bindings = Gongji_V1_BindingService.Client(wrapping: client)
            let a = try await bindings.createBinding(
                createRequest("m1", member: Demo.maanshanChild, name: "张小明", start: today, version: ""),
                metadata: endUser(Demo.maanshanAuthorizer), options: failFast
            ).binding
            let b = try await bindings.createBinding(
                createRequest(
                    "m2", member: Demo.maanshanSpouse, name: "张秀英", relationship: .spouse,
                    start: today, version: ""),
                metadata: endUser(Demo.maanshanAuthorizer), options: failFast
            ).binding
            return (a, b)
        }
        #expect(pending.status == .pending && second.status == .pending)
        try await daemon.withClient("reviewer") { client in
            let review = Gongji_V1_ReviewService.Client(wrapping: client)
            let page1 = try await review.listPendingBindings(
                .with {
                    $0.pageSize = 1
                    $0.regionCode = "340500"
                }, options: failFast)
            #expect(page1.bindings.map(\.bindingID) == [pending.bindingID])
            let page2 = try await review.listPendingBindings(
                .with {
                    $0.pageSize = 1
                    $0.regionCode = "340500"
                    $0.pageToken = page1.nextPageToken
                },
                options: failFast)
            #expect(page2.bindings.map(\.bindingID) == [second.bindingID] && page2.nextPageToken.isEmpty)
            let approved = try await review.approveBinding(
                .with {
                    $0.requestID = "ap1"
                    $0.bindingID = pending.bindingID
                }, options: failFast)
            #expect(approved.binding.status == .active)
            let retried = try await review.approveBinding(
                .with {
                    $0.requestID = "ap1"
                    $0.bindingID = pending.bindingID
                }, options: failFast)
            #expect(retried.binding.status == .active)
            let again = await rpcFailure {
                try await review.approveBinding(
                    .with {
                        $0.requestID = "ap2"
                        $0.bindingID = pending.bindingID
                    }, options: failFast)
            }
            #expect(again?.code == .failedPrecondition && again?.reason == "BINDING_ACTIVE")
            let noReason = await rpcFailure {
                try await review.rejectBinding(
                    .with {
                        $0.requestID = "rj0"
                        $0.bindingID = second.bindingID
                    }, options: failFast)
            }
            #expect(noReason?.code == .invalidArgument)
            let rejected = try await review.rejectBinding(
                .with {
                    $0.requestID = "rj1"
                    $0.bindingID = second.bindingID
                    $0.reason = "关系证明不足"
                },
                options: failFast)
            #expect(rejected.binding.status == .rejected && rejected.binding.rejectionReason == "关系证明不足")
            let missing = await rpcFailure {
                try await review.approveBinding(
                    .with {
                        $0.requestID = "ap3"
                        $0.bindingID = "nope"
                    }, options: failFast)
            }
            #expect(missing?.code == .notFound)
            #expect(try await review.listPendingBindings(.init(), options: failFast).bindings.isEmpty)
        }
        let events = try await daemon.daemon.store.bindingEvents(id: second.bindingID)
        #expect(events.map(\.status) == ["pending", "rejected"])
        #expect(events.last?.identity == TestPKI.identities["reviewer"])
    }

    @Test(
        "R-BIND-7 the authorizer revokes, R-BIND-10 the member withdraws; parties read, others get PERMISSION_DENIED; lists page newest first"
    )
    func revokeAndRead() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let today = daemon.clock.today()
        try await daemon.withClient("gateway") { client in
            let bindings = Gongji_V1_BindingService.Client(wrapping: client)
            var created: [Gongji_V1_Binding] = []
            for (i, (member, name, relationship)) in [
                (Demo.maanshanChild, "张小明", Gongji_V1_Relationship.child),
                (Demo.maanshanSpouse, "张秀英", .spouse),
                (makeID("340503", "20120202", 246), "张小红", .child),
                (makeID("340503", "19550101", 311), "张老汉", .parent),
            ].enumerated() {
                created.append(
                    try await bindings.createBinding(
                        createRequest(
                            "p\(i)", member: member, name: name, relationship: relationship,
                            start: today, version: ""),
                        metadata: endUser(Demo.maanshanAuthorizer), options: failFast
                    ).binding)
            }
            var seen: [String] = []
            var token = ""
            var pages = 0
            repeat {
                let page = try await bindings.listBindings(
                    .with {
                        $0.perspective = .authorizer
                        $0.pageSize = 3
                        $0.pageToken = token
                    },
                    metadata: endUser(Demo.maanshanAuthorizer), options: failFast)
                seen += page.bindings.map(\.bindingID)
                token = page.nextPageToken
                pages += 1
            } while !token.isEmpty
            #expect(pages == 2)
            #expect(seen == created.reversed().map(\.bindingID))
            let asMember = try await bindings.listBindings(
                .with { $0.perspective = .member }, metadata: endUser(Demo.maanshanChild), options: failFast)
            #expect(asMember.bindings.map(\.bindingID) == [created[0].bindingID])
            let foreignToken = await rpcFailure {
                try await bindings.listBindings(
                    .with {
                        $0.perspective = .member
                        $0.pageToken = token.isEmpty ? "eA" : token
                    },
                    metadata: endUser(Demo.maanshanChild), options: failFast)
            }
            #expect(foreignToken?.reason == "PAGE_TOKEN_INVALID")

            let id = created[0].bindingID
            #expect(
                try await bindings.getBinding(.with { $0.bindingID = id }, metadata: endUser(Demo.maanshanChild), options: failFast).binding
                    .bindingID == id)
            let stranger = await rpcFailure {
                try await bindings.getBinding(.with { $0.bindingID = id }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            }
            #expect(stranger?.code == .permissionDenied && stranger?.reason == "NOT_PARTY")
            let nonexistent = await rpcFailure {
                try await bindings.getBinding(.with { $0.bindingID = "nope" }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            }
            #expect(nonexistent?.code == .permissionDenied, "permission before existence")
            let byStranger = await rpcFailure {
                try await bindings.revokeBinding(
                    .with {
                        $0.requestID = "r0"
                        $0.bindingID = id
                    }, metadata: endUser(Demo.hohhotChild), options: failFast)
            }
            #expect(byStranger?.code == .permissionDenied && byStranger?.reason == "NOT_PARTY")
            // R-BIND-10: the member withdraws from another binding; the record says so.
            let withdrawn = try await bindings.revokeBinding(
                .with {
                    $0.requestID = "w1"
                    $0.bindingID = created[1].bindingID
                },
                metadata: endUser(Demo.maanshanSpouse), options: failFast
            ).binding
            #expect(withdrawn.status == .revoked && withdrawn.endedBy == .member)
            let revoked = try await bindings.revokeBinding(
                .with {
                    $0.requestID = "r1"
                    $0.bindingID = id
                }, metadata: endUser(Demo.maanshanAuthorizer),
                options: failFast)
            #expect(revoked.binding.status == .revoked && revoked.binding.endedBy == .authorizer)
            let twice = await rpcFailure {
                try await bindings.revokeBinding(
                    .with {
                        $0.requestID = "r2"
                        $0.bindingID = id
                    }, metadata: endUser(Demo.maanshanAuthorizer), options: failFast)
            }
            #expect(twice?.reason == "BINDING_REVOKED")
            // History stays: the revoked binding is still listed and readable.
            #expect(
                try await bindings.getBinding(.with { $0.bindingID = id }, metadata: endUser(Demo.maanshanAuthorizer), options: failFast)
                    .binding.status == .revoked)
        }
    }

    @Test("R-DOC-4 uploads no binding uses are removed after the retention time; used ones stay")
    func retention() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let today = daemon.clock.today()
        let (used, unused) = try await daemon.withClient("gateway") { client in
            let (front, back) = try await uploadPair(client)
            _ = try await Gongji_V1_BindingService.Client(wrapping: client).createBinding(
                createRequest("k", member: Demo.hohhotChild, name: "王小明", start: today, front: front, back: back),
                metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            let spare = try await upload(client, fakeJPEG(size: 5000, seed: 42), side: .front, as: Demo.hohhotAuthorizer)
            return (front, spare.documentID)
        }
        #expect(try await daemon.daemon.service.removeExpiredDocuments() == 0)
        daemon.clock.advance(seconds: Int64(daemon.config.retentionSeconds))
        #expect(try await daemon.daemon.service.removeExpiredDocuments() == 1)
        let remaining = try files(in: daemon)
        #expect(remaining.contains(used) && !remaining.contains(unused))
    }
}
