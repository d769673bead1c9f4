import CFoghornShims

/// Process-wide malloc tuning (glibc).
public enum ProcessMemory {
    /// Blocks of at least `bytes` are mapped and unmapped whole (`mallopt(M_MMAP_THRESHOLD)`):
    /// a replaced snapshot's large arrays then go back to the kernel instead of leaving holes.
    public static func setMmapThreshold(bytes: Int) {
        _ = foghorn_set_mmap_threshold(Int32(clamping: bytes))
    }

    /// Returns free heap pages to the kernel (`malloc_trim(0)`).
    public static func releaseFree() {
        _ = foghorn_release_free_memory()
    }
}
