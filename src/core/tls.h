/* Internal: thread-local storage on the hot path. */
#ifndef AX_CORE_TLS_H
#define AX_CORE_TLS_H

/* Thread-locals on the hot path: the initial-exec model makes them one
 * %fs-relative load instead of a __tls_get_addr call in a shared library.
 * axle's TLS is a few pointers, well within the static TLS reserve even
 * when the library is dlopen()ed. */
#if defined(__GNUC__) && !defined(_WIN32) && !defined(__APPLE__)
#  define AX__TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#  define AX__TLS _Thread_local
#endif

#endif
