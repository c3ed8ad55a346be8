/*
 * wg_aead: ChaCha20-Poly1305 (RFC 8439 §2.8) for N packets per call, over the OpenSSL that the
 * running `node` binary already contains. Nothing is linked: the EVP_*, ERR_*, CRYPTO_memcmp and
 * OPENSSL_cleanse symbols are resolved against the host executable when the addon is loaded (`nm -D node`).
 *
 * No protocol logic: per operation "this key, this 12-byte nonce, this AAD (empty by default),
 * these bytes". The nonce is 32 zero bits ‖ the 64-bit little-endian counter (RFC 8439 §2.8 as
 * WireGuard uses it, whitepaper §5.4.6), or an explicit 12 bytes per operation (known-answer tests).
 *
 * The AEAD is composed from its two public EVP primitives, ChaCha20 (EVP_chacha20: counter ‖ nonce)
 * and Poly1305 (EVP_MAC "POLY1305"), as RFC 8439 §2.8 defines it: one ChaCha20 call over
 * [64 zero bytes ‖ the message, padded to whole blocks] in scratch gives the one-time Poly1305 key
 * (block 0, §2.6) and the message's keystream from block 1; Poly1305 then runs over
 * AAD ‖ pad16 ‖ ciphertext ‖ pad16 ‖ le64(|AAD|) ‖ le64(|ciphertext|). OpenSSL's own AEAD
 * computes block 0 and the message's partial last block as two single-block calls per message
 * (~15 % of a 1420-byte seal; benchmarks/README.md, section 18); here one bulk call covers both.
 * The results are byte-identical (native-aead.test.ts checks them against node:crypto).
 *
 * The addon also exports sum16Ranges, the Internet checksum of consecutive ranges (csum.c), and
 * x25519Private / x25519Derive, X25519 over EVP_PKEY for the handshake (x25519.c).
 *
 * JS API, identical for seal and open (packages/wg-core/src/aead-batch.ts documents the contract):
 *   seal(keys, input, output, desc, counters, results, count[, nonces[, aad]]) -> operations that succeeded
 *   keys, input, output, nonces, aad: Uint8Array (input and output may be the same array)
 *   desc: Int32Array, 4 per operation: input offset, input length, output offset, key offset
 *   counters: Float64Array (integers 0 .. 2^53 - 1); results: Int32Array (bytes written, or -1)
 *
 * State: one ChaCha20 context, one Poly1305 context and one scratch buffer per addon instance (napi
 * instance data), so each worker thread has its own. Keys are never copied by this file; at the end
 * of every call the contexts' copies of the last key and one-time key are overwritten with zeros, and
 * the scratch buffer (plaintext, keystream) is wiped. Consecutive operations with the same key offset
 * set the key up once (read once per run). `open` verifies the tag before it writes anything: the
 * output never receives unauthenticated plaintext.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include "csum.h"
#include "io.h"
#include "x25519.h"
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define DESC_STRIDE 4
#define MAX_COUNTER 9007199254740991.0 /* 2^53 - 1: counters arrive as JS numbers */

typedef struct {
  EVP_CIPHER_CTX *stream; /* ChaCha20: 16-byte IV = le32 block counter ‖ 12-byte nonce */
  EVP_MAC_CTX *mac;       /* Poly1305 */
  wg_x25519_state_t *x25519;
  uint8_t *scratch;
  size_t scratch_size;
  size_t scratch_dirty; /* bytes of scratch written since the last wipe */
} instance_t;

typedef struct {
  uint8_t *data;
  size_t length; /* elements */
} view_t;

#define BLOCK_LEN 64 /* ChaCha20 block */
#define IV_LEN 16    /* EVP_chacha20's IV: le32 block counter ‖ nonce */

static const uint8_t ZERO_KEY[KEY_LEN];
static const uint8_t ZERO_IV[IV_LEN];
static const uint8_t ZERO_PAD[16];

static void instance_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  instance_t *s = data;
  if (s->stream != NULL) EVP_CIPHER_CTX_free(s->stream); /* OpenSSL clears the key it holds */
  if (s->mac != NULL) EVP_MAC_CTX_free(s->mac);
  wg_x25519_state_free(s->x25519);
  if (s->scratch != NULL) {
    OPENSSL_cleanse(s->scratch, s->scratch_size);
    free(s->scratch);
  }
  free(s);
}

/* A typed array of the given type, or 0. */
static int typed_view(napi_env env, napi_value value, napi_typedarray_type want, view_t *out) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok || type != want) return 0;
  out->data = data;
  out->length = length;
  if (out->data == NULL) out->length = 0; /* detached or empty */
  return 1;
}

/* Scratch room for n bytes (old contents wiped before they are freed). */
static uint8_t *scratch(instance_t *s, size_t n) {
  if (n <= s->scratch_size) return s->scratch;
  size_t size = n < 2048 ? 2048 : n;
  uint8_t *bigger = malloc(size);
  if (bigger == NULL) return NULL;
  if (s->scratch != NULL) {
    OPENSSL_cleanse(s->scratch, s->scratch_size);
    free(s->scratch);
  }
  s->scratch = bigger;
  s->scratch_size = size;
  s->scratch_dirty = 0;
  return bigger;
}

/* ChaCha20 from block 0 over [64 zero bytes ‖ in[0..len) ‖ pad to a whole block] in scratch: the
 * one-time Poly1305 key is scratch[0..32) (RFC 8439 §2.6), in's keystream-XOR at scratch + 64.
 * key NULL: the key the context already holds. Returns the scratch buffer or NULL. */
static uint8_t *chacha_blocks(instance_t *s, const uint8_t *key, const uint8_t *nonce, const uint8_t *in, int len) {
  size_t whole = ((size_t)len + BLOCK_LEN - 1) & ~(size_t)(BLOCK_LEN - 1);
  size_t n = BLOCK_LEN + whole;
  if (n > INT32_MAX) return NULL;
  uint8_t *buf = scratch(s, n);
  if (buf == NULL) return NULL;
  if (n > s->scratch_dirty) s->scratch_dirty = n;
  memset(buf, 0, BLOCK_LEN);
  memcpy(buf + BLOCK_LEN, in, (size_t)len);
  uint8_t iv[IV_LEN] = {0}; /* block counter 0 */
  memcpy(iv + 4, nonce, NONCE_LEN);
  int out = 0;
  if (EVP_CipherInit_ex(s->stream, NULL, NULL, key, iv, 1) != 1) return NULL;
  if (EVP_CipherUpdate(s->stream, buf, &out, buf, (int)n) != 1 || out != (int)n) return NULL;
  return buf;
}

/* Poly1305 tag of AAD ‖ pad16 ‖ ct[0..len) ‖ pad16 ‖ le64(|AAD|) ‖ le64(len) under `otk` (RFC 8439 §2.8). */
static int poly_tag(instance_t *s, const uint8_t *otk, const view_t *aad, const uint8_t *ct, size_t len, uint8_t tag[TAG_LEN]) {
  EVP_MAC_CTX *mac = s->mac;
  size_t alen = aad != NULL ? aad->length : 0;
  uint8_t lengths[16];
  for (int b = 0; b < 8; b++) {
    lengths[b] = (uint8_t)((uint64_t)alen >> (8 * b));
    lengths[8 + b] = (uint8_t)((uint64_t)len >> (8 * b));
  }
  size_t out = 0;
  if (EVP_MAC_init(mac, otk, KEY_LEN, NULL) != 1) return 0;
  if (alen > 0 && (EVP_MAC_update(mac, aad->data, alen) != 1 || ((alen & 15) != 0 && EVP_MAC_update(mac, ZERO_PAD, 16 - (alen & 15)) != 1)))
    return 0;
  if (len > 0 && EVP_MAC_update(mac, ct, len) != 1) return 0;
  if ((len & 15) != 0 && EVP_MAC_update(mac, ZERO_PAD, 16 - (len & 15)) != 1) return 0;
  if (EVP_MAC_update(mac, lengths, sizeof lengths) != 1) return 0;
  return EVP_MAC_final(mac, tag, &out, TAG_LEN) == 1 && out == TAG_LEN;
}

/* One seal: in[0..len) -> out[0..len) ciphertext, out[len..len+16) tag. Returns bytes written or -1.
 * in and out may overlap (in is read into scratch first). key NULL: the key the context already holds. */
static int seal_one(instance_t *s, const uint8_t *key, const uint8_t *nonce, const view_t *aad, const uint8_t *in, uint8_t *out, int len) {
  uint8_t *buf = chacha_blocks(s, key, nonce, in, len);
  if (buf == NULL) return -1;
  uint8_t tag[TAG_LEN];
  if (!poly_tag(s, buf, aad, buf + BLOCK_LEN, (size_t)len, tag)) return -1;
  memcpy(out, buf + BLOCK_LEN, (size_t)len);
  memcpy(out + len, tag, TAG_LEN);
  return len + TAG_LEN;
}

/* One open: in[0..len) = ciphertext ‖ tag -> out[0..len-16) plaintext, written only if the tag verifies. */
static int open_one(instance_t *s, const uint8_t *key, const uint8_t *nonce, const view_t *aad, const uint8_t *in, uint8_t *out, int len) {
  int plain = len - TAG_LEN;
  if (plain < 0) return -1;
  uint8_t *buf = chacha_blocks(s, key, nonce, in, plain);
  if (buf == NULL) return -1;
  uint8_t tag[TAG_LEN];
  if (!poly_tag(s, buf, aad, in, (size_t)plain, tag)) return -1; /* the tag is over the ciphertext */
  if (CRYPTO_memcmp(tag, in + plain, TAG_LEN) != 0) return -1;
  memmove(out, buf + BLOCK_LEN, (size_t)plain);
  return plain;
}

static napi_value batch(napi_env env, napi_callback_info info, int seal) {
  size_t argc = 9;
  napi_value argv[9];
  instance_t *s = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (napi_get_instance_data(env, (void **)&s) != napi_ok || s == NULL || s->stream == NULL || s->mac == NULL) {
    napi_throw_error(env, NULL, "wg_aead: no cipher context");
    return NULL;
  }
  view_t keys, input, output, desc, counters, results, nonces = {NULL, 0}, aad = {NULL, 0};
  int have_nonces = 0, have_aad = 0;
  if (argc < 7 || !typed_view(env, argv[0], napi_uint8_array, &keys) || !typed_view(env, argv[1], napi_uint8_array, &input) ||
      !typed_view(env, argv[2], napi_uint8_array, &output) || !typed_view(env, argv[3], napi_int32_array, &desc) ||
      !typed_view(env, argv[4], napi_float64_array, &counters) || !typed_view(env, argv[5], napi_int32_array, &results)) {
    napi_throw_type_error(env, NULL, "wg_aead: (keys, input, output: Uint8Array, desc: Int32Array, counters: Float64Array, results: Int32Array, count)");
    return NULL;
  }
  if (argc >= 8) {
    napi_valuetype t;
    if (napi_typeof(env, argv[7], &t) == napi_ok && t != napi_undefined && t != napi_null) {
      if (!typed_view(env, argv[7], napi_uint8_array, &nonces)) {
        napi_throw_type_error(env, NULL, "wg_aead: nonces must be a Uint8Array");
        return NULL;
      }
      have_nonces = 1;
    }
  }
  if (argc >= 9) {
    napi_valuetype t;
    if (napi_typeof(env, argv[8], &t) == napi_ok && t != napi_undefined && t != napi_null) {
      if (!typed_view(env, argv[8], napi_uint8_array, &aad) || aad.length > INT32_MAX) {
        napi_throw_type_error(env, NULL, "wg_aead: aad must be a Uint8Array");
        return NULL;
      }
      have_aad = 1;
    }
  }
  int64_t count = -1;
  if (napi_get_value_int64(env, argv[6], &count) != napi_ok || count < 0 || (size_t)count > desc.length / DESC_STRIDE ||
      (size_t)count > counters.length || (size_t)count > results.length || (have_nonces && (size_t)count > nonces.length / NONCE_LEN)) {
    napi_throw_range_error(env, NULL, "wg_aead: count exceeds the descriptor arrays");
    return NULL;
  }

  const int32_t *d = (const int32_t *)desc.data;
  const double *c = (const double *)counters.data;
  int32_t *r = (int32_t *)results.data;
  int32_t ok = 0;
  uint8_t nonce[NONCE_LEN] = {0};
  const uint8_t *last_key = NULL; /* the key the context holds: not set up again for the next operation */
  ERR_set_mark(); /* whatever OpenSSL reports about a failed tag stays out of Node's error queue */
  for (int64_t i = 0; i < count; i++) {
    int64_t in_off = d[DESC_STRIDE * i], in_len = d[DESC_STRIDE * i + 1], out_off = d[DESC_STRIDE * i + 2], key_off = d[DESC_STRIDE * i + 3];
    int64_t out_len = seal ? in_len + TAG_LEN : in_len - TAG_LEN;
    r[i] = -1;
    if (in_off < 0 || in_len < 0 || in_off + in_len > (int64_t)input.length) continue;
    if (out_off < 0 || out_len < 0 || out_off + out_len > (int64_t)output.length || out_len > INT32_MAX) continue;
    if (key_off < 0 || key_off + KEY_LEN > (int64_t)keys.length) continue;
    if (have_nonces) {
      memcpy(nonce, nonces.data + NONCE_LEN * i, NONCE_LEN);
    } else {
      double counter = c[i];
      if (!(counter >= 0 && counter <= MAX_COUNTER) || counter != (double)(uint64_t)counter) continue;
      uint64_t n = (uint64_t)counter;
      for (int b = 0; b < 8; b++) nonce[4 + b] = (uint8_t)(n >> (8 * b)); /* 0^32 ‖ LE64(counter) */
    }
    const uint8_t *key = keys.data + key_off;
    const uint8_t *new_key = key == last_key ? NULL : key; /* NULL: keep the context's key, new nonce */
    const view_t *ad = have_aad ? &aad : NULL;
    int w = seal ? seal_one(s, new_key, nonce, ad, input.data + in_off, output.data + out_off, (int)in_len)
                 : open_one(s, new_key, nonce, ad, input.data + in_off, output.data + out_off, (int)in_len);
    last_key = w >= 0 ? key : NULL;
    r[i] = w;
    if (w >= 0) ok++;
  }
  /* Leave no key in the contexts and no plaintext or keystream in scratch between calls. */
  EVP_CipherInit_ex(s->stream, NULL, NULL, ZERO_KEY, ZERO_IV, -1);
  EVP_MAC_init(s->mac, ZERO_KEY, KEY_LEN, NULL);
  if (s->scratch_dirty > 0) {
    OPENSSL_cleanse(s->scratch, s->scratch_dirty);
    s->scratch_dirty = 0;
  }
  ERR_pop_to_mark();
  napi_value result;
  napi_create_int32(env, ok, &result);
  return result;
}

static napi_value seal_batch(napi_env env, napi_callback_info info) { return batch(env, info, 1); }
static napi_value open_batch(napi_env env, napi_callback_info info) { return batch(env, info, 0); }

NAPI_MODULE_INIT() {
  instance_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    napi_throw_error(env, NULL, "wg_aead: out of memory");
    return NULL;
  }
  s->stream = EVP_CIPHER_CTX_new();
  EVP_MAC *poly1305 = EVP_MAC_fetch(NULL, "POLY1305", NULL);
  s->mac = poly1305 != NULL ? EVP_MAC_CTX_new(poly1305) : NULL;
  EVP_MAC_free(poly1305); /* the context keeps its own reference */
  s->x25519 = wg_x25519_state_new();
  if (s->stream == NULL || s->mac == NULL || s->x25519 == NULL || EVP_CipherInit_ex(s->stream, EVP_chacha20(), NULL, NULL, NULL, 1) != 1) {
    instance_free(env, s, NULL);
    ERR_clear_error();
    napi_throw_error(env, NULL, "wg_aead: OpenSSL has no ChaCha20, Poly1305 or X25519");
    return NULL;
  }
  if (napi_set_instance_data(env, s, instance_free, NULL) != napi_ok) {
    instance_free(env, s, NULL);
    napi_throw_error(env, NULL, "wg_aead: cannot keep instance data");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"seal", NULL, seal_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, open_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sum16Ranges", NULL, wg_sum16_ranges, NULL, NULL, NULL, napi_enumerable, NULL},
      {"x25519Private", NULL, wg_x25519_private, NULL, NULL, NULL, napi_enumerable, s->x25519},
      {"x25519Derive", NULL, wg_x25519_derive, NULL, NULL, NULL, napi_enumerable, s->x25519},
      {"ioRead", NULL, wg_io_read, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ioWrite", NULL, wg_io_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ioRecvmmsg", NULL, wg_io_recvmmsg, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ioSendmmsg", NULL, wg_io_sendmmsg, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ioSendmsg", NULL, wg_io_sendmsg, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ioSendto", NULL, wg_io_sendto, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watch", NULL, wg_io_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watchStart", NULL, wg_io_watch_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watchStop", NULL, wg_io_watch_stop, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watchClose", NULL, wg_io_watch_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value tag_len;
  napi_create_int32(env, TAG_LEN, &tag_len);
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok ||
      napi_set_named_property(env, exports, "tagLength", tag_len) != napi_ok)
    return NULL;
  return exports;
}
