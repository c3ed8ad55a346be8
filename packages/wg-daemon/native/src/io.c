/*
 * The data plane's hot system calls and fd watches (src/dataplane/sys.ts): koffi's generic call
 * path, and its poll callback's event object, cost a lone packet ~100 µs (12 %) per round trip over two
 * daemons (benchmarks/README.md, section 19). No protocol logic: each function is one system call.
 *
 * Buffers are passed as addresses (numbers), as the koffi declarations in src/libc.ts take them:
 * the caller owns the memory and keeps it alive. Every call returns the system call's result, or
 * −errno; an argument that is not a number gives −EINVAL without a system call.
 *
 * A watch is a uv_poll_t in the calling thread's event loop, started for readability; its JS
 * callback gets no arguments (the read that follows tells data from an error or a hang-up). The
 * watch is freed once it is closed and its handle garbage-collected, in either order; a handle
 * collected unclosed closes its watch.
 */
#define _GNU_SOURCE
#include "io.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_ARGS 6

/* Reads `n` numeric arguments into `v`; false (and nothing called) when one is missing or not a number. */
static int numbers(napi_env env, napi_callback_info info, double *v, size_t n) {
  napi_value argv[MAX_ARGS];
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) return 0;
  for (size_t i = 0; i < n; i++)
    if (napi_get_value_double(env, argv[i], &v[i]) != napi_ok) return 0;
  return 1;
}

static napi_value result(napi_env env, long r) {
  napi_value out;
  napi_create_int32(env, r < 0 ? -errno : (int32_t)r, &out);
  return out;
}

static napi_value invalid(napi_env env) {
  errno = EINVAL;
  return result(env, -1);
}

#define ADDR(x) ((void *)(uintptr_t)(x))

/* One exported function per system call: `n` numeric arguments in a[], the call's result or −errno. */
#define SYSCALL(fname, n, call)                                   \
  napi_value fname(napi_env env, napi_callback_info info) {      \
    double a[n];                                                   \
    if (!numbers(env, info, a, n)) return invalid(env);            \
    return result(env, call);                                      \
  }

SYSCALL(wg_io_read, 3, read((int)a[0], ADDR(a[1]), (size_t)a[2]))
SYSCALL(wg_io_write, 3, write((int)a[0], ADDR(a[1]), (size_t)a[2]))
/* recvmmsg(fd, vec, vlen, flags): no timeout. */
SYSCALL(wg_io_recvmmsg, 4, recvmmsg((int)a[0], ADDR(a[1]), (unsigned)a[2], (int)a[3], NULL))
SYSCALL(wg_io_sendmmsg, 4, sendmmsg((int)a[0], ADDR(a[1]), (unsigned)a[2], (int)a[3]))
SYSCALL(wg_io_sendmsg, 3, sendmsg((int)a[0], ADDR(a[1]), (int)a[2]))
SYSCALL(wg_io_sendto, 6, sendto((int)a[0], ADDR(a[1]), (size_t)a[2], (int)a[3], ADDR(a[4]), (socklen_t)a[5]))

typedef struct {
  uv_poll_t *handle; /* uv_handle_size(UV_POLL) bytes: the running libuv's size, not our header's */
  napi_env env;
  napi_ref callback; /* NULL once closed */
  int uv_closed;     /* libuv is done with `handle` */
  int collected;     /* the JS external is gone */
} watch_t;

/* Tags the watch handles, so that a foreign external is refused (napi_check_object_type_tag). */
static const napi_type_tag WATCH_TAG = {0x7767747377617463ULL, 0x68666431706f6c6cULL};

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  watch_t *w = h->data;
  if (w->callback == NULL) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  napi_value fn, recv;
  napi_get_undefined(w->env, &recv);
  if (napi_get_reference_value(w->env, w->callback, &fn) == napi_ok && fn != NULL &&
      napi_call_function(w->env, recv, fn, 0, NULL, NULL) == napi_pending_exception) {
    napi_value e;
    napi_get_and_clear_last_exception(w->env, &e);
    napi_fatal_exception(w->env, e); /* as an exception thrown in any other event callback */
  }
  napi_close_handle_scope(w->env, scope);
}

static void free_watch(watch_t *w) {
  free(w->handle);
  free(w);
}

static void on_uv_closed(uv_handle_t *h) {
  watch_t *w = h->data;
  w->uv_closed = 1;
  if (w->collected) free_watch(w);
}

/* Stops the watch and lets go of its callback; libuv frees nothing of ours. */
static void close_watch(watch_t *w) {
  if (w->callback == NULL) return;
  napi_delete_reference(w->env, w->callback);
  w->callback = NULL;
  uv_poll_stop(w->handle);
  uv_close((uv_handle_t *)w->handle, on_uv_closed);
}

static void on_collected(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  watch_t *w = data;
  w->collected = 1;
  close_watch(w);
  if (w->uv_closed) free_watch(w);
}

static watch_t *watch_arg(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  bool tagged = false;
  void *w = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_check_object_type_tag(env, argv[0], &WATCH_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, argv[0], &w) != napi_ok) {
    napi_throw_type_error(env, NULL, "not a watch handle");
    return NULL;
  }
  return w;
}

napi_value wg_io_watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  int32_t fd = -1;
  napi_valuetype type = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "watch(fd, callback): a file descriptor and a function");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, NULL, "watch: no event loop");
    return NULL;
  }
  watch_t *w = calloc(1, sizeof *w);
  if (w != NULL) w->handle = calloc(1, uv_handle_size(UV_POLL));
  if (w == NULL || w->handle == NULL) {
    free(w);
    napi_throw_error(env, NULL, "watch: out of memory");
    return NULL;
  }
  w->env = env;
  int r = uv_poll_init(loop, w->handle, fd);
  w->handle->data = w; /* after init, which may clear the handle */
  if (r != 0) {
    free_watch(w);
    napi_throw_error(env, NULL, uv_strerror(r));
    return NULL;
  }
  napi_value external;
  if (napi_create_reference(env, argv[1], 1, &w->callback) != napi_ok) {
    w->collected = 1; /* no external: freed once libuv lets go */
    uv_close((uv_handle_t *)w->handle, on_uv_closed);
    napi_throw_error(env, NULL, "watch: cannot keep the callback");
    return NULL;
  }
  if (napi_create_external(env, w, on_collected, NULL, &external) != napi_ok) {
    w->collected = 1;
    close_watch(w);
    napi_throw_error(env, NULL, "watch: cannot make a handle");
    return NULL;
  }
  napi_type_tag_object(env, external, &WATCH_TAG); /* on failure the handle is refused by every call: closed when collected */
  return external;
}

/* Starts (or restarts) watching for readability; a closed watch stays closed. */
napi_value wg_io_watch_start(napi_env env, napi_callback_info info) {
  watch_t *w = watch_arg(env, info);
  if (w != NULL && w->callback != NULL) {
    int r = uv_poll_start(w->handle, UV_READABLE, on_readable);
    if (r != 0) napi_throw_error(env, NULL, uv_strerror(r));
  }
  return NULL;
}

napi_value wg_io_watch_stop(napi_env env, napi_callback_info info) {
  watch_t *w = watch_arg(env, info);
  if (w != NULL && w->callback != NULL) uv_poll_stop(w->handle);
  return NULL;
}

/* Closes the watch (before its fd is closed or replaced: libuv must not poll a closed fd). */
napi_value wg_io_watch_close(napi_env env, napi_callback_info info) {
  watch_t *w = watch_arg(env, info);
  if (w != NULL) close_watch(w);
  return NULL;
}
