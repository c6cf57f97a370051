/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/process.h"
#include "net/net.h"

/* lodge's NAT lives in one nftables table of its own, "inet lodge", made
 * again whole from the networks that want NAT in one nft transaction: no
 * rule of anybody else's is read, changed or removed, and a network's rules
 * go with it. */

#define NFT "/usr/sbin/nft"

static int append(char **buf, size_t *len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int append(char **buf, size_t *len, const char *fmt, ...)
{
        cleanup_free char *add = NULL;
        va_list ap;
        char *nb;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        nb = realloc(*buf, *len + (size_t)n + 1);
        if (!nb)
                return -ENOMEM;
        memcpy(nb + *len, add, (size_t)n + 1);
        *buf = nb;
        *len += (size_t)n;
        return 0;
}

int lodge_net_nat_ruleset(const struct lodge_net_network *nws, size_t n, char **ret,
                          struct lodge_error **err)
{
        cleanup_free char *buf = NULL;
        size_t len = 0;
        bool any = false;
        int r;

        /* "add" first, so that "delete" never fails on a missing table. */
        r = append(&buf, &len, "add table inet lodge\ndelete table inet lodge\n");
        for (size_t i = 0; i < n && r >= 0; i++)
                any |= nws[i].nat && nws[i].has_ipv4;
        if (r >= 0 && any)
                r = append(&buf, &len,
                           "table inet lodge {\n"
                           "\tchain postrouting {\n"
                           "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        for (size_t i = 0; i < n && r >= 0 && any; i++) {
                char net[INET_ADDRSTRLEN];
                struct in_addr a = nws[i].ipv4.addr.v4;
                unsigned pl = nws[i].ipv4.prefixlen;

                if (!nws[i].nat || !nws[i].has_ipv4)
                        continue;
                a.s_addr &= htonl(pl == 0 ? 0 : ~(0xffffffffu >> pl));
                inet_ntop(AF_INET, &a, net, sizeof(net));
                r = append(&buf, &len,
                           "\t\tip saddr %s/%u ip daddr != %s/%u masquerade comment \"%s\"\n", net,
                           pl, net, pl, nws[i].name);
        }
        if (r >= 0 && any)
                r = append(&buf, &len,
                           "\t}\n\tchain forward {\n"
                           "\t\ttype filter hook forward priority filter; policy accept;\n");
        for (size_t i = 0; i < n && r >= 0 && any; i++)
                if (nws[i].nat && nws[i].has_ipv4)
                        r = append(&buf, &len,
                                   "\t\tiifname \"%s\" accept\n"
                                   "\t\toifname \"%s\" ct state established,related accept\n",
                                   nws[i].name, nws[i].name);
        if (r >= 0 && any)
                r = append(&buf, &len, "\t}\n}\n");
        if (r < 0)
                return lodge_error_set(err, -r, "build the nftables rules");
        *ret = TAKE_PTR(buf);
        return 0;
}

int lodge_net_nat_apply(const struct lodge_net_network *nws, size_t n, int dirfd, const char *dir,
                        struct lodge_error **err)
{
        cleanup_free char *rules = NULL, *path = NULL, *out = NULL;
        int r;

        r = lodge_net_nat_ruleset(nws, n, &rules, err);
        if (r < 0)
                return r;
        r = write_file_replace_at(dirfd, "nftables.rules", rules, strlen(rules), 0600, err);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/nftables.rules", dir) < 0)
                return lodge_error_set(err, ENOMEM, "nft");
        r = spawn_wait((char *[]){ NFT, "-f", path, NULL }, &out);
        if (r == -ENOENT)
                return lodge_error_set(err, ENOENT, "run '" NFT "': not installed");
        if (r < 0)
                return lodge_error_set(err, -r, "run '" NFT "'");
        if (r > 0)
                return lodge_error_set(err, EIO, "nft failed (exit %d): %s", r,
                                       out && *out ? out : "no output");
        return 0;
}

int lodge_net_ip_forward_enable(struct lodge_error **err)
{
        cleanup_close int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);

        if (fd < 0 || write_all(fd, "1\n", 2) < 0)
                return lodge_error_set(err, errno ? errno : EIO, "enable IPv4 forwarding");
        return 0;
}
