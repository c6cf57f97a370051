/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* Strict value parsers shared by the config, the CLI and net/. Each returns 0
 * and writes *ret only on success, -EINVAL for a malformed value and -ERANGE
 * for a well-formed one out of range. Leading/trailing spaces, empty strings,
 * signs where none belong, hex and exponent notation are all -EINVAL. */

/* true/false, yes/no, on/off, 1/0 (lowercase). */
int parse_bool(const char *s, bool *ret);

/* Unsigned decimal integer in [min, max]. */
int parse_u64_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* Signed decimal integer in [min, max]. */
int parse_i64_range(const char *s, int64_t min, int64_t max, int64_t *ret);

/* Byte size: a decimal number with an optional binary suffix: "4096", "512K",
 * "512M", "1G", "2T", also "KiB/MiB/GiB/TiB" and "B". A fraction is allowed
 * with a suffix ("1.5G") and rounded down to whole bytes. Overflow is -ERANGE. */
int parse_size(const char *s, uint64_t *ret);

/* CPU count as cores with up to 3 decimals ("1", "1.5", "0.25") into
 * thousandths of a core (1500). Must be > 0 and <= 65536 cores. */
int parse_cpu(const char *s, uint32_t *ret_millicores);

/* A cpuset list: "0", "0-3", "0-3,8,10-11"; CPUs < 8192, ranges ascending. */
int parse_cpuset(const char *s);

/* Signal by name ("SIGTERM", "TERM", "SIGRTMIN+3", "RTMIN+3", "RTMAX-1") or
 * number ("15"); case-insensitive names. */
int parse_signal(const char *s, int *ret);

/* Canonical name of a signal into buf: "SIGTERM", "SIGRTMIN+3". */
const char *signal_to_string(int sig, char buf[static 16]);

struct ip_prefix {
        int family; /* AF_INET or AF_INET6 */
        union {
                struct in_addr v4;
                struct in6_addr v6;
        } addr;
        unsigned prefixlen;
};

/* "10.0.3.5/24" or "fd00::5/64". family is AF_INET, AF_INET6 or AF_UNSPEC. */
int parse_ip_prefix(const char *s, int family, struct ip_prefix *ret);

/* A plain address without prefix; prefixlen is set to the full length. */
int parse_ip_addr(const char *s, int family, struct ip_prefix *ret);

/* "00:16:3e:12:34:56": six hex octets, a unicast address that isn't all zero. */
int parse_hwaddr(const char *s, uint8_t ret[6]);

/* Traffic rate in tc spelling into bits per second: "10mbit", "1gbit",
 * "500kbit", "100bit", "1mbps" (bytes/s: x8), "2tbit"; SI multiples (1000). */
int parse_rate(const char *s, uint64_t *ret_bits);
