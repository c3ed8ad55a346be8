/* The Internet checksum of consecutive ranges (csum.c), exported by the addon beside the AEAD. */
#ifndef WG_CSUM_H
#define WG_CSUM_H
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

napi_value wg_sum16_ranges(napi_env env, napi_callback_info info);

#endif
