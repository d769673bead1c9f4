#include <malloc.h>
#include "foghorn_shims.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int foghorn_bind_tcp_socket(const char *host, uint16_t port, int reuse_port) {
    struct sockaddr_storage storage;
    socklen_t len;
    int family;
    memset(&storage, 0, sizeof(storage));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&storage;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&storage;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        family = AF_INET;
        len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        family = AF_INET6;
        len = sizeof(*v6);
    } else {
        return -EINVAL;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) goto fail;
    if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) goto fail;
    if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) goto fail;
    if (bind(fd, (struct sockaddr *)&storage, len) != 0) goto fail;
    /* Listen at once: a port that is only bound (SO_REUSEADDR, not yet listening) can be handed
       to another socket's connect() as its local port, and the later listen() then fails with
       EADDRINUSE. libuv's uv_listen on the loop calls listen() again with the real backlog. */
    if (listen(fd, SOMAXCONN) != 0) goto fail;
    return fd;
fail: {
        int saved = errno;
        close(fd);
        return -saved;
    }
}

int foghorn_socket_local_port(int fd) {
    struct sockaddr_storage storage;
    socklen_t len = sizeof(storage);
    if (getsockname(fd, (struct sockaddr *)&storage, &len) != 0) return -errno;
    if (storage.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&storage)->sin_port);
    if (storage.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&storage)->sin6_port);
    return -EAFNOSUPPORT;
}

int foghorn_set_tcp_nodelay(int fd) {
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) return -errno;
    return 0;
}

int foghorn_set_linger_zero(int fd) {
    struct linger l;
    l.l_onoff = 1;
    l.l_linger = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) != 0) return -errno;
    return 0;
}

int foghorn_peer_address(int fd, char *out, int out_len, uint16_t *port) {
    struct sockaddr_storage storage;
    socklen_t len = sizeof(storage);
    if (getpeername(fd, (struct sockaddr *)&storage, &len) != 0) return -errno;
    if (storage.ss_family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&storage;
        if (!inet_ntop(AF_INET, &v4->sin_addr, out, (socklen_t)out_len)) return -errno;
        *port = ntohs(v4->sin_port);
        return AF_INET;
    }
    if (storage.ss_family == AF_INET6) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&storage;
        if (!inet_ntop(AF_INET6, &v6->sin6_addr, out, (socklen_t)out_len)) return -errno;
        *port = ntohs(v6->sin6_port);
        return AF_INET6;
    }
    return -EAFNOSUPPORT;
}

int foghorn_set_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}

int foghorn_release_free_memory(void) {
    return malloc_trim(0);
}

int foghorn_ignore_broken_pipes(void) {
    struct sigaction current;
    if (sigaction(SIGPIPE, NULL, &current) != 0) return 0;
    // Already ignored, or the embedding process handles it itself.
    if ((current.sa_flags & SA_SIGINFO) || current.sa_handler != SIG_DFL) return 1;
    struct sigaction ignore;
    memset(&ignore, 0, sizeof(ignore));
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    return sigaction(SIGPIPE, &ignore, NULL) == 0 ? 1 : 0;
}
