#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "foghorn_shims.h"

int foghorn_set_thread_name(const char *name) {
    char buf[16];
    strncpy(buf, name, sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = 0;
    return pthread_setname_np(pthread_self(), buf);
}

int foghorn_set_thread_batch(void) {
    struct sched_param param;
    memset(&param, 0, sizeof(param));
    return pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
}
