/* X25519 (RFC 7748 §5) over the EVP_PKEY API of the OpenSSL inside `node` (x25519.c). */
#ifndef WG_X25519_H
#define WG_X25519_H
#include <node_api.h>

/* Per addon instance: the kept key-import context. */
typedef struct wg_x25519_state wg_x25519_state_t;

wg_x25519_state_t *wg_x25519_state_new(void);
void wg_x25519_state_free(wg_x25519_state_t *state);

/* x25519Private(privateKey: Uint8Array(32), publicKeyOut: Uint8Array(32)) -> handle | null
 * x25519Derive(handle, publicKey: Uint8Array(32), out: Uint8Array(32)) -> boolean
 * (napi callback data: the instance's wg_x25519_state_t) */
napi_value wg_x25519_private(napi_env env, napi_callback_info info);
napi_value wg_x25519_derive(napi_env env, napi_callback_info info);

#endif
