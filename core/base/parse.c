/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/base/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/base/cleanup.h"

/* ASCII only: these parsers must not change behaviour with the locale. */
static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static int ascii_lower(char c)
{
        int u = (unsigned char)c;

        return u >= 'A' && u <= 'Z' ? u - 'A' + 'a' : u;
}

static bool ascii_case_equal(const char *a, const char *b)
{
        for (; *a && *b; a++, b++)
                if (ascii_lower(*a) != ascii_lower(*b))
                        return false;
        return *a == *b;
}

/* Strip a case-insensitive prefix; returns the rest or NULL. */
static const char *skip_prefix_nocase(const char *s, const char *prefix)
{
        for (; *prefix; s++, prefix++)
                if (ascii_lower(*s) != ascii_lower(*prefix))
                        return NULL;
        return s;
}

/* Leading decimal digits of s. strtoull() alone would accept leading spaces,
 * signs and (with base 0) hex, so the first byte is checked first. *ret_end
 * is set even on -ERANGE so callers can keep checking the syntax and report
 * -EINVAL ahead of -ERANGE. */
static int parse_digits(const char *s, const char **ret_end, uint64_t *ret)
{
        unsigned long long v;
        char *end = NULL;

        if (!is_digit(s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        *ret_end = end;
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || end == s)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_bool(const char *s, bool *ret)
{
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcmp(s, yes[i]) == 0) {
                        if (ret)
                                *ret = true;
                        return 0;
                }
                if (strcmp(s, no[i]) == 0) {
                        if (ret)
                                *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

int parse_u64_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
        const char *end = s;
        uint64_t v = 0;
        int r;

        r = parse_digits(s, &end, &v);
        if (*end != '\0')
                return -EINVAL;
        if (r < 0)
                return r;
        if (v < min || v > max)
                return -ERANGE;
        if (ret)
                *ret = v;
        return 0;
}

int parse_i64_range(const char *s, int64_t min, int64_t max, int64_t *ret)
{
        bool negative = s[0] == '-';
        const char *end = s;
        uint64_t mag = 0;
        int64_t v;
        int r;

        r = parse_digits(s + negative, &end, &mag);
        if (r == -EINVAL || *end != '\0')
                return -EINVAL;
        if (r < 0)
                return r;
        if (negative) {
                if (mag > (uint64_t)INT64_MAX + 1)
                        return -ERANGE;
                v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
        } else {
                if (mag > (uint64_t)INT64_MAX)
                        return -ERANGE;
                v = (int64_t)mag;
        }
        if (v < min || v > max)
                return -ERANGE;
        if (ret)
                *ret = v;
        return 0;
}

/* "123" or "123.456": the integer part and the fraction digits (not
 * NUL-terminated: frac_len of them at frac). */
struct decimal {
        uint64_t ip;
        bool overflow; /* the integer part doesn't fit: -ERANGE once the syntax is known good */
        const char *frac;
        size_t frac_len;
};

static int parse_decimal(const char *s, struct decimal *d, const char **ret_end)
{
        const char *end = s;
        int r;

        *d = (struct decimal){ 0 };
        r = parse_digits(s, &end, &d->ip);
        if (r == -EINVAL)
                return r;
        d->overflow = r == -ERANGE;
        if (*end == '.') {
                d->frac = ++end;
                while (is_digit(*end))
                        end++;
                d->frac_len = (size_t)(end - d->frac);
                if (d->frac_len == 0)
                        return -EINVAL; /* "1." */
        }
        *ret_end = end;
        return 0;
}

/* floor(d * mult) without overflow in the fraction: Horner's scheme from the
 * last digit, where each step divides by ten. floor((n + floor(y)) / 10) ==
 * floor((n + y) / 10) for integer n, so flooring each step is exact, and each
 * intermediate stays below 10 * mult. */
static int decimal_scale(const struct decimal *d, uint64_t mult, uint64_t *ret)
{
        uint64_t frac = 0;

        if (d->overflow || (mult != 0 && d->ip > UINT64_MAX / mult))
                return -ERANGE;
        if (mult > UINT64_MAX / 10)
                return -ERANGE;
        for (size_t i = d->frac_len; i > 0; i--)
                frac = ((uint64_t)(d->frac[i - 1] - '0') * mult + frac) / 10;
        if (d->ip * mult > UINT64_MAX - frac)
                return -ERANGE;
        *ret = d->ip * mult + frac;
        return 0;
}

struct unit {
        const char *name;
        uint64_t mult;
};

/* Number plus unit; a fraction only where the unit is larger than the base
 * unit ("1.5G", never "1.5" or "1.5B"). */
static int parse_with_units(const char *s, const struct unit *units, size_t n_units, bool nocase,
                            uint64_t *ret)
{
        const struct unit *u = NULL;
        struct decimal d;
        const char *end = s;
        uint64_t v;
        int r;

        r = parse_decimal(s, &d, &end);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_units; i++)
                if (nocase ? ascii_case_equal(end, units[i].name) : strcmp(end, units[i].name) == 0)
                        u = &units[i];
        if (!u)
                return -EINVAL;
        if (d.frac && u->mult == 1)
                return -EINVAL;
        r = decimal_scale(&d, u->mult, &v);
        if (r < 0)
                return r;
        if (ret)
                *ret = v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
        static const struct unit units[] = {
                { "", 1 },
                { "B", 1 },
                { "K", UINT64_C(1) << 10 },
                { "KiB", UINT64_C(1) << 10 },
                { "M", UINT64_C(1) << 20 },
                { "MiB", UINT64_C(1) << 20 },
                { "G", UINT64_C(1) << 30 },
                { "GiB", UINT64_C(1) << 30 },
                { "T", UINT64_C(1) << 40 },
                { "TiB", UINT64_C(1) << 40 },
        };

        return parse_with_units(s, units, ELEMENTSOF(units), false, ret);
}

int parse_rate(const char *s, uint64_t *ret_bits)
{
        /* As tc(8) spells them, case-insensitive like tc: "bit" and a bare
         * number are bits per second, "bps" is bytes per second. */
        static const struct unit units[] = {
                { "", 1 },
                { "bit", 1 },
                { "kbit", UINT64_C(1000) },
                { "mbit", UINT64_C(1000000) },
                { "gbit", UINT64_C(1000000000) },
                { "tbit", UINT64_C(1000000000000) },
                { "bps", UINT64_C(8) },
                { "kbps", UINT64_C(8000) },
                { "mbps", UINT64_C(8000000) },
                { "gbps", UINT64_C(8000000000) },
                { "tbps", UINT64_C(8000000000000) },
        };

        return parse_with_units(s, units, ELEMENTSOF(units), true, ret_bits);
}

int parse_cpu(const char *s, uint32_t *ret_millicores)
{
        struct decimal d;
        const char *end = s;
        uint64_t v;
        int r;

        r = parse_decimal(s, &d, &end);
        if (r < 0)
                return r;
        if (*end != '\0' || d.frac_len > 3)
                return -EINVAL;
        r = decimal_scale(&d, 1000, &v);
        if (r < 0)
                return r;
        if (v == 0 || v > UINT64_C(65536) * 1000)
                return -ERANGE;
        if (ret_millicores)
                *ret_millicores = (uint32_t)v;
        return 0;
}

#define CPUSET_MAX_CPU 8191

int parse_cpuset(const char *s)
{
        const char *p = s;
        bool out_of_range = false;

        /* Malformed beats out of range, so the whole list is checked first. */
        for (;;) {
                uint64_t lo = 0, hi = 0;
                const char *end = p;
                int r;

                r = parse_digits(p, &end, &lo);
                if (r == -EINVAL)
                        return r;
                out_of_range |= r == -ERANGE || lo > CPUSET_MAX_CPU;
                hi = lo;
                if (*end == '-') {
                        p = end + 1;
                        r = parse_digits(p, &end, &hi);
                        if (r == -EINVAL)
                                return r;
                        out_of_range |= r == -ERANGE || hi > CPUSET_MAX_CPU;
                        if (r == 0 && hi < lo)
                                return -EINVAL; /* "3-1" */
                }
                if (*end == '\0')
                        break;
                if (*end != ',')
                        return -EINVAL;
                p = end + 1;
        }
        return out_of_range ? -ERANGE : 0;
}

struct signal_name {
        const char *name;
        int sig;
};

/* The first name of a number is its canonical one (IO before POLL). */
static const struct signal_name signal_names[] = {
        { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },
        { "ILL", SIGILL },       { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
        { "IOT", SIGIOT },       { "BUS", SIGBUS },   { "FPE", SIGFPE },
        { "KILL", SIGKILL },     { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },
        { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
        { "TERM", SIGTERM },
#ifdef SIGSTKFLT /* not on every architecture */
        { "STKFLT", SIGSTKFLT },
#endif
        { "CHLD", SIGCHLD },     { "CONT", SIGCONT }, { "STOP", SIGSTOP },
        { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
        { "URG", SIGURG },       { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
        { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
        { "IO", SIGIO },         { "POLL", SIGPOLL },
#ifdef SIGPWR
        { "PWR", SIGPWR },
#endif
        { "SYS", SIGSYS },
};

/* "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" (already without "SIG"). SIGRTMIN
 * is a function call in glibc: it depends on what the C library reserves. */
static int parse_rt_signal(const char *s, int *ret)
{
        const char *rest;
        uint64_t n = 0;
        bool from_min;
        int sig, r;

        if ((rest = skip_prefix_nocase(s, "RTMIN")))
                from_min = true;
        else if ((rest = skip_prefix_nocase(s, "RTMAX")))
                from_min = false;
        else
                return -EINVAL;

        if (*rest != '\0') {
                if (*rest != (from_min ? '+' : '-'))
                        return -EINVAL;
                r = parse_u64_range(rest + 1, 0, UINT64_MAX, &n);
                if (r < 0)
                        return r;
                if (n > (uint64_t)(SIGRTMAX - SIGRTMIN))
                        return -ERANGE;
        }
        sig = from_min ? SIGRTMIN + (int)n : SIGRTMAX - (int)n;
        *ret = sig;
        return 0;
}

int parse_signal(const char *s, int *ret)
{
        uint64_t n;
        const char *name;
        int sig = 0, r;

        if (is_digit(s[0])) {
                r = parse_u64_range(s, 1, (uint64_t)SIGRTMAX, &n);
                if (r < 0)
                        return r;
                if (ret)
                        *ret = (int)n;
                return 0;
        }

        name = skip_prefix_nocase(s, "SIG");
        if (!name)
                name = s;
        for (size_t i = 0; i < ELEMENTSOF(signal_names); i++)
                if (ascii_case_equal(name, signal_names[i].name)) {
                        if (ret)
                                *ret = signal_names[i].sig;
                        return 0;
                }
        r = parse_rt_signal(name, &sig);
        if (r < 0)
                return r;
        if (ret)
                *ret = sig;
        return 0;
}

const char *signal_to_string(int sig, char buf[static 16])
{
        for (size_t i = 0; i < ELEMENTSOF(signal_names); i++)
                if (signal_names[i].sig == sig) {
                        (void)snprintf(buf, 16, "SIG%s", signal_names[i].name);
                        return buf;
                }

        /* kill -l style: the lower half counts up from RTMIN, the upper half
         * down from RTMAX. (The bound of 1000 is only there to prove to the
         * compiler that the name fits.) */
        if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
                unsigned up = (unsigned)(sig - SIGRTMIN), down = (unsigned)(SIGRTMAX - sig);

                if (up == 0)
                        (void)snprintf(buf, 16, "SIGRTMIN");
                else if (down == 0)
                        (void)snprintf(buf, 16, "SIGRTMAX");
                else if (up <= (unsigned)(SIGRTMAX - SIGRTMIN) / 2 && up < 1000)
                        (void)snprintf(buf, 16, "SIGRTMIN+%u", up);
                else if (down < 1000)
                        (void)snprintf(buf, 16, "SIGRTMAX-%u", down);
                else
                        (void)snprintf(buf, 16, "%d", sig);
                return buf;
        }

        (void)snprintf(buf, 16, "%d", sig);
        return buf;
}

/* inet_pton() for the families allowed; len bytes of s, no NUL needed. */
static int parse_addr_part(const char *s, size_t len, int family, struct ip_prefix *ret)
{
        char buf[INET6_ADDRSTRLEN];

        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';

        if ((family == AF_INET || family == AF_UNSPEC) &&
            inet_pton(AF_INET, buf, &ret->addr.v4) == 1) {
                ret->family = AF_INET;
                ret->prefixlen = 32;
                return 0;
        }
        if ((family == AF_INET6 || family == AF_UNSPEC) &&
            inet_pton(AF_INET6, buf, &ret->addr.v6) == 1) {
                ret->family = AF_INET6;
                ret->prefixlen = 128;
                return 0;
        }
        return -EINVAL;
}

int parse_ip_prefix(const char *s, int family, struct ip_prefix *ret)
{
        struct ip_prefix p = { 0 };
        const char *slash = strchr(s, '/');
        uint64_t len = 0;
        int r;

        if (!slash)
                return -EINVAL;
        r = parse_addr_part(s, (size_t)(slash - s), family, &p);
        if (r < 0)
                return r;
        r = parse_u64_range(slash + 1, 0, p.prefixlen, &len);
        if (r < 0)
                return r;
        p.prefixlen = (unsigned)len;
        if (ret)
                *ret = p;
        return 0;
}

int parse_ip_addr(const char *s, int family, struct ip_prefix *ret)
{
        struct ip_prefix p = { 0 };
        int r;

        r = parse_addr_part(s, strlen(s), family, &p);
        if (r < 0)
                return r;
        if (ret)
                *ret = p;
        return 0;
}

static int hex_value(char c)
{
        int l = ascii_lower(c);

        if (is_digit(c))
                return c - '0';
        if (l >= 'a' && l <= 'f')
                return l - 'a' + 10;
        return -1;
}

int parse_hwaddr(const char *s, uint8_t ret[6])
{
        uint8_t mac[6];
        bool zero = true;

        for (size_t i = 0; i < 6; i++) {
                const char *p = s + i * 3;
                int hi = hex_value(p[0]), lo = hi < 0 ? -1 : hex_value(p[1]);

                if (hi < 0 || lo < 0 || p[2] != (i == 5 ? '\0' : ':'))
                        return -EINVAL;
                mac[i] = (uint8_t)(hi << 4 | lo);
                zero &= mac[i] == 0;
        }
        /* Bit 0 of the first octet marks multicast (and broadcast). */
        if (zero || (mac[0] & 1))
                return -EINVAL;
        if (ret)
                memcpy(ret, mac, sizeof(mac));
        return 0;
}
