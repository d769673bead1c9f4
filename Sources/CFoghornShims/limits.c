#define _GNU_SOURCE
#include <sched.h>
#include <sys/resource.h>
#include <errno.h>
#include <sys/socket.h>
#include "foghorn_shims.h"

int foghorn_affinity_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    return CPU_COUNT(&set);
}

int foghorn_raise_nofile_limit(uint64_t *soft_before, uint64_t *hard, uint64_t *soft_after) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    *soft_before = (uint64_t)rl.rlim_cur;
    *hard = (uint64_t)rl.rlim_max;
    *soft_after = (uint64_t)rl.rlim_cur;
    if (rl.rlim_cur >= rl.rlim_max) return 0;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    *soft_after = (uint64_t)rl.rlim_cur;
    return 0;
}

int foghorn_accept(int fd) {
    int client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return client >= 0 ? client : -errno;
}
