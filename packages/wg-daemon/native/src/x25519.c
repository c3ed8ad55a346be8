/*
 * X25519 (RFC 7748 §5) for the handshake, over the public EVP_PKEY API of the OpenSSL inside the
 * running `node`. node:crypto's KeyObjects add ~15 µs to each 43-µs derivation and 13–45 µs to each
 * key import on Node 20 (JWK): a handshake took 0.84× the time without them (benchmarks/README.md, section 18).
 * No protocol logic: "load this private key", "DH with this public key".
 *
 * A private key is imported once (OpenSSL computes its public key on import) into a handle that
 * holds the key and a derivation context with derive_init done; a public key is imported for each
 * derivation through the instance's kept EVP_PKEY_fromdata context (no algorithm fetch per call).
 * The handle is freed, and OpenSSL cleanses the key, when its JS external is garbage-collected —
 * as node:crypto frees a KeyObject. A derivation whose result is all zeros (a low-order public
 * key, RFC 7748 §6.1) fails: OpenSSL refuses it. Errors OpenSSL queues stay out of Node's queue.
 */
#include "x25519.h"
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdint.h>
#include <stdlib.h>

#define X25519_LEN 32

struct wg_x25519_state {
  EVP_PKEY_CTX *import; /* EVP_PKEY_fromdata for "X25519", initialized once */
};

typedef struct {
  EVP_PKEY *key;
  EVP_PKEY_CTX *derive; /* EVP_PKEY_derive_init done on key */
} private_t;

/* Tags the handles, so that a foreign external is refused (napi_check_object_type_tag). */
static const napi_type_tag PRIVATE_TAG = {0x7767747378323535ULL, 0x3139707269766b31ULL};

wg_x25519_state_t *wg_x25519_state_new(void) {
  wg_x25519_state_t *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->import = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
  if (s->import == NULL || EVP_PKEY_fromdata_init(s->import) != 1) {
    wg_x25519_state_free(s);
    ERR_clear_error();
    return NULL;
  }
  return s;
}

void wg_x25519_state_free(wg_x25519_state_t *s) {
  if (s == NULL) return;
  EVP_PKEY_CTX_free(s->import);
  free(s);
}

static EVP_PKEY *import_key(wg_x25519_state_t *s, int selection, const char *param, uint8_t *bytes) {
  EVP_PKEY *key = NULL;
  OSSL_PARAM p[2] = {OSSL_PARAM_octet_string(param, bytes, X25519_LEN), OSSL_PARAM_END};
  return EVP_PKEY_fromdata(s->import, &key, selection, p) == 1 ? key : NULL;
}

static void private_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  private_t *k = data;
  EVP_PKEY_CTX_free(k->derive);
  EVP_PKEY_free(k->key); /* OpenSSL cleanses the private key */
  free(k);
}

/* A Uint8Array of exactly 32 bytes, or 0. */
static int key_arg(napi_env env, napi_value value, uint8_t **out) {
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array || length != X25519_LEN || data == NULL) return 0;
  *out = data;
  return 1;
}

napi_value wg_x25519_private(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data = NULL;
  uint8_t *priv = NULL, *pub = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok || data == NULL) return NULL;
  if (argc < 2 || !key_arg(env, argv[0], &priv) || !key_arg(env, argv[1], &pub)) {
    napi_throw_type_error(env, NULL, "x25519Private(privateKey: Uint8Array(32), publicKeyOut: Uint8Array(32))");
    return NULL;
  }
  ERR_set_mark();
  private_t *k = calloc(1, sizeof *k);
  size_t len = X25519_LEN;
  int ok = k != NULL && (k->key = import_key(data, EVP_PKEY_KEYPAIR, OSSL_PKEY_PARAM_PRIV_KEY, priv)) != NULL &&
           EVP_PKEY_get_raw_public_key(k->key, pub, &len) == 1 && len == X25519_LEN &&
           (k->derive = EVP_PKEY_CTX_new_from_pkey(NULL, k->key, NULL)) != NULL && EVP_PKEY_derive_init(k->derive) == 1;
  ERR_pop_to_mark();
  napi_value result;
  if (!ok) {
    if (k != NULL) private_free(env, k, NULL);
    napi_get_null(env, &result);
    return result;
  }
  if (napi_create_external(env, k, private_free, NULL, &result) != napi_ok) {
    private_free(env, k, NULL); /* no finalizer owns it */
    napi_throw_error(env, NULL, "x25519Private: cannot make a handle");
    return NULL;
  }
  if (napi_type_tag_object(env, result, &PRIVATE_TAG) != napi_ok) { /* the external's finalizer frees k */
    napi_throw_error(env, NULL, "x25519Private: cannot tag the handle");
    return NULL;
  }
  return result;
}

napi_value wg_x25519_derive(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void *data = NULL;
  uint8_t *pub = NULL, *out = NULL;
  bool tagged = false;
  private_t *k = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok || data == NULL) return NULL;
  if (argc < 3 || napi_check_object_type_tag(env, argv[0], &PRIVATE_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, argv[0], (void **)&k) != napi_ok || k == NULL || !key_arg(env, argv[1], &pub) ||
      !key_arg(env, argv[2], &out)) {
    napi_throw_type_error(env, NULL, "x25519Derive(handle from x25519Private, publicKey: Uint8Array(32), out: Uint8Array(32))");
    return NULL;
  }
  ERR_set_mark();
  EVP_PKEY *peer = import_key(data, EVP_PKEY_PUBLIC_KEY, OSSL_PKEY_PARAM_PUB_KEY, pub);
  size_t len = X25519_LEN;
  int ok = peer != NULL && EVP_PKEY_derive_set_peer_ex(k->derive, peer, 0) == 1 && EVP_PKEY_derive(k->derive, out, &len) == 1 &&
           len == X25519_LEN;
  EVP_PKEY_free(peer);
  ERR_pop_to_mark();
  if (!ok) OPENSSL_cleanse(out, X25519_LEN);
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}
