// swift-tools-version: 6.1
import Foundation
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

/// What a command-line gRPC client of gongjid links (the operators' CLI, the load generator).
let commandLineClient: [Target.Dependency] = [
    .product(name: "ArgumentParser", package: "swift-argument-parser"),
    .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    .product(name: "GRPCCore", package: "grpc-swift-2"),
    .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
    .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
]

let package = Package(
    name: "gongji",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gongjid", targets: ["gongjid"]),
        .executable(name: "gongji", targets: ["gongji"]),
        .executable(name: "gongji-load", targets: ["gongji-load"]),
        .library(name: "GongjiCore", targets: ["GongjiCore"]),
        .library(name: "GongjiConfiguration", targets: ["GongjiConfiguration"]),
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        // Exact: GongjiTransport uses this package's `package`-level types (its gRPC stream state machine and
        // connection manager), which may change in any release; a new version is taken on purpose, tests run.
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // Tracing: the API (spans, ServiceContext) and swift-otel's OTLP/gRPC exporter only (no HTTP client).
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPGRPC"]),
    ],
    targets: [
        // The pure domain core: Foundation only, no I/O, no clock.
        .target(name: "GongjiCore", swiftSettings: strictSettings),
        // The daemon's configuration file: decoding, defaults, validation (no I/O beyond reading it).
        .target(
            name: "GongjiConfiguration",
            dependencies: ["GongjiCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        // Code generated from proto/ by scripts/generate-proto (committed).
        .target(
            name: "GongjiProto",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // What every storage backend shares, and the use-case scripts written once above them: the
        // backend contract (facts, apply, once), StoreError, StorageStatus, the document-blob
        // contract, the export order. No database driver.
        // The encrypted document store lives here too (files, or a backend's `DocumentBlobs`).
        .target(
            name: "GongjiStorage",
            dependencies: [
                "GongjiCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),
        // The SQLite backend (GRDB): one file, one writer, group commit.
        .target(
            name: "GongjiSQLite",
            dependencies: [
                "GongjiCore", "GongjiStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The PostgreSQL backend: the same contract as the SQLite one, for several daemons on one database.
        .target(
            name: "GongjiPostgres",
            dependencies: [
                "GongjiCore", "GongjiStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // What every client of gongjid needs: the mutual-TLS transport (the wire's header names are the core's).
        .target(
            name: "GongjiClient",
            dependencies: [
                "GongjiCore",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // The server's gRPC transport: grpc-swift-nio-transport's HTTP/2 pipeline and per-stream gRPC state machine
        // (its package-level types, hence the package name and the exact version) bridged to the server's streams
        // without an async channel per stream.
        .target(
            name: "GongjiTransport",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ],
            packageAccess: false,
            swiftSettings: strictSettings + [.unsafeFlags(["-package-name", "grpc_swift_nio_transport"])]
        ),
        // The application service, gRPC handlers, transport, and the daemon's composition root.
        .target(
            name: "GongjiServer",
            dependencies: [
                "GongjiCore", "GongjiConfiguration", "GongjiStorage", "GongjiSQLite", "GongjiProto", "GongjiPostgres",
                "GongjiTransport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            swiftSettings: strictSettings
        ),
        // What the benchmark's seeding and its load generator share (the manifest): Foundation only.
        .target(name: "GongjiBench", swiftSettings: strictSettings),
        // Demo and benchmark environments: throwaway PKI, demo people, benchmark seeding.
        .target(
            name: "GongjiDev",
            dependencies: [
                "GongjiBench", "GongjiServer", "GongjiStorage", "GongjiSQLite", "GongjiCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "gongjid",
            dependencies: [
                "GongjiServer", "GongjiStorage", "GongjiSQLite", "GongjiDev", "GongjiPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The operators' command-line client: the client module, the generated stubs and the pure
        // core (money formatting); no server or store code.
        .executableTarget(
            name: "gongji",
            dependencies: [
                "GongjiClient", "GongjiProto", "GongjiCore",
            ] + commandLineClient,
            swiftSettings: strictSettings
        ),
        // The load generator of bench/run.
        .executableTarget(
            name: "gongji-load",
            dependencies: [
                "GongjiClient", "GongjiProto", "GongjiBench",
            ] + commandLineClient,
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GongjiCoreTests",
            dependencies: [
                "GongjiCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GongjiConfigurationTests",
            dependencies: ["GongjiConfiguration", "GongjiCore"],
            swiftSettings: strictSettings
        ),
        // The store contract, run against every backend from here.
        .testTarget(
            name: "GongjiStorageTests",
            dependencies: [
                "GongjiStorage", "GongjiSQLite", "GongjiCore", "GongjiPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GongjiSQLiteTests",
            dependencies: [
                "GongjiSQLite", "GongjiStorage", "GongjiCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GongjiPostgresTests",
            dependencies: [
                "GongjiPostgres", "GongjiStorage", "GongjiCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GongjiTransportTests",
            dependencies: [
                "GongjiTransport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GongjiServerTests",
            dependencies: [
                "GongjiServer", "GongjiStorage", "GongjiSQLite", "GongjiProto", "GongjiCore", "GongjiClient", "GongjiBench", "GongjiDev",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)

// The libFuzzer targets (Sources/gongji-fuzz) exist only for scripts/fuzz, which sets GONGJI_FUZZ
// and builds them in a build folder of their own with coverage instrumentation, AddressSanitizer
// and libFuzzer's runtime: an ordinary build has no fuzzer runtime to link them against.
if ProcessInfo.processInfo.environment["GONGJI_FUZZ"] != nil {
    package.targets.append(.executableTarget(name: "gongji-fuzz", dependencies: ["GongjiCore", "GongjiConfiguration"]))
}
