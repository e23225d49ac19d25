// libcurl loaded with dlopen at run time, so the build needs no curl headers and
// the binary runs (minus HTTPS pulls) where libcurl is absent.
// All curl_easy_setopt calls (variadic) happen here in C, never from Swift.
#define _GNU_SOURCE
#include "CHTTP.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

// ---- curl ABI subset (values from curl.h: CURLOPTTYPE_LONG=0, OBJECTPOINT=10000,
// FUNCTIONPOINT=20000, OFF_T=30000; CURLINFO_LONG=0x200000, CURLINFO_OFF_T=0x600000) ----
enum {
    CURLOPT_WRITEDATA = 10001,
    CURLOPT_URL = 10002,
    CURLOPT_ERRORBUFFER = 10010,
    CURLOPT_HTTPHEADER = 10023,
    CURLOPT_WRITEFUNCTION = 20011,
    CURLOPT_USERAGENT = 10018,
    CURLOPT_LOW_SPEED_LIMIT = 19,
    CURLOPT_LOW_SPEED_TIME = 20,
    CURLOPT_HEADERDATA = 10029,
    CURLOPT_NOPROGRESS = 43,
    CURLOPT_NOBODY = 44,
    CURLOPT_FOLLOWLOCATION = 52,
    CURLOPT_XFERINFODATA = 10057,
    CURLOPT_MAXREDIRS = 68,
    CURLOPT_CONNECTTIMEOUT = 78,
    CURLOPT_HEADERFUNCTION = 20079,
    CURLOPT_NOSIGNAL = 99,
    CURLOPT_RESUME_FROM_LARGE = 30116,
    CURLOPT_XFERINFOFUNCTION = 20219,
};
enum {
    CURLINFO_RESPONSE_CODE = 0x200000 + 2,
    CURLINFO_CONTENT_LENGTH_DOWNLOAD_T = 0x600000 + 15,
};
enum { CURLE_OK = 0, CURLE_RANGE_ERROR = 33, CURL_ERROR_SIZE = 256, CURL_GLOBAL_ALL = 3 };

typedef long long curl_off_t;
struct curl_slist;

typedef int (*fn_global_init)(long);
typedef void *(*fn_easy_init)(void);
typedef int (*fn_easy_setopt)(void *, int, ...);
typedef int (*fn_easy_perform)(void *);
typedef int (*fn_easy_getinfo)(void *, int, ...);
typedef void (*fn_easy_cleanup)(void *);
typedef const char *(*fn_easy_strerror)(int);
typedef struct curl_slist *(*fn_slist_append)(struct curl_slist *, const char *);
typedef void (*fn_slist_free_all)(struct curl_slist *);

static struct {
    fn_global_init global_init;
    fn_easy_init easy_init;
    fn_easy_setopt easy_setopt;
    fn_easy_perform easy_perform;
    fn_easy_getinfo easy_getinfo;
    fn_easy_cleanup easy_cleanup;
    fn_easy_strerror easy_strerror;
    fn_slist_append slist_append;
    fn_slist_free_all slist_free_all;
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_result = ATL_HTTP_NO_LIBCURL;
static char load_error[512];

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#include <stdarg.h>
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void do_load(void) {
    static const char *names[] = {"libcurl.so.4", "libcurl.so", "libcurl-gnutls.so.4", NULL};
    void *h = NULL;
    for (int i = 0; names[i] && !h; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_error, sizeof load_error,
                 "HTTPS downloads need libcurl, which could not be loaded (%s): apt-get install libcurl4",
                 dlerror());
        return;
    }
#define SYM(field, name)                                                                   \
    do {                                                                                   \
        *(void **)(&curl.field) = dlsym(h, name);                                          \
        if (!curl.field) {                                                                 \
            snprintf(load_error, sizeof load_error,                                        \
                     "libcurl was found but lacks %s; HTTPS downloads need libcurl 7.61+: " \
                     "apt-get install libcurl4", name);                                    \
            return;                                                                        \
        }                                                                                  \
    } while (0)
    SYM(global_init, "curl_global_init");
    SYM(easy_init, "curl_easy_init");
    SYM(easy_setopt, "curl_easy_setopt");
    SYM(easy_perform, "curl_easy_perform");
    SYM(easy_getinfo, "curl_easy_getinfo");
    SYM(easy_cleanup, "curl_easy_cleanup");
    SYM(easy_strerror, "curl_easy_strerror");
    SYM(slist_append, "curl_slist_append");
    SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
    // curl_global_init is not thread-safe; pthread_once makes it run exactly once.
    int rc = curl.global_init(CURL_GLOBAL_ALL);
    if (rc != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "curl_global_init failed: %s", curl.easy_strerror(rc));
        return;
    }
    load_result = ATL_HTTP_OK;
}

int atl_http_load(char *err, size_t errlen) {
    pthread_once(&load_once, do_load);
    if (load_result != ATL_HTTP_OK) set_err(err, errlen, "%s", load_error);
    return load_result;
}

// Options common to HEAD and GET. `headers` (may be NULL) is owned by the caller until cleanup.
static void common_setup(void *h, const char *url, char *curlerr, struct curl_slist *headers) {
    curl.easy_setopt(h, CURLOPT_URL, url);
    curl.easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
    curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L); // Hugging Face /resolve/ redirects to a CDN
    curl.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);       // we run on arbitrary threads
    curl.easy_setopt(h, CURLOPT_USERAGENT, "atelier/0.1 (libcurl)");
    curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    // A stalled server (< 1 byte/s for 30 s) fails the transfer instead of hanging forever.
    curl.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    // libcurl (7.58+) drops a custom Authorization header when a redirect changes host, so a
    // token meant for the API host never reaches the CDN it redirects to.
    if (headers) curl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
}

static struct curl_slist *header_list(const char *header) {
    return header && header[0] ? curl.slist_append(NULL, header) : NULL;
}

static const char *curl_message(int rc, const char *curlerr) {
    return curlerr[0] ? curlerr : curl.easy_strerror(rc);
}

// ---- HEAD ----
struct head_ctx { int accepts_ranges; };

static int starts_with_ci(const char *s, size_t n, const char *prefix) {
    size_t p = strlen(prefix);
    return n >= p && strncasecmp(s, prefix, p) == 0;
}

static size_t head_header_cb(char *buf, size_t size, size_t n, void *userdata) {
    struct head_ctx *c = userdata;
    size_t len = size * n;
    // With redirects, headers of every hop arrive here: reset at each status line.
    if (starts_with_ci(buf, len, "HTTP/")) c->accepts_ranges = 0;
    else if (starts_with_ci(buf, len, "accept-ranges:")) {
        const char *v = buf + strlen("accept-ranges:");
        size_t vl = len - strlen("accept-ranges:");
        for (size_t i = 0; i + 5 <= vl; i++)
            if (strncasecmp(v + i, "bytes", 5) == 0) { c->accepts_ranges = 1; break; }
    }
    return len;
}

static size_t discard_cb(char *buf, size_t size, size_t n, void *userdata) {
    (void)buf; (void)userdata;
    return size * n;
}

int atl_http_head(const char *url, const char *header, long *status, long long *content_length,
                  int *accepts_ranges, char *err, size_t errlen) {
    *status = 0; *content_length = -1; *accepts_ranges = 0;
    int lr = atl_http_load(err, errlen);
    if (lr != ATL_HTTP_OK) return lr;
    void *h = curl.easy_init();
    if (!h) { set_err(err, errlen, "curl_easy_init failed"); return ATL_HTTP_TRANSPORT; }
    char curlerr[CURL_ERROR_SIZE] = {0};
    struct head_ctx hc = {0};
    struct curl_slist *headers = header_list(header);
    common_setup(h, url, curlerr, headers);
    curl.easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, head_header_cb);
    curl.easy_setopt(h, CURLOPT_HEADERDATA, &hc);
    curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
    int rc = curl.easy_perform(h);
    curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_off_t cl = -1;
    curl.easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    *content_length = cl;
    *accepts_ranges = hc.accepts_ranges;
    int result = ATL_HTTP_OK;
    if (rc != CURLE_OK) {
        set_err(err, errlen, "%s", curl_message(rc, curlerr));
        result = ATL_HTTP_TRANSPORT;
    } else if (*status < 200 || *status > 299) {
        set_err(err, errlen, "HTTP status %ld", *status);
        result = ATL_HTTP_BAD_STATUS;
    }
    curl.easy_cleanup(h);
    if (headers) curl.slist_free_all(headers);
    return result;
}

// ---- GET ----
struct get_ctx {
    void *handle;
    int fd;
    long long offset;    // where the body starts in the file
    long long written;   // body bytes written so far
    int verdict;         // ATL_HTTP_OK until the write callback refuses the body
    long status;
    long long range_start; // from Content-Range of the final response, -1 if absent
    int write_errno;
    atl_progress_fn cb;
    void *cb_ctx;
    int aborted;
};

static size_t get_header_cb(char *buf, size_t size, size_t n, void *userdata) {
    struct get_ctx *c = userdata;
    size_t len = size * n;
    if (starts_with_ci(buf, len, "HTTP/")) c->range_start = -1;
    else if (starts_with_ci(buf, len, "content-range:")) {
        char tmp[128];
        size_t l = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
        memcpy(tmp, buf, l);
        tmp[l] = 0;
        const char *p = strcasestr(tmp, "bytes");
        long long start = -1;
        if (p && sscanf(p + 5, " %lld", &start) == 1) c->range_start = start;
    }
    return len;
}

static size_t get_write_cb(char *buf, size_t size, size_t n, void *userdata) {
    struct get_ctx *c = userdata;
    size_t len = size * n;
    if (c->verdict != ATL_HTTP_OK) return 0;
    long status = 0;
    curl.easy_getinfo(c->handle, CURLINFO_RESPONSE_CODE, &status);
    c->status = status;
    // Only the body of a 2xx response reaches the file (error pages never do).
    if (status < 200 || status > 299) { c->verdict = ATL_HTTP_BAD_STATUS; return 0; }
    if (c->offset > 0 && (status != 206 || c->range_start != c->offset)) {
        // Server ignored (or mangled) our Range: refuse the body so the caller restarts from 0.
        c->verdict = ATL_HTTP_RANGE_IGNORED;
        return 0;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = pwrite(c->fd, buf + done, len - done, (off_t)(c->offset + c->written));
        if (w < 0) {
            if (errno == EINTR) continue;
            c->write_errno = errno;
            c->verdict = ATL_HTTP_WRITE_FAILED;
            return 0;
        }
        if (w == 0) { c->write_errno = ENOSPC; c->verdict = ATL_HTTP_WRITE_FAILED; return 0; }
        done += (size_t)w;
        c->written += w;
    }
    return len;
}

static int get_xferinfo_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                           curl_off_t ultotal, curl_off_t ulnow) {
    (void)ultotal; (void)ulnow; (void)dlnow;
    struct get_ctx *c = userdata;
    if (!c->cb) return 0;
    long long total = dltotal > 0 ? c->offset + dltotal : -1;
    if (c->cb(c->cb_ctx, c->offset + c->written, total) != 0) { c->aborted = 1; return 1; }
    return 0;
}

int atl_http_get(const char *url, const char *header, int fd, long long offset, long *status,
                 long long *written, atl_progress_fn cb, void *ctx,
                 char *err, size_t errlen) {
    *status = 0;
    if (written) *written = 0;
    int lr = atl_http_load(err, errlen);
    if (lr != ATL_HTTP_OK) return lr;
    void *h = curl.easy_init();
    if (!h) { set_err(err, errlen, "curl_easy_init failed"); return ATL_HTTP_TRANSPORT; }
    char curlerr[CURL_ERROR_SIZE] = {0};
    struct get_ctx gc = {0};
    gc.handle = h; gc.fd = fd; gc.offset = offset; gc.range_start = -1;
    gc.verdict = ATL_HTTP_OK; gc.cb = cb; gc.cb_ctx = ctx;
    struct curl_slist *headers = header_list(header);
    common_setup(h, url, curlerr, headers);
    curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, get_write_cb);
    curl.easy_setopt(h, CURLOPT_WRITEDATA, &gc);
    curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, get_header_cb);
    curl.easy_setopt(h, CURLOPT_HEADERDATA, &gc);
    if (offset > 0) curl.easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)offset);
    curl.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, get_xferinfo_cb);
    curl.easy_setopt(h, CURLOPT_XFERINFODATA, &gc);

    int rc = curl.easy_perform(h);
    curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (written) *written = gc.written;
    int result = ATL_HTTP_OK;
    if (gc.verdict == ATL_HTTP_WRITE_FAILED) {
        set_err(err, errlen, "writing the download failed: %s", strerror(gc.write_errno));
        result = ATL_HTTP_WRITE_FAILED;
    } else if (gc.verdict == ATL_HTTP_RANGE_IGNORED) {
        set_err(err, errlen, "server answered %ld to a request for bytes %lld- (resume not honoured)",
                *status, offset);
        result = ATL_HTTP_RANGE_IGNORED;
    } else if (gc.verdict == ATL_HTTP_BAD_STATUS || (rc == CURLE_OK && (*status < 200 || *status > 299))) {
        set_err(err, errlen, "HTTP status %ld", *status);
        result = ATL_HTTP_BAD_STATUS;
    } else if (gc.aborted) {
        set_err(err, errlen, "download cancelled");
        result = ATL_HTTP_ABORTED;
    } else if (offset > 0 && (rc == CURLE_RANGE_ERROR || (*status == 200 && gc.written == 0))) {
        // libcurl itself notices a 200 answer to RESUME_FROM and stops before any body.
        set_err(err, errlen, "server answered %ld to a request for bytes %lld- (resume not honoured)",
                *status, offset);
        result = ATL_HTTP_RANGE_IGNORED;
    } else if (rc != CURLE_OK) {
        set_err(err, errlen, "%s", curl_message(rc, curlerr));
        result = ATL_HTTP_TRANSPORT;
    } else if (offset > 0 && gc.written == 0 && *status == 200) {
        // 200 with an empty body to a ranged request: still "range ignored".
        set_err(err, errlen, "server answered 200 to a ranged request");
        result = ATL_HTTP_RANGE_IGNORED;
    }
    curl.easy_cleanup(h);
    if (headers) curl.slist_free_all(headers);
    if (result == ATL_HTTP_WRITE_FAILED) errno = gc.write_errno;
    return result;
}
