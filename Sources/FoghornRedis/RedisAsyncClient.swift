import CHiredis
import CLibUV
import FoghornHTTP

/// One asynchronous Redis connection on an ``EventLoop`` (hiredis's libuv adapter): commands are
/// pipelined, each reply comes back to its callback on the loop. A dropped connection fails
/// every waiting callback with `nil` and calls ``onDisconnected``; the owner reconnects
/// (``connect()`` again). Use only on the loop's thread.
final class RedisAsyncClient {
    let loop: EventLoop
    let address: RedisAddress
    private var ctx: UnsafeMutablePointer<redisAsyncContext>?
    /// Set once the connection is up and `AUTH`/`SELECT` were answered.
    private(set) var isConnected = false
    var onConnected: (() -> Void)?
    var onDisconnected: ((String) -> Void)?
    /// Callbacks of a `SUBSCRIBE`: called for every message, kept until the connection ends.
    private var subscriptions: [Callback] = []

    final class Callback {
        let action: (RedisReply?) -> Void
        let repeats: Bool
        init(_ action: @escaping (RedisReply?) -> Void, repeats: Bool) {
            self.action = action
            self.repeats = repeats
        }
    }

    init(loop: EventLoop, address: RedisAddress) {
        self.loop = loop
        self.address = address
    }

    /// A client dropped with its connection open closes it (hiredis would otherwise call back
    /// into freed memory). Released on the loop's thread, like everything else here.
    deinit { close() }

    var isOpen: Bool { ctx != nil }

    /// Starts connecting (no-op while a connection exists).
    func connect() {
        guard ctx == nil else { return }
        guard let c = redisAsyncConnect(address.ip, address.port) else {
            onDisconnected?("out of memory")
            return
        }
        if c.pointee.err != 0 {
            let message = c.pointee.errstr.map { String(cString: $0) } ?? "connect failed"
            redisAsyncFree(c)
            onDisconnected?(message)
            return
        }
        c.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        ctx = c
        redisLibuvAttach(c, UnsafeMutablePointer<uv_loop_t>(loop.rawUVLoop))
        redisAsyncSetConnectCallback(c) { ac, status in
            guard let ac, let data = ac.pointee.data else { return }
            let client = Unmanaged<RedisAsyncClient>.fromOpaque(data).takeUnretainedValue()
            client.connected(status: status, error: ac.pointee.errstr.map { String(cString: $0) })
        }
        redisAsyncSetDisconnectCallback(c) { ac, status in
            guard let ac, let data = ac.pointee.data else { return }
            let client = Unmanaged<RedisAsyncClient>.fromOpaque(data).takeUnretainedValue()
            client.disconnected(error: status == REDIS_OK ? "closed" : (ac.pointee.errstr.map { String(cString: $0) } ?? "connection lost"))
        }
        if let password = address.password { send(["AUTH", password]) { _ in } }
        if address.database != 0 { send(["SELECT", String(address.database)]) { _ in } }
    }

    private func connected(status: Int32, error: String?) {
        if status != REDIS_OK {
            // hiredis frees the context after this callback.
            ctx = nil
            subscriptions.removeAll()
            isConnected = false
            onDisconnected?(error ?? "connect failed")
            return
        }
        isConnected = true
        onConnected?()
    }

    private func disconnected(error: String) {
        ctx = nil  // freed by hiredis after this callback
        subscriptions.removeAll()
        isConnected = false
        onDisconnected?(error)
    }

    /// Sends one command; `callback` gets the reply, or `nil` if the connection dropped first.
    func send(_ args: [String], _ callback: @escaping (RedisReply?) -> Void) {
        send(args.map { Array($0.utf8) }, callback)
    }

    func send(_ args: [[UInt8]], _ callback: @escaping (RedisReply?) -> Void) {
        guard let ctx else {
            callback(nil)
            return
        }
        let box = Unmanaged.passRetained(Callback(callback, repeats: false)).toOpaque()
        let rc = RedisArgs.withArgv(args) { argc, argv, lens in
            redisAsyncCommandArgv(ctx, redisAsyncClientReplied, box, argc, argv, lens)
        }
        if rc != REDIS_OK {
            Unmanaged<Callback>.fromOpaque(box).release()
            callback(nil)
        }
    }

    /// `SUBSCRIBE channel`: `onMessage` gets every message's payload until the connection ends;
    /// `onSubscribed` is called when Redis confirms the subscription (messages published from then
    /// on arrive; earlier ones never will).
    func subscribe(_ channel: String, onSubscribed: (() -> Void)? = nil, _ onMessage: @escaping ([UInt8]) -> Void) {
        guard let ctx else { return }
        let cb = Callback({ reply in
            guard let items = reply?.array, items.count == 3 else { return }
            if items[0].text == "subscribe" { onSubscribed?(); return }
            guard items[0].text == "message", case .string(let payload) = items[2] else { return }
            onMessage(payload)
        }, repeats: true)
        subscriptions.append(cb)
        let box = Unmanaged.passUnretained(cb).toOpaque()
        _ = RedisArgs.withArgv([Array("SUBSCRIBE".utf8), Array(channel.utf8)]) { argc, argv, lens in
            redisAsyncCommandArgv(ctx, redisAsyncClientReplied, box, argc, argv, lens)
        }
    }


    /// Closes the connection (pending callbacks get `nil`).
    func close() {
        guard let c = ctx else { return }
        onDisconnected = nil
        ctx = nil
        isConnected = false
        redisAsyncFree(c)
        subscriptions.removeAll()
    }
}

/// hiredis's reply callback: the command's ``RedisAsyncClient/Callback`` is its private data.
private func redisAsyncClientReplied(_ ac: UnsafeMutablePointer<redisAsyncContext>?, _ reply: UnsafeMutableRawPointer?, _ privdata: UnsafeMutableRawPointer?) {
    guard let privdata else { return }
    let unmanaged = Unmanaged<RedisAsyncClient.Callback>.fromOpaque(privdata)
    let cb = unmanaged.takeUnretainedValue()
    let value = reply.map { RedisReply($0.assumingMemoryBound(to: redisReply.self)) }
    if !cb.repeats { unmanaged.release() }
    cb.action(value)
}
