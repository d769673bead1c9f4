/// A growable byte buffer with stable, manually managed storage. It is owned by
/// one thread (an event loop) and reused for every response, so appending
/// allocates only when it must grow past its high-water mark.
public final class ByteBuffer: @unchecked Sendable {
    public private(set) var base: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    public var count: Int = 0

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        self.base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    @inlinable public var readable: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public func clear() { count = 0 }

    /// Makes room for `extra` more bytes.
    @inline(__always) public func reserve(_ extra: Int) {
        if count &+ extra > capacity { grow(count &+ extra) }
    }

    private func grow(_ needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity &*= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always) public func append(_ byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: src, byteCount: bytes.count)
        count &+= bytes.count
    }

    @inline(__always) public func append(_ literal: StaticString) {
        append(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends a run-time string. (Labelled so that string literals pick the `StaticString`
    /// overload: with an unlabelled `String` overload every `append(": ")` was a String append,
    /// a retain/release pair of calls each — 9 per redirect.)
    public func append(string: String) {
        var s = string
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends the decimal digits of a non-negative integer.
    public func appendDecimal(_ value: Int) {
        var v = value < 0 ? 0 : value
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch
        var n = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            repeat {
                scratch[23 &- n] = UInt8(truncatingIfNeeded: 0x30 &+ v % 10)
                v /= 10
                n &+= 1
            } while v > 0
            append(UnsafeRawBufferPointer(rebasing: scratch[(24 &- n)...]))
        }
    }

    /// Drops the first `n` bytes, moving the rest to the front.
    public func discardFront(_ n: Int) {
        if n >= count { count = 0; return }
        base.copyMemory(from: base + n, byteCount: count &- n)
        count &-= n
    }

    /// Writable space after `count`, at least `minimum` bytes.
    public func writableTail(minimum: Int) -> UnsafeMutableRawBufferPointer {
        reserve(minimum)
        return UnsafeMutableRawBufferPointer(start: base + count, count: capacity &- count)
    }

    /// Shrinks storage back to `capacity` bytes if it grew past it and is empty.
    public func shrinkIfEmpty(to target: Int) {
        guard count == 0, capacity > target else { return }
        base.deallocate()
        capacity = target
        base = UnsafeMutableRawPointer.allocate(byteCount: target, alignment: 16)
    }
}
