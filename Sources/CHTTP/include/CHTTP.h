#ifndef ATELIER_CHTTP_H
#define ATELIER_CHTTP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Progress callback: `now`/`total` are absolute byte positions in the target file
/// (the resume offset is already added); `total` is -1 when unknown. Nonzero aborts.
typedef int (*atl_progress_fn)(void *ctx, long long now, long long total);

/// Result codes shared by the functions below.
enum {
    ATL_HTTP_OK = 0,          ///< transfer finished (check `status` for the HTTP code)
    ATL_HTTP_NO_LIBCURL = 1,  ///< libcurl could not be loaded
    ATL_HTTP_TRANSPORT = 2,   ///< network error (connection reset, timeout, ...): retryable
    ATL_HTTP_BAD_STATUS = 3,  ///< server answered a non-2xx status; body was not written
    ATL_HTTP_RANGE_IGNORED = 4, ///< a ranged request got 200: nothing was written, restart from 0
    ATL_HTTP_WRITE_FAILED = 5,  ///< writing to fd failed (errno text in err)
    ATL_HTTP_ABORTED = 6,       ///< the progress callback asked to stop
};

/// Loads libcurl with dlopen (once). Returns 0 on success, else ATL_HTTP_NO_LIBCURL and a message.
int atl_http_load(char *err, size_t errlen);

/// HEAD request following redirects. `content_length` is -1 when unknown. `header` is one extra
/// request header line ("Authorization: Bearer ..."), or NULL.
int atl_http_head(const char *url, const char *header, long *status, long long *content_length,
                  int *accepts_ranges, char *err, size_t errlen);

/// GET following redirects, writing the body of a 2xx response to `fd` at byte
/// position `offset` onward (pwrite). With offset > 0 a `Range: bytes=offset-` request
/// is sent; a 200 answer to it yields ATL_HTTP_RANGE_IGNORED without writing anything.
/// `written` receives the number of body bytes written to fd. `header` as for atl_http_head.
int atl_http_get(const char *url, const char *header, int fd, long long offset, long *status,
                 long long *written, atl_progress_fn cb, void *ctx,
                 char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
