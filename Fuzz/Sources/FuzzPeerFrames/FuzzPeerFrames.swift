import FoghornFuzzChecks

/// PeerChannel frames, whole and split (``PeerFrameChecks``, shared with the suite's corpus replay).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPeerFrames(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    PeerFrameChecks.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
