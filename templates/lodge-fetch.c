/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lodge-fetch: the one lodge program that talks to the network. lodge runs it
 * (templates/fetch.c) with the file to fill as fd 3; it GETs one http(s) URL
 * into it and says how it went on stdout, one line each:
 *
 *   progress DONE TOTAL          (TOTAL 0: unknown), at most ~5 a second
 *   ok HTTP-STATUS BYTES
 *   error ERRNO MESSAGE
 *
 * It parses what a hostile server sends (headers, redirects, TLS), so it is
 * kept apart from lodge (which never links libcurl), runs as an unprivileged
 * user with no_new_privs, and writes nowhere but fd 3. lodge does all parsing
 * and verification of what was downloaded. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#define OUT_FD 3
#define NOBODY 65534
#define DISCARD_MAX (1U << 20)
#define CA_MAX (16U << 20)

struct fetch_opts {
        const char *url;
        char *ca; /* the CA bundle's PEM text, read from --ca-fd; NULL: the system's */
        size_t ca_len;
        uint64_t max_size;       /* 0: no cap */
        long connect_timeout;    /* seconds */
        long low_speed_time;     /* seconds under low_speed_limit */
        long low_speed_limit;    /* bytes/s */
        unsigned retries;        /* extra attempts for transient failures */
        unsigned retry_delay_ms; /* doubled each time */
        unsigned max_redirs;
        bool allow_host_change;
        bool progress;
        bool resume;
};

struct transfer {
        const struct fetch_opts *o;
        CURL *h;
        uint64_t written;   /* bytes in OUT_FD */
        uint64_t start;     /* where this attempt started writing */
        uint64_t discarded; /* bytes of bodies that are not the file */
        bool checked;       /* the status of this response was looked at */
        bool discard;       /* a redirect's body: not ours */
        int err;            /* why the write callback stopped the transfer */
        char errmsg[256];
        uint64_t last_progress_ms;
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
        va_list ap;

        printf("error %d ", code);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
        return 1;
}

static int write_all_fd(const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = write(OUT_FD, p, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

/* The body goes to OUT_FD only from a 200 (or a 206 answering our range);
 * an error page or a redirect's body is never written. */
static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct transfer *t = userdata;
        size_t n = size * nmemb;
        long code = 0;
        int r;

        if (!t->checked) {
                t->checked = true;
                (void)curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &code);
                if (code >= 300 && code < 400) {
                        t->discard = true;
                } else if (code == 200 && t->start > 0) {
                        /* The server ignored our range: start over. */
                        if (ftruncate(OUT_FD, 0) < 0 || lseek(OUT_FD, 0, SEEK_SET) < 0) {
                                t->err = errno;
                                return 0;
                        }
                        t->written = t->start = 0;
                } else if (code != 200 && code != 206) {
                        return n; /* the status is reported after the transfer */
                }
        }
        (void)curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &code);
        if (t->discard || (code != 200 && code != 206)) {
                /* An error page or a redirect's body: read, dropped, and not forever. */
                t->discarded += n;
                if (t->discarded > DISCARD_MAX) {
                        t->err = EFBIG;
                        snprintf(t->errmsg, sizeof(t->errmsg), "an endless HTTP %ld body", code);
                        return 0;
                }
                return n;
        }
        if (t->o->max_size && t->written + n > t->o->max_size) {
                t->err = EFBIG;
                snprintf(t->errmsg, sizeof(t->errmsg), "more than the expected %" PRIu64 " bytes",
                         t->o->max_size);
                return 0;
        }
        r = write_all_fd(data, n);
        if (r < 0) {
                t->err = -r;
                snprintf(t->errmsg, sizeof(t->errmsg), "write the download");
                return 0;
        }
        t->written += n;
        return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        struct transfer *t = userdata;
        uint64_t now = now_ms();

        if (!t->o->progress || t->discard || dlnow <= 0 || now - t->last_progress_ms < 200)
                return 0;
        t->last_progress_ms = now;
        printf("progress %" PRIu64 " %" PRIu64 "\n", t->written,
               dltotal > 0 ? t->start + (uint64_t)dltotal : 0);
        fflush(stdout);
        return 0;
}

/* Transient: worth another try after a pause. */
static bool transient(CURLcode c, long code)
{
        switch (c) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_COULDNT_RESOLVE_HOST:
                return true;
        case CURLE_OK:
                return code == 429 || code == 500 || code == 502 || code == 503 || code == 504;
        default:
                return false;
        }
}

static int curl_errno(CURLcode c)
{
        switch (c) {
        case CURLE_OPERATION_TIMEDOUT:
                return ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return EHOSTUNREACH;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CONNECT_ERROR:
                return EPROTO;
        case CURLE_FILESIZE_EXCEEDED:
                return EFBIG;
        default: /* partial file, receive errors, nothing received, … */
                return EIO;
        }
}

/* Where a redirect may go: http(s) only, never from https down to http, and
 * to another host only when allowed. 0, or an errno with the reason. */
static int redirect_allowed(const struct fetch_opts *o, const char *from, const char *to, char *why,
                            size_t whylen)
{
        CURLU *a = curl_url(), *b = curl_url();
        char *sa = NULL, *sb = NULL, *ha = NULL, *hb = NULL, *pa = NULL, *pb = NULL;
        int r = EPERM;

        if (!a || !b || curl_url_set(a, CURLUPART_URL, from, 0) != CURLUE_OK ||
            curl_url_set(b, CURLUPART_URL, to, 0) != CURLUE_OK ||
            curl_url_get(a, CURLUPART_SCHEME, &sa, 0) != CURLUE_OK ||
            curl_url_get(b, CURLUPART_SCHEME, &sb, 0) != CURLUE_OK ||
            curl_url_get(a, CURLUPART_HOST, &ha, 0) != CURLUE_OK ||
            curl_url_get(b, CURLUPART_HOST, &hb, 0) != CURLUE_OK) {
                snprintf(why, whylen, "a redirect to a malformed URL");
                goto out;
        }
        (void)curl_url_get(a, CURLUPART_PORT, &pa, CURLU_DEFAULT_PORT);
        (void)curl_url_get(b, CURLUPART_PORT, &pb, CURLU_DEFAULT_PORT);
        if (strcmp(sb, "https") != 0 && strcmp(sb, "http") != 0)
                snprintf(why, whylen, "a redirect to a '%s' URL is refused", sb);
        else if (strcmp(sa, "https") == 0 && strcmp(sb, "http") == 0)
                snprintf(why, whylen, "a redirect from https down to http is refused");
        else if (!o->allow_host_change &&
                 (strcasecmp(ha, hb) != 0 || !pa || !pb || strcmp(pa, pb) != 0))
                snprintf(why, whylen, "a redirect to another host is refused");
        else
                r = 0;
out:
        curl_free(sa);
        curl_free(sb);
        curl_free(ha);
        curl_free(hb);
        curl_free(pa);
        curl_free(pb);
        curl_url_cleanup(a);
        curl_url_cleanup(b);
        return r;
}

static void setup_handle(CURL *h, const struct fetch_opts *o, struct transfer *t)
{
        (void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        (void)curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* followed by hand, checked */
        (void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        (void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (o->ca) {
                struct curl_blob blob = { .data = o->ca,
                                          .len = o->ca_len,
                                          .flags = CURL_BLOB_COPY };

                (void)curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
        }
        (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout);
        (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o->low_speed_time);
        (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
        (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(h, CURLOPT_USERAGENT, "lodge/" LODGE_VERSION);
        (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
        (void)curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        (void)curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
        (void)curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        if (o->max_size)
                (void)curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_size);
}

/* One attempt, following redirects. 0 on a complete 200/206, else 1 with the
 * error line printed, *retry set when another attempt may help. */
static int attempt(CURL *h, struct transfer *t, bool *retry)
{
        const struct fetch_opts *o = t->o;
        char url[8192], why[256];
        long code = 0;
        CURLcode c;

        snprintf(url, sizeof(url), "%s", o->url);
        *retry = false;
        for (unsigned hops = 0;; hops++) {
                char *next = NULL;

                t->checked = t->discard = false;
                t->err = 0;
                t->errmsg[0] = '\0';
                t->start = t->written;
                (void)curl_easy_setopt(h, CURLOPT_URL, url);
                (void)curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)t->written);
                c = curl_easy_perform(h);
                (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
                if (t->err)
                        return fail(t->err, "%s", t->errmsg[0] ? t->errmsg : "write the download");
                if (c == CURLE_FILESIZE_EXCEEDED)
                        return fail(EFBIG, "larger than the expected %" PRIu64 " bytes",
                                    o->max_size);
                if (c == CURLE_RANGE_ERROR && t->written > 0) {
                        /* No ranges here: the next attempt starts over. */
                        if (ftruncate(OUT_FD, 0) < 0 || lseek(OUT_FD, 0, SEEK_SET) < 0)
                                return fail(errno, "truncate the output");
                        t->written = 0;
                        continue;
                }
                if (c != CURLE_OK) {
                        *retry = transient(c, 0);
                        return fail(curl_errno(c), "%s", curl_easy_strerror(c));
                }
                if (code < 300 || code >= 400)
                        break;
                (void)curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &next);
                if (!next)
                        return fail(EPROTO, "a redirect without a location");
                if (hops >= o->max_redirs)
                        return fail(ELOOP, "too many redirects");
                if (redirect_allowed(o, url, next, why, sizeof(why)) != 0)
                        return fail(EPERM, "%s", why);
                snprintf(url, sizeof(url), "%s", next);
        }
        if (code == 416 && t->written > 0 && o->max_size && t->written == o->max_size)
                code = 206; /* asked for the range after a complete file */
        if (code != 200 && code != 206) {
                *retry = transient(CURLE_OK, code);
                return fail(code == 404 ? ENOENT : EPROTO, "the server answered HTTP %ld", code);
        }
        if (o->progress) /* the last word: complete */
                printf("progress %" PRIu64 " %" PRIu64 "\n", t->written, t->written);
        printf("ok %ld %" PRIu64 "\n", code, t->written);
        fflush(stdout);
        return 0;
}

/* Before anything comes from the network: nobody, for good. */
static int drop_privileges(void)
{
        if (getuid() == 0 || geteuid() == 0) {
                if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                    setresuid(NOBODY, NOBODY, NOBODY) < 0)
                        return -errno;
                if (setuid(0) == 0)
                        return -EPERM;
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        return 0;
}

/* The CA bundle lodge opened for us: we may not be able to open it by name
 * once we are nobody. */
static int read_ca(int fd, struct fetch_opts *o)
{
        size_t cap = 1 << 16;

        if (fd < 3 || fd == OUT_FD)
                return -EBADF;
        o->ca = malloc(cap);
        o->ca_len = 0;
        for (;;) {
                ssize_t n;

                if (!o->ca)
                        return -ENOMEM;
                if (o->ca_len == cap) {
                        char *grown;

                        if (cap >= CA_MAX)
                                return -EFBIG;
                        grown = realloc(o->ca, cap * 2);
                        if (!grown)
                                return -ENOMEM;
                        o->ca = grown;
                        cap *= 2;
                }
                n = read(fd, o->ca + o->ca_len, cap - o->ca_len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                o->ca_len += (size_t)n;
        }
        close(fd);
        return 0;
}

static int parse_u64(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "ca-fd", required_argument, NULL, 'c' },
                { "max-size", required_argument, NULL, 'm' },
                { "connect-timeout", required_argument, NULL, 'C' },
                { "low-speed-time", required_argument, NULL, 'T' },
                { "low-speed-limit", required_argument, NULL, 'L' },
                { "retries", required_argument, NULL, 'r' },
                { "retry-delay-ms", required_argument, NULL, 'd' },
                { "max-redirs", required_argument, NULL, 'R' },
                { "allow-host-change", no_argument, NULL, 'H' },
                { "progress", no_argument, NULL, 'p' },
                { "resume", no_argument, NULL, 'u' },
                {},
        };
        struct fetch_opts o = {
                .connect_timeout = 30,
                .low_speed_time = 30,
                .low_speed_limit = 1024,
                .retries = 3,
                .retry_delay_ms = 1000,
                .max_redirs = 5,
        };
        struct transfer t = { .o = &o };
        struct stat st;
        int c, rc = 1;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
                uint64_t v = 0;

                if (c == 'H' || c == 'p' || c == 'u') {
                        o.allow_host_change |= c == 'H';
                        o.progress |= c == 'p';
                        o.resume |= c == 'u';
                        continue;
                }
                if (c == '?' || parse_u64(optarg, &v) < 0 || v > INT32_MAX * 1024ULL * 1024)
                        return fail(EINVAL, "bad arguments");
                if (c == 'c' && read_ca((int)v, &o) < 0)
                        return fail(EINVAL, "cannot read the CA bundle from fd %d", (int)v);
                if (c == 'm')
                        o.max_size = v;
                else if (c == 'C')
                        o.connect_timeout = (long)v;
                else if (c == 'T')
                        o.low_speed_time = (long)v;
                else if (c == 'L')
                        o.low_speed_limit = (long)v;
                else if (c == 'r')
                        o.retries = (unsigned)v;
                else if (c == 'd')
                        o.retry_delay_ms = (unsigned)v;
                else if (c == 'R')
                        o.max_redirs = (unsigned)v;
        }
        if (optind != argc - 1)
                return fail(EINVAL, "usage: lodge-fetch [OPTIONS] URL (run by lodge)");
        o.url = argv[optind];
        if (strncmp(o.url, "https://", 8) != 0 && strncmp(o.url, "http://", 7) != 0)
                return fail(EINVAL, "not an http(s) URL: '%s'", o.url);
        if (fstat(OUT_FD, &st) < 0 || !S_ISREG(st.st_mode))
                return fail(EBADF, "started by lodge only, with the output file as fd 3");
        if (drop_privileges() < 0)
                return fail(EPERM, "cannot drop privileges");
        if (o.resume) {
                t.written = (uint64_t)st.st_size;
                if (lseek(OUT_FD, 0, SEEK_END) < 0)
                        return fail(errno, "seek the output");
        } else if (ftruncate(OUT_FD, 0) < 0 || lseek(OUT_FD, 0, SEEK_SET) < 0) {
                return fail(errno, "truncate the output");
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return fail(ENOMEM, "curl_global_init failed");
        t.h = curl_easy_init();
        if (!t.h)
                return fail(ENOMEM, "curl_easy_init failed");
        setup_handle(t.h, &o, &t);
        for (unsigned i = 0;; i++) {
                bool retry = false;

                rc = attempt(t.h, &t, &retry);
                if (rc == 0 || !retry || i >= o.retries)
                        break;
                /* Back off, then go on from what we have (a range request). */
                usleep((useconds_t)o.retry_delay_ms * 1000U << (i < 5 ? i : 5));
        }
        curl_easy_cleanup(t.h);
        curl_global_cleanup();
        free(o.ca);
        return rc;
}
