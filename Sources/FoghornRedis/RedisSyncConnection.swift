import CHiredis
import FoghornState
#if canImport(Glibc)
import Glibc
#endif

/// A blocking Redis connection, for the start-up load only (before any loop runs), with a
/// timeout on connect and on every reply.
final class RedisSyncConnection {
    private var ctx: UnsafeMutablePointer<redisContext>?

    init(_ address: RedisAddress, timeoutMs: Int) throws(StateStoreError) {
        let tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: Int((timeoutMs % 1000) * 1000))
        guard let c = redisConnectWithTimeout(address.ip, address.port, tv) else {
            throw StateStoreError(code: "STATE_UNAVAILABLE", message: "cannot connect to \(address.description): out of memory")
        }
        if c.pointee.err != 0 {
            let message = withUnsafeBytes(of: c.pointee.errstr) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            redisFree(c)
            throw StateStoreError(code: "STATE_UNAVAILABLE", message: "cannot connect to \(address.description): \(message)")
        }
        redisSetTimeout(c, tv)
        ctx = c
        if let password = address.password {
            let r = try command(["AUTH", password])
            if let e = r.errorText { throw StateStoreError(code: "STATE_UNAVAILABLE", message: "Redis AUTH failed: \(e)") }
        }
        if address.database != 0 {
            let r = try command(["SELECT", String(address.database)])
            if let e = r.errorText { throw StateStoreError(code: "STATE_UNAVAILABLE", message: "Redis SELECT failed: \(e)") }
        }
    }

    deinit { close() }

    func close() {
        if let ctx { redisFree(ctx) }
        ctx = nil
    }

    func command(_ args: [String]) throws(StateStoreError) -> RedisReply {
        try command(args.map { Array($0.utf8) })
    }

    func command(_ args: [[UInt8]]) throws(StateStoreError) -> RedisReply {
        guard let ctx else { throw StateStoreError(code: "STATE_UNAVAILABLE", message: "Redis connection closed") }
        let raw = RedisArgs.withArgv(args) { argc, argv, lens in redisCommandArgv(ctx, argc, argv, lens) }
        guard let raw else {
            let message = withUnsafeBytes(of: ctx.pointee.errstr) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            throw StateStoreError(code: "STATE_UNAVAILABLE", message: "Redis: \(message)")
        }
        let reply = RedisReply(raw.assumingMemoryBound(to: redisReply.self))
        freeReplyObject(raw)
        return reply
    }
}

/// Command arguments as hiredis's `argc, argv, argvlen` (binary-safe).
enum RedisArgs {
    static func withArgv<R>(_ args: [[UInt8]], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R) -> R {
        let count = args.count
        let argv = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: count)
        let lens = UnsafeMutablePointer<Int>.allocate(capacity: count)
        var buffers: [UnsafeMutablePointer<CChar>] = []
        buffers.reserveCapacity(count)
        for (i, a) in args.enumerated() {
            let b = UnsafeMutablePointer<CChar>.allocate(capacity: max(a.count, 1))
            a.withUnsafeBytes { if $0.count > 0 { UnsafeMutableRawPointer(b).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            buffers.append(b)
            argv[i] = UnsafePointer(b)
            lens[i] = a.count
        }
        defer {
            for b in buffers { b.deallocate() }
            argv.deallocate()
            lens.deallocate()
        }
        return body(Int32(count), argv, lens)
    }
}
