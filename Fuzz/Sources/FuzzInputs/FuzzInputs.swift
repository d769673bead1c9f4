import FoghornFuzzChecks

/// Every parser of untrusted input in one target; the first byte picks which
/// (``InputChecks``, shared with the suite's corpus replay).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInputs(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    InputChecks.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
