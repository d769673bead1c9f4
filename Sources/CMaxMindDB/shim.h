#ifndef FOGHORN_CMAXMINDDB_SHIM_H
#define FOGHORN_CMAXMINDDB_SHIM_H
#include <maxminddb.h>
#endif
