import CFoghornShims

/// Writes to connections a peer has closed must fail with `EPIPE`, never kill the process.
///
/// libuv writes with `write()`/`writev()`, which on Linux raise SIGPIPE when the peer is gone
/// (a viewer closing its player mid-answer); its default action ends the process. Every
/// ``EventLoop`` makes sure SIGPIPE is ignored before it does any I/O — once per process, and
/// only if SIGPIPE still has its default action (an embedding process's own handler is kept).
public enum BrokenPipes {
    /// Set on first use (once per process): whether SIGPIPE is now ignored or handled.
    private static let ignored: Bool = foghorn_ignore_broken_pipes() == 1

    /// Ignores SIGPIPE (the first call; later ones return the same answer): true when SIGPIPE
    /// is ignored or handled by the process afterwards.
    @discardableResult
    public static func ignore() -> Bool { ignored }
}
