/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/strv.h"

static void print_forms(const struct lodge_cmd *c, FILE *out)
{
        const char *s = c->usage;

        fputs("usage:", out);
        if (!*s)
                fprintf(out, " lodge %s\n", c->name);
        while (*s) {
                size_t n = strcspn(s, "\n");

                fprintf(out, " lodge %s %.*s\n", c->name, (int)n, s);
                s += n;
                if (*s == '\n')
                        s++;
                if (*s)
                        fputs("      ", out);
        }
}

void cmd_help(const struct lodge_cmd *c, FILE *out)
{
        print_forms(c, out);
        fprintf(out, "\n%s.\n", c->summary);
        fputs("\noptions:\n", out);
        if (c->options)
                fputs(c->options, out);
        fputs("  -h, --help              show this help\n", out);
}

int cmd_usage_error(const struct lodge_cmd *c, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "lodge: %s: ", c->name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        print_forms(c, stderr);
        fprintf(stderr, "Try 'lodge %s --help' for more.\n", c->name);
        return CMD_EXIT_USAGE;
}

int cmd_bad_option(const struct lodge_cmd *c)
{
        print_forms(c, stderr);
        fprintf(stderr, "Try 'lodge %s --help' for more.\n", c->name);
        return CMD_EXIT_USAGE;
}

int cmd_fail(struct lodge_error **err, const char *name, int status)
{
        if (name)
                (void)lodge_error_prefix(err, -EINVAL, "%s", name);
        (void)log_error_consume(err);
        return status;
}

void cmd_warn(const char *msg, void *userdata)
{
        log_warn("%s: %s", (const char *)userdata, msg);
}

int cmd_parse_format(const char *s, enum cmd_format *ret)
{
        if (strcmp(s, "table") == 0)
                *ret = CMD_FORMAT_TABLE;
        else if (strcmp(s, "json") == 0)
                *ret = CMD_FORMAT_JSON;
        else
                return -EINVAL;
        return 0;
}

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cmd_progress_init(struct cmd_progress *p, const struct lodge_global_opts *g)
{
        *p = (struct cmd_progress){
                .enabled = !g->quiet && isatty(STDERR_FILENO),
                .steps = !g->quiet,
                .start_ms = now_ms(),
        };
}

static void human(uint64_t bytes, char *buf, size_t len)
{
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double)bytes;
        unsigned u = 0;

        while (v >= 1024 && u < 4) {
                v /= 1024;
                u++;
        }
        snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void cmd_progress_cb(const char *what, uint64_t done, uint64_t total, void *userdata)
{
        struct cmd_progress *p = userdata;
        uint64_t now = now_ms(), elapsed;
        char d[32], rate[32];

        if (p && !p->enabled && p->steps && done == 0 && total == 0) {
                fprintf(stderr, "lodge: %s\n", what); /* a step of a long build */
                return;
        }
        if (!p || !p->enabled || (p->shown && now - p->last_ms < 100 && done != total))
                return;
        if (done == 0 && total == 0) {
                fprintf(stderr, "\r\033[K%.70s", what);
                fflush(stderr);
                p->last_ms = now;
                p->shown = true;
                return;
        }
        /* One line that fits a terminal: the file's name, not its path. */
        if (strrchr(what, '/'))
                what = strrchr(what, '/') + 1;
        p->last_ms = now;
        p->shown = true;
        elapsed = now > p->start_ms ? now - p->start_ms : 1;
        human(done, d, sizeof(d));
        human(done * 1000 / elapsed, rate, sizeof(rate));
        if (total > 0) {
                unsigned pct = (unsigned)(done * 100 / total);
                uint64_t eta = done ? (total - (done < total ? done : total)) * elapsed / done : 0;
                char t[32];

                human(total, t, sizeof(t));
                fprintf(stderr, "\r\033[K%.32s %3u%% %s / %s, %s/s, ETA %us", what, pct, d, t, rate,
                        (unsigned)(eta / 1000));
        } else {
                fprintf(stderr, "\r\033[K%.32s %s, %s/s", what, d, rate);
        }
        fflush(stderr);
}

void cmd_progress_done(struct cmd_progress *p)
{
        if (p->enabled && p->shown)
                fputs("\r\033[K", stderr);
        p->shown = false;
}

/* The documented, stable JSON form of one container (docs/cli.md). */
static void json_strv(FILE *out, char *const *l)
{
        fputc('[', out);
        STRV_FOREACH (a, l) {
                if (a != l)
                        fputc(',', out);
                json_print_string(out, *a);
        }
        fputc(']', out);
}

static void json_iface(FILE *out, const struct lodge_iface_info *f, bool first)
{
        if (!first)
                fputc(',', out);
        fprintf(out, "{\"index\":%u,\"name\":", f->index);
        json_print_string(out, f->name);
        fputs(",\"type\":", out);
        json_print_string(out, f->type);
        fputs(",\"link\":", out);
        json_print_string(out, f->link);
        fputs(",\"host_name\":", out);
        json_print_string(out, f->host_name[0] ? f->host_name : NULL);
        fputs(",\"hwaddr\":", out);
        json_print_string(out, f->hwaddr);
        fprintf(out, ",\"mtu\":%u,\"ipv4\":", f->mtu);
        json_strv(out, f->ipv4);
        fputs(",\"ipv6\":", out);
        json_strv(out, f->ipv6);
        fprintf(out,
                ",\"rx_bytes\":%llu,\"tx_bytes\":%llu,\"rx_packets\":%llu,\"tx_packets\":%llu}",
                (unsigned long long)f->rx_bytes, (unsigned long long)f->tx_bytes,
                (unsigned long long)f->rx_packets, (unsigned long long)f->tx_packets);
}

void cmd_json_container(FILE *out, const struct lodge_container_info *i)
{
        fputs("{\"name\":", out);
        json_print_string(out, i->name);
        fputs(",\"state\":", out);
        json_print_string(out, lodge_state_to_string(i->state));
        fputs(",\"backend\":", out);
        json_print_string(out, i->backend);
        if (i->have_disk) {
                fprintf(out, ",\"disk\":{\"own\":%llu,\"snapshots\":%llu,\"layer\":",
                        (unsigned long long)i->disk_own, (unsigned long long)i->disk_snapshots);
                json_print_string(out, i->layer);
                fprintf(out, ",\"layer_size\":%llu}", (unsigned long long)i->disk_layer);
        }
        fputs(",\"arch\":", out);
        json_print_string(out, i->arch);
        fputs(",\"path\":", out);
        json_print_string(out, i->path);
        fputs(",\"ipv4\":[", out);
        STRV_FOREACH (a, i->ipv4) {
                if (a != i->ipv4)
                        fputc(',', out);
                json_print_string(out, *a);
        }
        fprintf(out, "],\"autostart\":%s,\"privileged\":%s", i->autostart ? "true" : "false",
                i->privileged ? "true" : "false");
        if (i->privileged)
                fputs(",\"idmap\":null", out);
        else
                fprintf(out, ",\"idmap\":{\"base\":%u,\"count\":%u}", i->idmap_base,
                        i->idmap_count);
        if (i->init_pid > 0)
                fprintf(out, ",\"pid\":%lld", (long long)i->init_pid);
        else
                fputs(",\"pid\":null", out);
        fputs(",\"error\":", out);
        json_print_string(out, i->error);
        fprintf(out,
                ",\"started_at\":%lld,\"memory\":%llu,\"cpu_ns\":%llu,\"processes\":%llu,"
                "\"oom_kills\":%llu,\"last_stop\":",
                i->init_pid > 0 ? (long long)i->started_at : 0LL, (unsigned long long)i->memory,
                (unsigned long long)i->cpu_ns, (unsigned long long)i->processes,
                (unsigned long long)i->oom_kills);
        json_print_string(out, i->ended[0] ? i->ended : NULL);
        fputs(",\"run_once\":", out);
        json_print_string(out, i->run_once);
        fprintf(out, ",\"limits\":{\"memory\":%llu,\"cpu\":%.3f,\"pids\":%llu,\"cpuset\":",
                (unsigned long long)i->limits.memory, i->limits.cpu_millis / 1000.0,
                (unsigned long long)i->limits.pids);
        json_print_string(out, i->limits.cpuset);
        fputs("},\"interfaces\":[", out);
        for (size_t k = 0; k < i->n_ifaces; k++)
                json_iface(out, &i->ifaces[k], k == 0);
        fputs("]}", out);
}
