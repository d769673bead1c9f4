import CHiredis

/// A Redis reply as Swift values (copied out of hiredis's reply, which is freed after the callback).
public enum RedisReply: Sendable, Equatable {
    case string([UInt8])
    case status(String)
    case error(String)
    case integer(Int64)
    case array([RedisReply])
    case null

    init(_ r: UnsafeMutablePointer<redisReply>) {
        switch r.pointee.type {
        case REDIS_REPLY_STRING:
            self = .string(r.pointee.str.map { Array(UnsafeRawBufferPointer(start: $0, count: r.pointee.len)) } ?? [])
        case REDIS_REPLY_STATUS:
            self = .status(r.pointee.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: r.pointee.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_ERROR:
            self = .error(r.pointee.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: r.pointee.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(r.pointee.integer))
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(r.pointee.elements)
            for i in 0..<r.pointee.elements {
                if let e = foghorn_redis_element(r, i) { items.append(RedisReply(e)) } else { items.append(.null) }
            }
            self = .array(items)
        default:
            self = .null
        }
    }

    public var text: String? {
        switch self {
        case .string(let b): String(decoding: b, as: UTF8.self)
        case .status(let s): s
        default: nil
        }
    }

    public var array: [RedisReply]? { if case .array(let a) = self { a } else { nil } }
    public var isError: Bool { if case .error = self { true } else { false } }
    public var errorText: String? { if case .error(let e) = self { e } else { nil } }
}
