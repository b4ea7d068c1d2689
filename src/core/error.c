/* Error names and messages: axle's own range, then libuv's. */
#include "axle/common.h"

const char *ax_strerror(int err) {
  switch (err) {
#define AX__ERR_MSG(name, val, msg) case AX_##name: return msg;
    AX__ERR_MAP(AX__ERR_MSG)
#undef AX__ERR_MSG
    case 0: return "success";
    default: return uv_strerror(err);
  }
}

const char *ax_err_name(int err) {
  switch (err) {
#define AX__ERR_NAME(name, val, msg) case AX_##name: return "AX_" #name;
    AX__ERR_MAP(AX__ERR_NAME)
#undef AX__ERR_NAME
    case 0: return "OK";
    default: return uv_err_name(err);
  }
}
