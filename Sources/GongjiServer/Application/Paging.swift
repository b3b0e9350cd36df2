import Crypto
import Foundation
import GongjiCore

/// The default and the largest page size of list calls.
let pageSizeDefault = 20
let pageSizeMax = 100

/// What a client asked of a list: the page size (1…100, default 20 when 0 or less) and the
/// token of the previous page, if any.
public struct PageRequest: Sendable {
    /// The page size as sent.
    public var size: Int32
    /// The previous page's `next_page_token`, or empty for the first page.
    public var token: String

    /// Creates a request.
    public init(size: Int32, token: String) {
        self.size = size
        self.token = token
    }

    /// The number of items to return.
    var limit: Int { size <= 0 ? pageSizeDefault : min(Int(size), pageSizeMax) }
}

/// One page of a list and the token of the next one (empty at the end).
public struct Page<Item: Sendable>: Sendable {
    /// The items.
    public var items: [Item]
    /// The next page's token, or empty.
    public var nextToken: String
}

/// Issues and checks page tokens: the cursor, tagged with an HMAC over the list's name (which
/// includes the end user for personal lists) and the cursor, so a token names no one, cannot be
/// forged, and is refused by any other list or user.
struct PageTokens: Sendable {
    let key: SymmetricKey

    func tag(list: String, cursor: Int64) -> [UInt8] {
        var message = Data(list.utf8)
        message.append(0)
        withUnsafeBytes(of: cursor.bigEndian) { message.append(contentsOf: $0) }
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key).prefix(16))
    }

    /// The cursor a request's token names for `list`, nil for the first page.
    func cursor(of request: PageRequest, list: String) throws(DomainError) -> Int64? {
        guard !request.token.isEmpty else { return nil }
        guard let (cursor, tag) = PageToken.parse(request.token), tag.count == 16 else { throw PageToken.invalid() }
        let expected = self.tag(list: list, cursor: cursor)
        guard zip(expected, tag).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { throw PageToken.invalid() }
        return cursor
    }

    /// Reads one page of `list`: `fetch` is asked for one item more than the page holds, to know
    /// whether another page follows.
    func page<Item: Sendable>(
        _ request: PageRequest, list: String, cursorOf: (Item) -> Int64,
        fetch: (_ cursor: Int64?, _ limit: Int) async throws -> [Item]
    ) async throws -> Page<Item> {
        let cursor = try self.cursor(of: request, list: list)
        let fetched = try await fetch(cursor, request.limit + 1)
        let items = Array(fetched.prefix(request.limit))
        guard fetched.count > items.count, let last = items.last else { return Page(items: items, nextToken: "") }
        let next = cursorOf(last)
        return Page(items: items, nextToken: PageToken.make(cursor: next, tag: tag(list: list, cursor: next)))
    }
}
