/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Run inside a guest (statically linked, so it needs nothing of the distro's):
 * tries syscalls that a guest must not have, natively and through the i386
 * entry (int $0x80, which a filter covering only x86_64 lets through), and
 * prints "NAME ABI errno" per call, 0 when it got through. Arguments are
 * invalid on purpose: a call that gets past the filter fails harmlessly. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long int80(long nr, long a, long b, long c)
{
        long ret;

        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
        return ret;
}

struct probe {
        const char *name;
        long native, i386; /* syscall numbers; i386 0: none there */
};

int main(void)
{
        static const struct probe probes[] = {
                { "kexec_load", SYS_kexec_load, 283 },
                { "init_module", SYS_init_module, 128 },
                { "finit_module", SYS_finit_module, 350 },
                { "delete_module", SYS_delete_module, 129 },
                { "open_by_handle_at", SYS_open_by_handle_at, 342 },
                { "bpf", SYS_bpf, 357 },
                { "userfaultfd", SYS_userfaultfd, 374 },
                { "perf_event_open", SYS_perf_event_open, 336 },
                { "keyctl", SYS_keyctl, 288 },
                { "add_key", SYS_add_key, 286 },
                { "swapon", SYS_swapon, 87 },
                { "iopl", SYS_iopl, 110 },
        };

        for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
                long r;

                errno = 0;
                r = syscall(probes[i].native, -1L, -1L, -1L, -1L, -1L);
                printf("%s native %d\n", probes[i].name, r < 0 ? errno : 0);
                if (probes[i].i386) {
                        r = int80(probes[i].i386, -1L, -1L, -1L);
                        printf("%s i386 %ld\n", probes[i].name, r < 0 ? -r : 0);
                }
        }
        /* An allowed call, to show the filter lets the rest through. */
        printf("getpid i386 %ld\n", int80(20, 0, 0, 0) > 0 ? 0L : 1L);
        return 0;
}
