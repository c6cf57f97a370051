/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/base/cleanup.h"
#include "core/base/parse.h"
#include "tests/unit/lodge-test.h"

#define SENTINEL UINT64_C(0xdeadbeef)

struct u64_case {
        const char *s;
        int r;
        uint64_t v; /* when r == 0 */
};

/* Run a table through one uint64_t parser; on failure *ret must be untouched. */
static void check_u64_cases(const char *what, int (*parse)(const char *, uint64_t *),
                            const struct u64_case *cases, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                uint64_t v = SENTINEL;
                int r = parse(cases[i].s, &v);

                if (r != cases[i].r || (r == 0 && v != cases[i].v) || (r < 0 && v != SENTINEL)) {
                        print_message("%s('%s'): got r=%d v=%llu, want r=%d v=%llu\n", what,
                                      cases[i].s, r, (unsigned long long)v, cases[i].r,
                                      (unsigned long long)cases[i].v);
                        fail();
                }
        }
}

static void test_bool(void **state)
{
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };
        static const char *const bad[] = { "", "True", "YES", " true", "true ", "2", "y", "-1" };
        bool b;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                b = false;
                assert_int_equal(parse_bool(yes[i], &b), 0);
                assert_true(b);
                assert_int_equal(parse_bool(no[i], &b), 0);
                assert_false(b);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                b = true;
                assert_int_equal(parse_bool(bad[i], &b), -EINVAL);
                assert_true(b);
        }
}

static int u64_any(const char *s, uint64_t *ret)
{
        return parse_u64_range(s, 0, UINT64_MAX, ret);
}

static int u64_10_20(const char *s, uint64_t *ret)
{
        return parse_u64_range(s, 10, 20, ret);
}

static void test_u64_range(void **state)
{
        static const struct u64_case any[] = {
                { "0", 0, 0 },
                { "42", 0, 42 },
                { "007", 0, 7 },
                { "18446744073709551615", 0, UINT64_MAX },
                { "18446744073709551616", -ERANGE, 0 },
                { "99999999999999999999999", -ERANGE, 0 },
                { "99999999999999999999999x", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "-0", -EINVAL, 0 },
                { "+1", -EINVAL, 0 },
                { " 1", -EINVAL, 0 },
                { "1 ", -EINVAL, 0 },
                { "\t1", -EINVAL, 0 },
                { "0x10", -EINVAL, 0 },
                { "1e3", -EINVAL, 0 },
                { "1.0", -EINVAL, 0 },
                { "1k", -EINVAL, 0 },
        };
        static const struct u64_case ranged[] = {
                { "10", 0, 10 },      { "20", 0, 20 },     { "9", -ERANGE, 0 },
                { "21", -ERANGE, 0 }, { "0", -ERANGE, 0 }, { "1x", -EINVAL, 0 },
        };

        (void)state;
        check_u64_cases("parse_u64_range", u64_any, any, ELEMENTSOF(any));
        check_u64_cases("parse_u64_range[10,20]", u64_10_20, ranged, ELEMENTSOF(ranged));
}

static void test_i64_range(void **state)
{
        static const struct {
                const char *s;
                int r;
                int64_t v;
        } cases[] = {
                { "0", 0, 0 },
                { "-0", 0, 0 },
                { "-5", 0, -5 },
                { "1000", 0, 1000 },
                { "9223372036854775807", 0, INT64_MAX },
                { "-9223372036854775808", 0, INT64_MIN },
                { "9223372036854775808", -ERANGE, 0 },
                { "-9223372036854775809", -ERANGE, 0 },
                { "-99999999999999999999999", -ERANGE, 0 },
                { "", -EINVAL, 0 },
                { "-", -EINVAL, 0 },
                { "+5", -EINVAL, 0 },
                { "--5", -EINVAL, 0 },
                { "- 5", -EINVAL, 0 },
                { " -5", -EINVAL, 0 },
                { "-5 ", -EINVAL, 0 },
                { "-0x5", -EINVAL, 0 },
                { "5e2", -EINVAL, 0 },
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int64_t v = 12345;
                int r = parse_i64_range(cases[i].s, INT64_MIN, INT64_MAX, &v);

                if (r != cases[i].r || (r == 0 && v != cases[i].v) || (r < 0 && v != 12345)) {
                        print_message("parse_i64_range('%s'): r=%d\n", cases[i].s, r);
                        fail();
                }
        }
        assert_int_equal(parse_i64_range("-1001", -1000, 1000, NULL), -ERANGE);
        assert_int_equal(parse_i64_range("1001", -1000, 1000, NULL), -ERANGE);
        assert_int_equal(parse_i64_range("-1000", -1000, 1000, NULL), 0);
}

static void test_size(void **state)
{
        static const struct u64_case cases[] = {
                { "0", 0, 0 },
                { "4096", 0, 4096 },
                { "10B", 0, 10 },
                { "512K", 0, 512 << 10 },
                { "512M", 0, UINT64_C(512) << 20 },
                { "1G", 0, UINT64_C(1) << 30 },
                { "2T", 0, UINT64_C(2) << 40 },
                { "1KiB", 0, 1024 },
                { "3MiB", 0, UINT64_C(3) << 20 },
                { "1GiB", 0, UINT64_C(1) << 30 },
                { "1TiB", 0, UINT64_C(1) << 40 },
                { "1.5G", 0, UINT64_C(1610612736) },
                { "0.5K", 0, 512 },
                { "1.0009765625K", 0, 1025 },
                { "1.0000000001K", 0, 1024 },                  /* rounded down */
                { "0.999999999999999999999999999K", 0, 1023 }, /* rounded down */
                { "16777215T", 0, UINT64_MAX - (UINT64_C(1) << 40) + 1 },
                { "18446744073709551615", 0, UINT64_MAX },
                { "18446744073709551616", -ERANGE, 0 },
                { "16777216T", -ERANGE, 0 },
                { "16777215.9999999T", 0, UINT64_MAX - 109951 },
                { "99999999999999999999999G", -ERANGE, 0 },
                { "99999999999999999999999Q", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { "K", -EINVAL, 0 },
                { "64MiBB", -EINVAL, 0 },
                { "1 G", -EINVAL, 0 },
                { " 1G", -EINVAL, 0 },
                { "1G ", -EINVAL, 0 },
                { "1g", -EINVAL, 0 },
                { "1KB", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "-1G", -EINVAL, 0 },
                { "+1G", -EINVAL, 0 },
                { "1e3", -EINVAL, 0 },
                { "0x10", -EINVAL, 0 },
                { "1.5", -EINVAL, 0 },
                { "1.5B", -EINVAL, 0 },
                { "1.G", -EINVAL, 0 },
                { ".5G", -EINVAL, 0 },
                { "1..5G", -EINVAL, 0 },
        };

        (void)state;
        check_u64_cases("parse_size", parse_size, cases, ELEMENTSOF(cases));
}

static void test_rate(void **state)
{
        static const struct u64_case cases[] = {
                { "100", 0, 100 },
                { "100bit", 0, 100 },
                { "500kbit", 0, 500000 },
                { "10mbit", 0, 10000000 },
                { "10Mbit", 0, 10000000 },
                { "1gbit", 0, 1000000000 },
                { "2tbit", 0, UINT64_C(2000000000000) },
                { "1bps", 0, 8 },
                { "1kbps", 0, 8000 },
                { "1mbps", 0, 8000000 },
                { "1gbps", 0, 8000000000 },
                { "1tbps", 0, 8000000000000 },
                { "1.5mbit", 0, 1500000 },
                { "0.001kbit", 0, 1 },
                { "0mbit", 0, 0 },
                { "2305843009213693951bps", 0, UINT64_MAX - 7 },
                { "2305843009213693952bps", -ERANGE, 0 },
                { "18446744073709551616", -ERANGE, 0 },
                { "18446744073709552tbit", -ERANGE, 0 },
                { "18446744073709551.615kbit", 0, UINT64_MAX },
                { "18446744073709551.616kbit", -ERANGE, 0 }, /* the fraction overflows */
                { "", -EINVAL, 0 },
                { "mbit", -EINVAL, 0 },
                { "10 mbit", -EINVAL, 0 },
                { "10mb", -EINVAL, 0 },
                { "10mbitx", -EINVAL, 0 },
                { "-1mbit", -EINVAL, 0 },
                { "1.5", -EINVAL, 0 },
                { "1.5bit", -EINVAL, 0 },
                { "1e6bit", -EINVAL, 0 },
                { "10kibit", -EINVAL, 0 },
        };

        (void)state;
        check_u64_cases("parse_rate", parse_rate, cases, ELEMENTSOF(cases));
}

static void test_cpu(void **state)
{
        static const struct {
                const char *s;
                int r;
                uint32_t v;
        } cases[] = {
                { "1", 0, 1000 },
                { "1.5", 0, 1500 },
                { "0.25", 0, 250 },
                { "0.001", 0, 1 },
                { "2.000", 0, 2000 },
                { "65536", 0, 65536000 },
                { "0", -ERANGE, 0 },
                { "0.000", -ERANGE, 0 },
                { "65536.001", -ERANGE, 0 },
                { "99999999999999999999", -ERANGE, 0 },
                { "0.0001", -EINVAL, 0 },
                { "1.5000", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "+1", -EINVAL, 0 },
                { "1.", -EINVAL, 0 },
                { ".5", -EINVAL, 0 },
                { " 1", -EINVAL, 0 },
                { "1 ", -EINVAL, 0 },
                { "1e2", -EINVAL, 0 },
                { "1,5", -EINVAL, 0 },
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint32_t v = 777;
                int r = parse_cpu(cases[i].s, &v);

                if (r != cases[i].r || (r == 0 && v != cases[i].v) || (r < 0 && v != 777)) {
                        print_message("parse_cpu('%s'): r=%d v=%u\n", cases[i].s, r, v);
                        fail();
                }
        }
}

static void test_cpuset(void **state)
{
        static const char *const good[] = { "0", "0-3", "0-3,8,10-11", "8191", "5-5", "8,0-3" };
        static const char *const bad[] = { "",      ",",     "0,",  ",0",   "0-", "-1",
                                           "3-1",   "0 - 3", " 0",  "0 ",   "a",  "0,,1",
                                           "1-2-3", "0x1",   "1.5", "0-3,", "+1" };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_int_equal(parse_cpuset(good[i]), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (parse_cpuset(bad[i]) != -EINVAL) {
                        print_message("parse_cpuset('%s') accepted\n", bad[i]);
                        fail();
                }
        }
        assert_int_equal(parse_cpuset("8192"), -ERANGE);
        assert_int_equal(parse_cpuset("0-8192"), -ERANGE);
        assert_int_equal(parse_cpuset("0,99999999999999999999999"), -ERANGE);
        /* Malformed is reported ahead of out of range. */
        assert_int_equal(parse_cpuset("8192,x"), -EINVAL);
}

static void test_signal_names(void **state)
{
        static const struct {
                const char *s;
                int sig;
        } cases[] = {
                { "SIGTERM", SIGTERM },  { "TERM", SIGTERM },     { "term", SIGTERM },
                { "sigterm", SIGTERM },  { "SigTerm", SIGTERM },  { "15", SIGTERM },
                { "9", SIGKILL },        { "HUP", SIGHUP },       { "INT", SIGINT },
                { "QUIT", SIGQUIT },     { "ILL", SIGILL },       { "TRAP", SIGTRAP },
                { "ABRT", SIGABRT },     { "BUS", SIGBUS },       { "FPE", SIGFPE },
                { "KILL", SIGKILL },     { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
                { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE },     { "ALRM", SIGALRM },
                { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },     { "CONT", SIGCONT },
                { "STOP", SIGSTOP },     { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN },
                { "TTOU", SIGTTOU },     { "URG", SIGURG },       { "XCPU", SIGXCPU },
                { "XFSZ", SIGXFSZ },     { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
                { "WINCH", SIGWINCH },   { "IO", SIGIO },         { "POLL", SIGIO },
                { "SIGPWR", SIGPWR },    { "SYS", SIGSYS },
        };
        int sig;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                sig = -1;
                if (parse_signal(cases[i].s, &sig) != 0 || sig != cases[i].sig) {
                        print_message("parse_signal('%s') = %d\n", cases[i].s, sig);
                        fail();
                }
        }
}

static void test_signal_realtime(void **state)
{
        char buf[32];
        int sig = -1;

        (void)state;
        assert_int_equal(parse_signal("SIGRTMIN", &sig), 0);
        assert_int_equal(sig, SIGRTMIN);
        assert_int_equal(parse_signal("RTMIN+3", &sig), 0);
        assert_int_equal(sig, SIGRTMIN + 3);
        assert_int_equal(parse_signal("sigrtmin+3", &sig), 0);
        assert_int_equal(sig, SIGRTMIN + 3);
        assert_int_equal(parse_signal("SIGRTMAX", &sig), 0);
        assert_int_equal(sig, SIGRTMAX);
        assert_int_equal(parse_signal("RTMAX-1", &sig), 0);
        assert_int_equal(sig, SIGRTMAX - 1);

        snprintf(buf, sizeof(buf), "RTMIN+%d", SIGRTMAX - SIGRTMIN);
        assert_int_equal(parse_signal(buf, &sig), 0);
        assert_int_equal(sig, SIGRTMAX);
        snprintf(buf, sizeof(buf), "RTMIN+%d", SIGRTMAX - SIGRTMIN + 1);
        assert_int_equal(parse_signal(buf, NULL), -ERANGE);
        snprintf(buf, sizeof(buf), "RTMAX-%d", SIGRTMAX - SIGRTMIN + 1);
        assert_int_equal(parse_signal(buf, NULL), -ERANGE);
        snprintf(buf, sizeof(buf), "%d", SIGRTMAX);
        assert_int_equal(parse_signal(buf, &sig), 0);
        assert_int_equal(sig, SIGRTMAX);
        snprintf(buf, sizeof(buf), "%d", SIGRTMAX + 1);
        assert_int_equal(parse_signal(buf, NULL), -ERANGE);
}

static void test_signal_rejects(void **state)
{
        static const char *const bad[] = {
                "",       "SIG",   "FOO",        "SIGFOO",  "-15",     "+15",      " 15",
                "15 ",    "TERM ", " TERM",      "RTMIN-1", "RTMAX+1", "RTMIN+",   "RTMIN+x",
                "RTMIN3", "0x0f",  "SIGSIGTERM", "1.5",     "SIG15",   "RTMIN+-1",
        };
        int sig = 4242;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (parse_signal(bad[i], &sig) != -EINVAL) {
                        print_message("parse_signal('%s') not -EINVAL\n", bad[i]);
                        fail();
                }
        assert_int_equal(sig, 4242);
        assert_int_equal(parse_signal("0", &sig), -ERANGE);
        assert_int_equal(parse_signal("99999999999999999999999", &sig), -ERANGE);
        assert_int_equal(sig, 4242);
}

static void test_signal_to_string(void **state)
{
        char buf[16];
        char want[16];

        (void)state;
        assert_string_equal(signal_to_string(SIGTERM, buf), "SIGTERM");
        assert_string_equal(signal_to_string(SIGIO, buf), "SIGIO");
        assert_string_equal(signal_to_string(SIGABRT, buf), "SIGABRT");
        assert_string_equal(signal_to_string(SIGPWR, buf), "SIGPWR");
        assert_string_equal(signal_to_string(SIGRTMIN, buf), "SIGRTMIN");
        assert_string_equal(signal_to_string(SIGRTMIN + 3, buf), "SIGRTMIN+3");
        assert_string_equal(signal_to_string(SIGRTMAX, buf), "SIGRTMAX");
        assert_string_equal(signal_to_string(SIGRTMAX - 2, buf), "SIGRTMAX-2");
        assert_string_equal(signal_to_string(0, buf), "0");
        assert_string_equal(signal_to_string(-1, buf), "-1");
        snprintf(want, sizeof(want), "%d", SIGRTMAX + 1);
        assert_string_equal(signal_to_string(SIGRTMAX + 1, buf), want);

        /* Every signal there is survives a round trip through its name. */
        for (int sig = 1; sig <= SIGRTMAX; sig++) {
                int back = 0;

                assert_int_equal(parse_signal(signal_to_string(sig, buf), &back), 0);
                assert_int_equal(back, sig);
        }
}

static void test_ip_prefix(void **state)
{
        struct ip_prefix p;
        struct in6_addr want6;

        (void)state;
        assert_int_equal(parse_ip_prefix("10.0.3.5/24", AF_INET, &p), 0);
        assert_int_equal(p.family, AF_INET);
        assert_int_equal(p.prefixlen, 24);
        assert_int_equal(ntohl(p.addr.v4.s_addr), 0x0a000305);

        assert_int_equal(parse_ip_prefix("fd00::5/64", AF_INET6, &p), 0);
        assert_int_equal(p.family, AF_INET6);
        assert_int_equal(p.prefixlen, 64);
        assert_int_equal(inet_pton(AF_INET6, "fd00::5", &want6), 1);
        assert_memory_equal(&p.addr.v6, &want6, sizeof(want6));

        assert_int_equal(parse_ip_prefix("10.0.0.1/0", AF_UNSPEC, &p), 0);
        assert_int_equal(p.family, AF_INET);
        assert_int_equal(p.prefixlen, 0);
        assert_int_equal(parse_ip_prefix("::/0", AF_UNSPEC, &p), 0);
        assert_int_equal(p.family, AF_INET6);
        assert_int_equal(parse_ip_prefix("10.0.0.1/32", AF_INET, NULL), 0);
        assert_int_equal(parse_ip_prefix("::ffff:10.0.0.1/128", AF_INET6, NULL), 0);

        p.prefixlen = 99;
        assert_int_equal(parse_ip_prefix("10.0.3.5/33", AF_INET, &p), -ERANGE);
        assert_int_equal(parse_ip_prefix("fd00::/129", AF_INET6, &p), -ERANGE);
        assert_int_equal(p.prefixlen, 99);

        assert_int_equal(parse_ip_prefix("fd00::5/64", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("10.0.3.5/24", AF_INET6, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("10.0.3.5", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("1.2.3/24", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("010.0.3.5/24", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("10.0.3.5/", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("/24", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("10.0.3.5/-1", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("10.0.3.5/ 24", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix(" 10.0.3.5/24", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("10.0.3.5/24 ", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("10.0.3.5/0x18", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("10.0.3.5/24/1", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("fe80::1%eth0/64", AF_INET6, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("", AF_UNSPEC, &p), -EINVAL);
        assert_int_equal(parse_ip_prefix("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/64",
                                         AF_INET6, &p),
                         -EINVAL);
}

static void test_ip_addr(void **state)
{
        struct ip_prefix p;

        (void)state;
        assert_int_equal(parse_ip_addr("10.0.0.1", AF_INET, &p), 0);
        assert_int_equal(p.family, AF_INET);
        assert_int_equal(p.prefixlen, 32);
        assert_int_equal(parse_ip_addr("::1", AF_UNSPEC, &p), 0);
        assert_int_equal(p.family, AF_INET6);
        assert_int_equal(p.prefixlen, 128);
        assert_int_equal(parse_ip_addr("10.0.0.1/32", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_addr("::1", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_addr("10.0.0.1", AF_INET6, &p), -EINVAL);
        assert_int_equal(parse_ip_addr("", AF_UNSPEC, &p), -EINVAL);
        assert_int_equal(parse_ip_addr("10.0.0.256", AF_INET, &p), -EINVAL);
        assert_int_equal(parse_ip_addr(" 10.0.0.1", AF_INET, &p), -EINVAL);
}

static void test_hwaddr(void **state)
{
        static const uint8_t want[6] = { 0x00, 0x16, 0x3e, 0x12, 0x34, 0x56 };
        static const char *const bad[] = {
                "00:00:00:00:00:00",  "01:00:5e:00:00:01",    "ff:ff:ff:ff:ff:ff",
                "00:16:3e:12:34",     "00:16:3e:12:34:56:78", "00-16-3e-12-34-56",
                "0:16:3e:12:34:56",   "00:16:3e:12:34:5g",    "",
                "00:16:3e:12:34:56 ", " 00:16:3e:12:34:56",   "00:16:3e:12:34:",
                "00:16:3e:12:34:5",   "0016.3e12.3456",       "00:16:3e:12:34:56:",
        };
        uint8_t mac[6];

        (void)state;
        assert_int_equal(parse_hwaddr("00:16:3e:12:34:56", mac), 0);
        assert_memory_equal(mac, want, 6);
        assert_int_equal(parse_hwaddr("00:16:3E:12:34:56", mac), 0);
        assert_memory_equal(mac, want, 6);
        assert_int_equal(parse_hwaddr("02:00:00:00:00:01", mac), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                memcpy(mac, want, 6);
                if (parse_hwaddr(bad[i], mac) != -EINVAL || memcmp(mac, want, 6) != 0) {
                        print_message("parse_hwaddr('%s') accepted\n", bad[i]);
                        fail();
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bool),
                cmocka_unit_test(test_u64_range),
                cmocka_unit_test(test_i64_range),
                cmocka_unit_test(test_size),
                cmocka_unit_test(test_rate),
                cmocka_unit_test(test_cpu),
                cmocka_unit_test(test_cpuset),
                cmocka_unit_test(test_signal_names),
                cmocka_unit_test(test_signal_realtime),
                cmocka_unit_test(test_signal_rejects),
                cmocka_unit_test(test_signal_to_string),
                cmocka_unit_test(test_ip_prefix),
                cmocka_unit_test(test_ip_addr),
                cmocka_unit_test(test_hwaddr),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
