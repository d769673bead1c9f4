#ifndef FOGHORN_CLIBUV_SHIM_H
#define FOGHORN_CLIBUV_SHIM_H
#include <uv.h>
#endif
