/*
 * The Internet checksum (RFC 1071) of consecutive ranges of one buffer in one call: what TSO
 * segmentation needs for each segment's payload (src/dataplane/gso.ts), where a JS word loop costs
 * ~0.5 µs per 1400-byte segment and one N-API call per segment ~0.2 µs (benchmarks/README.md,
 * section 17). No protocol logic: "these bytes, in ranges of this size".
 *
 * JS API: sum16Ranges(buf: Uint8Array, start, end, step, out: Float64Array) -> ranges summed
 *   out[i] = the one's-complement sum of buf[start + i·step, min(start + (i+1)·step, end)) as
 *   big-endian 16-bit words (an odd last byte padded with zero), folded to 16 bits, not complemented;
 *   at most out.length ranges. A malformed call (types, a range outside buf, step < 1) throws.
 */
#include "csum.h"

#include <stdint.h>
#include <string.h>

/* Folds a sum of 16-bit quantities to 16 bits (end-around carry). */
static uint64_t fold16(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return s;
}

/* RFC 1071 sum of p[0..n): native-order 32-bit words (a one's-complement sum is byte-order independent
 * up to a swap of the result, RFC 1071 §2(B)), then the tail as big-endian words. */
static uint32_t sum16(const uint8_t *p, size_t n) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t w;
    memcpy(&w, p + i, 4);
    acc += w;
  }
  acc = fold16(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  acc = ((acc & 0xff) << 8) | (acc >> 8);
#endif
  for (; i + 2 <= n; i += 2) acc += ((uint32_t)p[i] << 8) | p[i + 1];
  if (i < n) acc += (uint32_t)p[i] << 8;
  return (uint32_t)fold16(acc);
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok || type != want) return 0;
  if (*data == NULL) *length = 0;
  return 1;
}

napi_value wg_sum16_ranges(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  void *buf = NULL, *out = NULL;
  size_t len = 0, outlen = 0;
  int64_t start = -1, end = -1, step = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5 || !typed(env, argv[0], napi_uint8_array, &buf, &len) || !typed(env, argv[4], napi_float64_array, &out, &outlen) ||
      napi_get_value_int64(env, argv[1], &start) != napi_ok || napi_get_value_int64(env, argv[2], &end) != napi_ok ||
      napi_get_value_int64(env, argv[3], &step) != napi_ok) {
    napi_throw_type_error(env, NULL, "sum16Ranges: (buf: Uint8Array, start, end, step: integers, out: Float64Array)");
    return NULL;
  }
  if (start < 0 || start > end || end > (int64_t)len || step < 1) {
    napi_throw_range_error(env, NULL, "sum16Ranges: range outside the buffer or step < 1");
    return NULL;
  }
  double *o = out;
  int64_t k = 0;
  for (int64_t s = start; s < end && (size_t)k < outlen; s += step, k++) {
    int64_t e = end - s > step ? s + step : end;
    o[k] = sum16((const uint8_t *)buf + s, (size_t)(e - s));
  }
  napi_value r;
  napi_create_int64(env, k, &r);
  return r;
}
