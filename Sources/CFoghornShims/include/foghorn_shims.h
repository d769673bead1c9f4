#ifndef FOGHORN_SHIMS_H
#define FOGHORN_SHIMS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Creates a non-blocking, close-on-exec TCP socket bound to `host:port`.
/// `host` is a numeric IPv4 or IPv6 literal (no brackets). `SO_REUSEADDR` is
/// always set; `SO_REUSEPORT` when `reuse_port` is non-zero (Debian's libuv 1.44
/// has no `UV_TCP_REUSEPORT`, so we set it ourselves before bind). IPv6
/// sockets are made `IPV6_V6ONLY`. The socket is listening when this returns (the port is
/// reserved from bind on). Returns the descriptor, or `-errno`.
int foghorn_bind_tcp_socket(const char *host, uint16_t port, int reuse_port);

/// Returns the port a bound socket listens on, or `-errno`.
int foghorn_socket_local_port(int fd);

/// Sets `TCP_NODELAY` on a connected socket. Returns 0 or `-errno`.
int foghorn_set_tcp_nodelay(int fd);

/// Sets `SO_LINGER` with a zero timeout so that close() sends RST (used only
/// when a misbehaving client must be dropped at once). Returns 0 or `-errno`.
int foghorn_set_linger_zero(int fd);

/// Fills `out` (at least 46 bytes) with the textual peer address of `fd` and
/// `*port` with its port. Returns the address family (AF_INET/AF_INET6) or `-errno`.
int foghorn_peer_address(int fd, char *out, int out_len, uint16_t *port);

/// Makes a write to a connection the peer has closed fail with `EPIPE` instead of killing the
/// process: SIGPIPE's disposition becomes `SIG_IGN` unless the process installed a handler of
/// its own (kept). libuv writes with write()/writev(), which raise SIGPIPE on Linux.
/// Returns 1 if SIGPIPE is ignored or handled afterwards, 0 if it could not be changed.
int foghorn_ignore_broken_pipes(void);

/// Names the calling thread (at most 15 characters are kept). Returns 0 or an error number.
int foghorn_set_thread_name(const char *name);

/// Moves the calling thread to SCHED_BATCH (same share of CPU, but its wakeups do not preempt
/// the running thread). Returns 0 or an error number.
int foghorn_set_thread_batch(void);

/// Returns freed heap memory to the kernel (glibc `malloc_trim(0)`); 1 if any was released.
int foghorn_release_free_memory(void);
/// Fixes glibc's mmap threshold at `bytes` (`mallopt(M_MMAP_THRESHOLD)`): larger blocks — a
/// snapshot's edge and stream arrays — are mapped and unmapped whole instead of leaving holes in
/// the heap each time a snapshot is replaced. Returns 1 on success.
int foghorn_set_mmap_threshold(int bytes);

/// Notes the time of the first SIGTERM or SIGINT in a flag the watchdog thread reads, then hands
/// the signal on to the handler installed before (libuv's, which wakes the control loop). Call
/// after the loop's signal handlers are installed. Returns 0, or -1 if sigaction failed.
int foghorn_watch_termination_signals(void);

/// CLOCK_MONOTONIC nanoseconds at the first SIGTERM/SIGINT seen by the handler above; 0 if none.
uint64_t foghorn_termination_requested_ns(void);

/// Ends the process at once (`_exit`): the watchdog's last resort when shutdown cannot run.
void foghorn_exit_now(int code);

/// accept4(fd, NONBLOCK | CLOEXEC): the new descriptor, or -errno.
int foghorn_accept(int fd);

/// CPUs this process may run on (`sched_getaffinity`); -1 when the call fails.
int foghorn_affinity_cpu_count(void);

/// Raises the soft RLIMIT_NOFILE to the hard limit. Writes the limits before and after; returns
/// 0, or -1 (errno set) when the limit could not be read or raised.
int foghorn_raise_nofile_limit(uint64_t *soft_before, uint64_t *hard, uint64_t *soft_after);

#ifdef __cplusplus
}
#endif

#endif
