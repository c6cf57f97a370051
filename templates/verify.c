/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checking downloads: sha256 (nettle, which libarchive already brings) and
 * detached OpenPGP signatures (gpgv, run through the spawn helper). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/interrupt.h"
#include "core/base/process.h"
#include "templates/templates-internal.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[d[i] >> 4];
                out[2 * i + 1] = digits[d[i] & 15];
        }
        out[2 * n] = '\0';
}

int sha256_fds(const int *fds, size_t n, char ret[static 65], uint64_t *ret_size,
               struct lodge_error **err)
{
        struct sha256_ctx ctx;
        uint8_t digest[SHA256_DIGEST_SIZE];
        uint64_t total = 0;

        sha256_init(&ctx);
        for (size_t i = 0; i < n; i++) {
                off_t off = 0;

                for (;;) {
                        uint8_t buf[65536];
                        ssize_t got = pread(fds[i], buf, sizeof(buf), off);

                        if (got < 0 && errno == EINTR)
                                continue;
                        if (got < 0)
                                return lodge_error_set(err, errno, "read for sha256");
                        if (got == 0)
                                break;
                        if (interrupt_pending())
                                return lodge_error_set(err, EINTR, "interrupted");
                        sha256_update(&ctx, (size_t)got, buf);
                        off += got;
                        total += (uint64_t)got;
                }
        }
        sha256_digest(&ctx, sizeof(digest), digest);
        hex(digest, sizeof(digest), ret);
        if (ret_size)
                *ret_size = total;
        return 0;
}

int verify_file(int fd, const struct image_file *f, const char *what, struct lodge_error **err)
{
        char sum[65];
        uint64_t size = 0;
        int r;

        r = sha256_fds(&fd, 1, sum, &size, err);
        if (r < 0)
                return r;
        if (f->size && size != f->size)
                return lodge_error_set(err, EBADMSG, "%s: %llu bytes, the index says %llu", what,
                                       (unsigned long long)size, (unsigned long long)f->size);
        if (f->sha256[0] && strcmp(sum, f->sha256) != 0)
                return lodge_error_set(err, EBADMSG, "%s: sha256 %s does not match the index's %s",
                                       what, sum, f->sha256);
        return 0;
}

int verify_signature(int data_fd, int sig_fd, const char *keyring, const char *what,
                     struct lodge_error **err)
{
        char ring[PATH_MAX];
        cleanup_free char *out = NULL;
        const int fds[2] = { sig_fd, data_fd };
        struct spawn_options so = { .fds = fds, .n_fds = 2 };
        char *argv[] = { "/usr/bin/gpgv", "--homedir", "/nonexistent", "--status-fd", "1",
                         "--keyring",     ring,        "/dev/fd/3",    "/dev/fd/4",   NULL };
        int r;

        if (!keyring)
                return lodge_error_set(err, ENOKEY,
                                       "%s: no keyring to check its signature with (--keyring, "
                                       "image.keyring in lodge.conf, or --no-verify)",
                                       what);
        if (!realpath(keyring, ring))
                return lodge_error_set(err, errno, "keyring '%s'", keyring);
        if (lseek(data_fd, 0, SEEK_SET) < 0 || lseek(sig_fd, 0, SEEK_SET) < 0)
                return lodge_error_set(err, errno, "rewind for gpgv");
        r = spawn_wait_opts(argv, &so, &out);
        if (r < 0)
                return lodge_error_set(err, -r, "run gpgv (install gpgv, or --no-verify)");
        if (r == 0 && out && strstr(out, "[GNUPG:] GOODSIG") && strstr(out, "[GNUPG:] VALIDSIG"))
                return 0;
        if (out && strstr(out, "[GNUPG:] NO_PUBKEY"))
                return lodge_error_set(err, ENOKEY, "%s: signed by a key not in '%s'", what,
                                       keyring);
        if (out && strstr(out, "[GNUPG:] BADSIG"))
                return lodge_error_set(err, EBADMSG, "%s: BAD signature", what);
        return lodge_error_set(err, EBADMSG, "%s: signature not verified (gpgv exit status %d)",
                               what, r);
}
