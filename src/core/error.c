/* Error names and messages: axle's own range, then libuv's.
 *
 * libuv's uv_strerror / uv_err_name return a malloc'd string (never freed)
 * for a code they do not know; the public header promises static strings.
 * So codes outside libuv's map (UV_ERRNO_MAP, uv.h) get axle's own
 * static answer and never reach libuv. */
#include "axle/common.h"

static int uv_knows(int err) {
  switch (err) {
#define AX__UV_KNOWN(name, msg) case UV_##name: return 1;
    UV_ERRNO_MAP(AX__UV_KNOWN)
#undef AX__UV_KNOWN
    default: return 0;
  }
}

const char *ax_strerror(int err) {
  switch (err) {
#define AX__ERR_MSG(name, val, msg) case AX_##name: return msg;
    AX__ERR_MAP(AX__ERR_MSG)
#undef AX__ERR_MSG
    case 0: return "success";
    default: return uv_knows(err) ? uv_strerror(err) : "unknown error";
  }
}

const char *ax_err_name(int err) {
  switch (err) {
#define AX__ERR_NAME(name, val, msg) case AX_##name: return "AX_" #name;
    AX__ERR_MAP(AX__ERR_NAME)
#undef AX__ERR_NAME
    case 0: return "OK";
    default: return uv_knows(err) ? uv_err_name(err) : "UNKNOWN";
  }
}
