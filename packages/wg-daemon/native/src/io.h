/* The data plane's hot system calls and readable-watches on fds (io.c). */
#ifndef WG_IO_H
#define WG_IO_H
#include <node_api.h>

/* ioRead(fd, addr, n), ioWrite(fd, addr, n), ioRecvmmsg(fd, vec, vlen, flags), ioSendmmsg(fd, vec, vlen, flags),
 * ioSendmsg(fd, msg, flags), ioSendto(fd, addr, n, flags, to, tolen) -> result or -errno */
napi_value wg_io_read(napi_env env, napi_callback_info info);
napi_value wg_io_write(napi_env env, napi_callback_info info);
napi_value wg_io_recvmmsg(napi_env env, napi_callback_info info);
napi_value wg_io_sendmmsg(napi_env env, napi_callback_info info);
napi_value wg_io_sendmsg(napi_env env, napi_callback_info info);
napi_value wg_io_sendto(napi_env env, napi_callback_info info);
/* watch(fd, callback) -> handle (not started); watchStart(handle), watchStop(handle), watchClose(handle) */
napi_value wg_io_watch(napi_env env, napi_callback_info info);
napi_value wg_io_watch_start(napi_env env, napi_callback_info info);
napi_value wg_io_watch_stop(napi_env env, napi_callback_info info);
napi_value wg_io_watch_close(napi_env env, napi_callback_info info);

#endif
