/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/process.h"
#include "net/net.h"

/* lodge's NAT lives in an nftables table of its own, "inet lodge" (one per
 * lodge root: core names it), where each network has two base chains of its
 * own, "nat-NAME" (masquerade) and "fwd-NAME" (forwarding): a network's rules
 * are made and removed without reading or touching anybody else's, and the
 * table goes with the last chain. The caller holds its root's networks'
 * lock, so nothing adds a chain between the last one's going and the
 * table's. */

#define NFT "/usr/sbin/nft"

static const char *nft_path(void)
{
        /* A test seam, as LODGE_DNSMASQ is. */
        const char *e = getenv("LODGE_NFT");

        return e && *e ? e : NFT;
}

/* Both chains, made empty (made first where missing). */
#define CHAINS_FMT                                                                                 \
        "add table inet %1$s\n"                                                                    \
        "add chain inet %1$s nat-%2$s { type nat hook postrouting priority srcnat; policy "        \
        "accept; }\n"                                                                              \
        "add chain inet %1$s fwd-%2$s { type filter hook forward priority filter; policy "         \
        "accept; }\n"

int lodge_net_nat_script(const struct lodge_net_network *nw, const char *table, bool add,
                         char **ret, struct lodge_error **err)
{
        char net[INET_ADDRSTRLEN];
        struct in_addr a = nw->ipv4.addr.v4;
        unsigned pl = nw->ipv4.prefixlen;
        int n;

        a.s_addr &= htonl(pl == 0 ? 0 : ~(0xffffffffu >> pl));
        inet_ntop(AF_INET, &a, net, sizeof(net));
        if (add)
                n = asprintf(ret,
                             CHAINS_FMT "flush chain inet %1$s nat-%2$s\n"
                                        "flush chain inet %1$s fwd-%2$s\n"
                                        "add rule inet %1$s nat-%2$s ip saddr %3$s/%4$u ip daddr "
                                        "!= %3$s/%4$u masquerade\n"
                                        "add rule inet %1$s fwd-%2$s iifname \"%2$s\" accept\n"
                                        "add rule inet %1$s fwd-%2$s oifname \"%2$s\" ct state "
                                        "established,related accept\n",
                             table, nw->name, net, pl);
        else
                n = asprintf(ret,
                             CHAINS_FMT "delete chain inet %1$s nat-%2$s\n"
                                        "delete chain inet %1$s fwd-%2$s\n",
                             table, nw->name);
        if (n < 0)
                return lodge_error_set(err, ENOMEM, "build the nftables rules");
        return 0;
}

static int nft_run(char *const *argv, char **ret_out, struct lodge_error **err)
{
        cleanup_free char *out = NULL;
        int r;

        r = spawn_wait(argv, &out);
        if (r == -ENOENT)
                return lodge_error_set(err, ENOENT, "run '%s': not installed", argv[0]);
        if (r < 0)
                return lodge_error_set(err, -r, "run '%s'", argv[0]);
        if (r > 0) {
                size_t l = out ? strlen(out) : 0;

                while (l > 0 && out[l - 1] == '\n')
                        out[--l] = '\0';
                return lodge_error_set(err, EIO, "nft failed (exit %d): %s", r,
                                       out && *out ? out : "no output");
        }
        if (ret_out)
                *ret_out = TAKE_PTR(out);
        return 0;
}

int lodge_net_nat_set(const struct lodge_net_network *nw, const char *table, bool on, int dirfd,
                      const char *dir, struct lodge_error **err)
{
        cleanup_free char *script = NULL, *path = NULL, *listing = NULL;
        const char *nft = nft_path();
        int r;

        r = lodge_net_nat_script(nw, table, on, &script, err);
        if (r < 0)
                return r;
        r = write_file_replace_at(dirfd, "nftables.rules", script, strlen(script), 0600, err);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/nftables.rules", dir) < 0)
                return lodge_error_set(err, ENOMEM, "nft");
        r = nft_run((char *[]){ (char *)nft, "-f", path, NULL }, NULL, err);
        (void)unlinkat(dirfd, "nftables.rules", 0);
        if (r < 0 || on)
                return r;
        /* The table goes with the last chain of any network. */
        r = nft_run((char *[]){ (char *)nft, "list", "table", "inet", (char *)table, NULL },
                    &listing, err);
        if (r < 0)
                return r;
        if (!listing || !strstr(listing, "chain "))
                r = nft_run(
                        (char *[]){ (char *)nft, "delete", "table", "inet", (char *)table, NULL },
                        NULL, err);
        return r;
}

int lodge_net_ip_forward_enable(struct lodge_error **err)
{
        cleanup_close int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);

        if (fd < 0 || write_all(fd, "1\n", 2) < 0)
                return lodge_error_set(err, errno ? errno : EIO, "enable IPv4 forwarding");
        return 0;
}

int lodge_net_nft_probe(char **ret_version, struct lodge_error **err)
{
        const char *nft = nft_path();
        cleanup_free char *out = NULL;
        char *nl;
        int r;

        r = nft_run((char *[]){ (char *)nft, "--version", NULL }, &out, err);
        if (r < 0)
                return r;
        /* The kernel's side: nf_tables there, and ours to ask (CAP_NET_ADMIN). */
        r = nft_run((char *[]){ (char *)nft, "list", "tables", NULL }, NULL, err);
        if (r < 0)
                return r;
        if (out && (nl = strchr(out, '\n')))
                *nl = '\0';
        *ret_version = TAKE_PTR(out);
        if (!*ret_version && !(*ret_version = strdup("")))
                return lodge_error_set(err, ENOMEM, "nft");
        return 0;
}
