/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Run inside a guest (statically linked, so it needs nothing of the distro's):
 * tries syscalls that a guest must not have, natively, through the i386
 * entry (int $0x80, which a filter covering only x86_64 lets through) and
 * through the x32 one (numbers with __X32_SYSCALL_BIT), and prints
 * "NAME ABI errno" per call, 0 when it got through. Arguments are invalid on
 * purpose: a call that gets past the filter fails harmlessly.
 *
 * seccomp sees an x32 call before the kernel looks the number up, so a
 * filter answers it even where the kernel has no x32 support
 * (CONFIG_X86_X32_ABI off); unfiltered, such a call gets ENOSYS. The line
 * "x32 available yes|no" says which kernel this is, from an allowed call.
 * Where the kernel runs no 32-bit code (ia32_emulation=false, or
 * CONFIG_IA32_EMULATION off), int $0x80 faults before any syscall is made:
 * "i386 available no", and no i386 line follows. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define X32_BIT 0x40000000L

static long int80(long nr, long a, long b, long c)
{
        long ret;

        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
        return ret;
}

/* Does int $0x80 reach the kernel here? A child tries an allowed call. */
static bool i386_available(void)
{
        int status;
        pid_t pid = fork();

        if (pid == 0)
                _exit(int80(20, 0, 0, 0) > 0 ? 0 : 1);
        if (pid < 0 || waitpid(pid, &status, 0) < 0)
                return false;
        return WIFEXITED(status);
}

struct probe {
        const char *name;
        long native, i386, x32; /* syscall numbers; 0: none on that ABI */
        long a0, a1;            /* the first two arguments */
};

int main(void)
{
        static const struct probe probes[] = {
                { "kexec_load", SYS_kexec_load, 283, 528, -1, -1 },
                { "init_module", SYS_init_module, 128, 175, -1, -1 },
                { "finit_module", SYS_finit_module, 350, 313, -1, -1 },
                { "delete_module", SYS_delete_module, 129, 176, -1, -1 },
                { "open_by_handle_at", SYS_open_by_handle_at, 342, 304, -1, -1 },
                { "bpf", SYS_bpf, 357, 321, -1, -1 },
                { "userfaultfd", SYS_userfaultfd, 374, 323, -1, -1 },
                { "perf_event_open", SYS_perf_event_open, 336, 298, -1, -1 },
                { "keyctl", SYS_keyctl, 288, 250, -1, -1 },
                { "add_key", SYS_add_key, 286, 248, -1, -1 },
                { "swapon", SYS_swapon, 87, 167, -1, -1 },
                { "iopl", SYS_iopl, 110, 172, -1, -1 },
                /* The new mount API: one number on every ABI. */
                { "fsopen", 430, 430, 430, -1, -1 },
                { "open_tree", 428, 428, 428, -1, -1 },
                { "move_mount", 429, 429, 429, -1, -1 },
                /* Allowed by default; for policy files that deny them. */
                { "uname", SYS_uname, 122, 63, -1, -1 },
                { "getcwd7", SYS_getcwd, 183, 79, -1, 7 }, /* size 7 */
                { "getcwd8", SYS_getcwd, 183, 79, -1, 8 }, /* size 8 */
        };
        bool i386 = i386_available();
        long r;

        printf("i386 available %s\n", i386 ? "yes" : "no");
        fflush(stdout);
        for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
                const struct probe *p = &probes[i];

                errno = 0;
                r = syscall(p->native, p->a0, p->a1, -1L, -1L, -1L);
                printf("%s native %d\n", p->name, r < 0 ? errno : 0);
                if (p->i386 && i386) {
                        r = int80(p->i386, p->a0, p->a1, -1L);
                        printf("%s i386 %ld\n", p->name, r < 0 ? -r : 0);
                }
                if (p->x32) {
                        errno = 0;
                        r = syscall(p->x32 | X32_BIT, p->a0, p->a1, -1L, -1L, -1L);
                        printf("%s x32 %d\n", p->name, r < 0 ? errno : 0);
                }
        }
        /* An allowed call, to show the filter lets the rest through. */
        if (i386)
                printf("getpid i386 %ld\n", int80(20, 0, 0, 0) > 0 ? 0L : 1L);
        errno = 0;
        r = syscall(SYS_getpid | X32_BIT);
        printf("x32 available %s\n", r > 0 ? "yes" : "no");
        if (r < 0 && errno != ENOSYS)
                printf("getpid x32 %d\n", errno); /* the filter blocked an allowed call */
        fflush(stdout);
        return 0;
}
