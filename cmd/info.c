/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "cmd/cmd.h"
#include "core/base/strv.h"

static void print_table(const struct lodge_container_info *i)
{
        printf("Name:       %s\n", i->name);
        printf("State:      %s\n", lodge_state_to_string(i->state));
        if (i->error)
                printf("Error:      %s\n", i->error);
        if (i->init_pid > 0)
                printf("PID:        %lld\n", (long long)i->init_pid);
        printf("Path:       %s\n", i->path);
        if (i->state != LODGE_STATE_BROKEN) {
                if (i->privileged)
                        printf("Security:   privileged: its root is the host's root (warning)\n");
                else
                        printf("Security:   unprivileged: host ids %u-%u\n", i->idmap_base,
                               i->idmap_base + i->idmap_count - 1);
        }
        if (i->backend)
                printf("Backend:    %s\n", i->backend);
        if (i->have_disk) {
                printf("Disk:       %.1f MiB its own, %.1f MiB in snapshots",
                       i->disk_own / 1048576.0, i->disk_snapshots / 1048576.0);
                if (i->layer)
                        printf(", %.1f MiB shared (layer %s)", i->disk_layer / 1048576.0, i->layer);
                putchar('\n');
        }
        if (i->arch)
                printf("Arch:       %s\n", i->arch);
        if (i->state != LODGE_STATE_BROKEN)
                printf("Autostart:  %s\n", i->autostart ? "yes" : "no");
        STRV_FOREACH (a, i->ipv4)
                printf("IPv4:       %s\n", *a);
        for (size_t k = 0; k < i->n_ifaces; k++) {
                const struct lodge_iface_info *f = &i->ifaces[k];

                printf("Interface:  net.%u %s (%s on %s%s%s) %s mtu %u\n", f->index, f->name,
                       f->type, f->link, f->host_name[0] ? ", host end " : "", f->host_name,
                       f->hwaddr, f->mtu);
                STRV_FOREACH (a, f->ipv4)
                        printf("              inet %s\n", *a);
                STRV_FOREACH (a, f->ipv6)
                        printf("              inet6 %s\n", *a);
                printf("              rx %llu bytes %llu packets, tx %llu bytes %llu packets\n",
                       (unsigned long long)f->rx_bytes, (unsigned long long)f->rx_packets,
                       (unsigned long long)f->tx_bytes, (unsigned long long)f->tx_packets);
        }
        if (i->init_pid > 0) {
                long long up = (long long)time(NULL) - i->started_at;

                printf("Uptime:     %lldd %02lld:%02lld:%02lld\n", up / 86400, up / 3600 % 24,
                       up / 60 % 60, up % 60);
                printf("Memory:     %.1f MiB\n", (double)i->memory / (1 << 20));
                printf("CPU time:   %.2f s\n", (double)i->cpu_ns / 1e9);
                printf("Processes:  %llu\n", (unsigned long long)i->processes);
                if (i->oom_kills)
                        printf("OOM kills:  %llu\n", (unsigned long long)i->oom_kills);
        } else if (i->ended[0]) {
                printf("Last stop:  %s\n", i->ended);
        }
        if (i->run_once)
                printf("Run once:   %s\n", i->run_once);
        if (i->limits.memory)
                printf("Limit:      memory %.1f MiB\n", (double)i->limits.memory / (1 << 20));
        if (i->limits.cpu_millis)
                printf("Limit:      cpu %u.%03u\n", i->limits.cpu_millis / 1000,
                       i->limits.cpu_millis % 1000);
        if (i->limits.pids)
                printf("Limit:      pids %llu\n", (unsigned long long)i->limits.pids);
        if (i->limits.cpuset)
                printf("Limit:      cpuset %s\n", i->limits.cpuset);
}

static int run_info(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "format", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct lodge_container_info info = { 0 };
        cleanup_error struct lodge_error *err = NULL;
        enum cmd_format format = CMD_FORMAT_TABLE;
        const char *name;
        int c;

        while ((c = getopt_long(argc, argv, "f:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        if (cmd_parse_format(optarg, &format) < 0)
                                return cmd_usage_error(&cmd_info, "unknown format '%s'", optarg);
                        break;
                case 'h':
                        cmd_help(&cmd_info, stdout);
                        return CMD_EXIT_OK;
                default:
                        return cmd_bad_option(&cmd_info);
                }
        }
        if (optind != argc - 1)
                return cmd_usage_error(&cmd_info, "expected one container name");
        name = argv[optind];
        if (lodge_name_check(name, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_USAGE);

        if (lodge_container_info(&g->paths, name, &info, &err) < 0)
                return cmd_fail(&err, name, CMD_EXIT_FAILURE);
        if (format == CMD_FORMAT_JSON) {
                cmd_json_container(stdout, &info);
                fputc('\n', stdout);
        } else {
                print_table(&info);
        }
        lodge_container_info_done(&info);
        return CMD_EXIT_OK;
}

const struct lodge_cmd cmd_info = {
        .name = "info",
        .summary = "Show a container's state and settings",
        .usage = "NAME [--format table|json]",
        .options = "  -f, --format FORMAT     table (default) or json\n",
        .run = run_info,
};
