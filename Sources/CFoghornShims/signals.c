#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "foghorn_shims.h"

/* CLOCK_MONOTONIC nanoseconds of the first SIGTERM/SIGINT seen, 0 before. Written from a signal
 * handler (clock_gettime is async-signal-safe), read by the watchdog thread. */
static volatile uint64_t termination_requested_ns = 0;
static struct sigaction chained[2];
static const int watched[2] = {SIGTERM, SIGINT};

static void termination_handler(int signum, siginfo_t *info, void *context) {
    if (__atomic_load_n(&termination_requested_ns, __ATOMIC_RELAXED) == 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
        __atomic_store_n(&termination_requested_ns, ns ? ns : 1, __ATOMIC_RELAXED);
    }
    for (int i = 0; i < 2; i++) {
        if (watched[i] != signum) continue;
        const struct sigaction *old = &chained[i];
        if (old->sa_flags & SA_SIGINFO) {
            if (old->sa_sigaction) old->sa_sigaction(signum, info, context);
        } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN && old->sa_handler) {
            old->sa_handler(signum);
        } else if (old->sa_handler == SIG_DFL) {
            /* Nobody else handles it: the default action (terminate). */
            signal(signum, SIG_DFL);
            raise(signum);
        }
    }
}

int foghorn_watch_termination_signals(void) {
    for (int i = 0; i < 2; i++) {
        struct sigaction current;
        if (sigaction(watched[i], NULL, &current) != 0) return -1;
        if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == termination_handler) continue;
        chained[i] = current;
        struct sigaction mine;
        memset(&mine, 0, sizeof(mine));
        mine.sa_sigaction = termination_handler;
        mine.sa_flags = SA_SIGINFO | SA_RESTART;
        sigfillset(&mine.sa_mask);
        if (sigaction(watched[i], &mine, NULL) != 0) return -1;
    }
    return 0;
}

uint64_t foghorn_termination_requested_ns(void) {
    return __atomic_load_n(&termination_requested_ns, __ATOMIC_RELAXED);
}

void foghorn_exit_now(int code) { _exit(code); }
