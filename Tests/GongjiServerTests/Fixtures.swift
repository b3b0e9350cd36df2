import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiBench
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiProto
import GongjiServer
import SwiftProtobuf

/// A valid ID number from a registration code, a birth date and a sequence number.
func makeID(_ code: String, _ born: String, _ sequence: Int) -> String {
    ResidentID.compose(area: code, born: CivilDate(compact: Substring(born))!, sequence: sequence)
}

/// The demo families of dev mode (one per region), as tests use them.
enum Demo {
    static let hohhotAuthorizer = makeID("150102", "19800315", 131)
    static let hohhotSpouse = makeID("150102", "19820707", 422)
    static let hohhotChild = makeID("150102", "20100601", 242)
    static let hohhotChild2 = makeID("150102", "20120202", 246)
    static let hohhotParent = makeID("150102", "19550101", 311)
    static let ulanqabAuthorizer = makeID("150902", "19800315", 131)
    static let ulanqabChild = makeID("150902", "20100601", 242)
    static let ulanqabChild2 = makeID("150902", "20120202", 246)
    static let maanshanAuthorizer = makeID("340503", "19800315", 131)
    static let maanshanChild = makeID("340503", "20100601", 242)
    static let maanshanSpouse = makeID("340503", "19820707", 422)

    /// Loads the demo people into the daemon's registry.
    static func load(_ daemon: TestDaemon) async throws {
        _ = try await daemon.daemon.service.importRows(DevEnvironment.demoRows(today: daemon.clock.today()))
    }

    /// Adds resident children of the Hohhot authorizer (born 2000 + i) and returns their IDs.
    static func addHohhotChildren(
        _ daemon: TestDaemon, count: Int, region: RegionCode = .hohhot, code: String = "150102"
    ) async throws -> [String] {
        var rows: [RegistryRow] = []
        var ids: [String] = []
        for i in 0..<count {
            let id = makeID(code, "20\(String(format: "%02d", i))0101", 500 + i)
            ids.append(id)
            rows.append(
                .person(
                    Person(
                        id: try ResidentID.parse(id, today: daemon.clock.today()), name: "孩子\(i)", insuranceType: .resident,
                        status: .normal, region: region), paidYears: []))
        }
        _ = try await daemon.daemon.service.importRows(rows)
        return ids
    }
}

/// Bytes that pass as a JPEG (the benchmark's generator): different seeds, different content.
func fakeJPEG(size: Int, seed: UInt8 = 1) -> [UInt8] { benchJPEG(size: size, seed: UInt64(seed)) }

/// Bytes that pass as a PNG.
func fakePNG(size: Int) -> [UInt8] {
    let head: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52]
    let tail: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]
    return head + [UInt8](repeating: 0x42, count: max(0, size - head.count - tail.count)) + tail
}

func sha256Hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

/// Uploads `bytes` in chunks as `user`; `failAfter` makes the client abort after that many chunks.
func upload(
    _ client: GRPCClient<HTTP2ClientTransport.Posix>, _ bytes: [UInt8], side: Gongji_V1_DocumentSide, as user: String,
    chunk: Int = 64 * 1024, failAfter: Int? = nil
) async throws -> Gongji_V1_UploadIdentityDocumentResponse {
    try await Gongji_V1_DocumentService.Client(wrapping: client).uploadIdentityDocument(metadata: endUser(user), options: failFast) {
        writer in
        try await writer.write(
            .with {
                $0.metadata = .with {
                    $0.side = side
                    $0.mediaType = "image/jpeg"
                }
            })
        var offset = 0
        var sent = 0
        while offset < bytes.count {
            if let failAfter, sent == failAfter { throw CancellationError() }
            let end = min(offset + chunk, bytes.count)
            try await writer.write(.with { $0.chunk = Data(bytes[offset..<end]) })
            offset = end
            sent += 1
        }
    }
}

/// A create-binding request for `member` with the Hohhot materials.
func createRequest(
    _ requestID: String, member: String, name: String, relationship: Gongji_V1_Relationship = .child,
    start: CivilDate, front: String = "", back: String = "", version: String = "hohhot-2024-09"
) -> Gongji_V1_CreateBindingRequest {
    .with {
        $0.requestID = requestID
        $0.memberIDNumber = member
        $0.memberName = name
        $0.relationship = relationship
        $0.startDate = start.description
        $0.frontDocumentID = front
        $0.backDocumentID = back
        if !version.isEmpty {
            $0.commitment = .with {
                $0.version = version
                $0.acceptTime = Google_Protobuf_Timestamp(seconds: 1_700_000_000)
            }
        }
    }
}
