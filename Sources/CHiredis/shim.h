#ifndef FOGHORN_CHIREDIS_SHIM_H
#define FOGHORN_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libuv.h>

/// The reply's i-th element (Swift cannot index `redisReply **`'s elements through the struct).
static inline redisReply *foghorn_redis_element(redisReply *r, size_t i) { return r->element[i]; }
#endif
