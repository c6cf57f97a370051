/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/json.h"

/* "lodge network VERB …": each verb is a lodge_cmd of its own (its own
 * --help), dispatched from here. */

static int parse_onoff(const char *s, int *ret)
{
        if (strcmp(s, "on") == 0)
                *ret = 1;
        else if (strcmp(s, "off") == 0)
                *ret = 0;
        else
                return -1;
        return 0;
}

/* The options common to the verbs: --help, and --format where given. */
static int simple_opts(const struct lodge_cmd *c, int argc, char **argv, enum cmd_format *format,
                       bool *ret_done)
{
        static const struct option longopts[] = {
                { "format", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int o;

        *ret_done = false;
        while ((o = getopt_long(argc, argv, format ? "f:h" : "h", longopts, NULL)) >= 0) {
                if (o == 'h') {
                        cmd_help(c, stdout);
                        *ret_done = true;
                        return CMD_EXIT_OK;
                }
                if (o == 'f' && format) {
                        if (cmd_parse_format(optarg, format) < 0)
                                return cmd_usage_error(c, "unknown format '%s'", optarg);
                        continue;
                }
                return cmd_bad_option(c);
        }
        return CMD_EXIT_OK;
}

static const struct lodge_cmd net_create, net_delete, net_list, net_show;

static int run_create(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "ipv4", required_argument, NULL, '4' }, { "ipv6", required_argument, NULL, '6' },
                { "nat", required_argument, NULL, 'n' },  { "dhcp", required_argument, NULL, 'd' },
                { "help", no_argument, NULL, 'h' },       {},
        };
        struct lodge_network_options o = { .nat = -1, .dhcp = -1 };
        cleanup_error struct lodge_error *err = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                switch (c) {
                case '4':
                        o.ipv4 = optarg;
                        break;
                case '6':
                        o.ipv6 = optarg;
                        break;
                case 'n':
                        if (parse_onoff(optarg, &o.nat) < 0)
                                return cmd_usage_error(&net_create, "--nat: 'on' or 'off'");
                        break;
                case 'd':
                        if (parse_onoff(optarg, &o.dhcp) < 0)
                                return cmd_usage_error(&net_create, "--dhcp: 'on' or 'off'");
                        break;
                case 'h':
                        cmd_help(&net_create, stdout);
                        return CMD_EXIT_OK;
                default:
                        return cmd_bad_option(&net_create);
                }
        }
        if (argc - optind != 1)
                return cmd_usage_error(&net_create, "expected one network name");
        if (lodge_network_create(&g->paths, argv[optind], &o, &err) < 0)
                return cmd_fail(&err, NULL,
                                err->code == EINVAL ? CMD_EXIT_USAGE : CMD_EXIT_FAILURE);
        return CMD_EXIT_OK;
}

static int run_delete(int argc, char **argv, const struct lodge_global_opts *g)
{
        cleanup_error struct lodge_error *err = NULL;
        bool done;
        int r = simple_opts(&net_delete, argc, argv, NULL, &done);

        if (r != CMD_EXIT_OK || done)
                return r;
        if (argc - optind != 1)
                return cmd_usage_error(&net_delete, "expected one network name");
        if (lodge_network_delete(&g->paths, argv[optind], &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);
        return CMD_EXIT_OK;
}

static void json_network(FILE *f, const struct lodge_network_info *i)
{
        fputs("{\"name\":", f);
        json_print_string(f, i->name);
        fputs(",\"ipv4\":", f);
        if (strcmp(i->ipv4, "none") == 0)
                fputs("null", f);
        else
                json_print_string(f, i->ipv4);
        fputs(",\"ipv6\":", f);
        if (strcmp(i->ipv6, "none") == 0)
                fputs("null", f);
        else
                json_print_string(f, i->ipv6);
        fprintf(f, ",\"nat\":%s,\"dhcp\":%s,\"up\":%s,\"guests\":%u,\"dnsmasq_pid\":",
                i->nat ? "true" : "false", i->dhcp ? "true" : "false", i->up ? "true" : "false",
                i->guests);
        if (i->dnsmasq_pid > 0)
                fprintf(f, "%d}", i->dnsmasq_pid);
        else
                fputs("null}", f);
}

static void table_header(void)
{
        printf("%-15s  %-18s  %-24s  %-3s  %-4s  %-4s  %s\n", "NAME", "IPV4", "IPV6", "NAT", "DHCP",
               "UP", "GUESTS");
}

static void table_row(const struct lodge_network_info *i)
{
        printf("%-15s  %-18s  %-24s  %-3s  %-4s  %-4s  %u\n", i->name, i->ipv4, i->ipv6,
               i->nat ? "on" : "off", i->dhcp ? "on" : "off", i->up ? "yes" : "no", i->guests);
}

static int run_list(int argc, char **argv, const struct lodge_global_opts *g)
{
        cleanup_error struct lodge_error *err = NULL;
        cleanup_free struct lodge_network_info *l = NULL;
        enum cmd_format format = CMD_FORMAT_TABLE;
        size_t n = 0;
        bool done;
        int r = simple_opts(&net_list, argc, argv, &format, &done);

        if (r != CMD_EXIT_OK || done)
                return r;
        if (optind != argc)
                return cmd_usage_error(&net_list, "unexpected argument '%s'", argv[optind]);
        if (lodge_network_list(&g->paths, &l, &n, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);
        if (format == CMD_FORMAT_JSON) {
                fputc('[', stdout);
                for (size_t i = 0; i < n; i++) {
                        if (i)
                                fputc(',', stdout);
                        json_network(stdout, &l[i]);
                }
                fputs("]\n", stdout);
                return CMD_EXIT_OK;
        }
        table_header();
        for (size_t i = 0; i < n; i++)
                table_row(&l[i]);
        return CMD_EXIT_OK;
}

static int run_show(int argc, char **argv, const struct lodge_global_opts *g)
{
        cleanup_error struct lodge_error *err = NULL;
        enum cmd_format format = CMD_FORMAT_TABLE;
        struct lodge_network_info i;
        bool done;
        int r = simple_opts(&net_show, argc, argv, &format, &done);

        if (r != CMD_EXIT_OK || done)
                return r;
        if (argc - optind != 1)
                return cmd_usage_error(&net_show, "expected one network name");
        if (lodge_network_show(&g->paths, argv[optind], &i, &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);
        if (format == CMD_FORMAT_JSON) {
                json_network(stdout, &i);
                fputc('\n', stdout);
                return CMD_EXIT_OK;
        }
        printf("name:    %s\nipv4:    %s\nipv6:    %s\nnat:     %s\ndhcp:    %s\n"
               "bridge:  %s\nguests:  %u\ndnsmasq: ",
               i.name, i.ipv4, i.ipv6, i.nat ? "on" : "off", i.dhcp ? "on" : "off",
               i.up ? "up" : "down", i.guests);
        if (i.dnsmasq_pid > 0)
                printf("pid %d\n", i.dnsmasq_pid);
        else
                printf("not running\n");
        return CMD_EXIT_OK;
}

static const struct lodge_cmd net_create = {
        .name = "network create",
        .summary = "Define a network (a bridge of lodge's) and bring it up",
        .usage = "NAME [--ipv4 ADDR/PREFIX|auto|none] [--ipv6 ADDR/PREFIX|none] [--nat on|off] "
                 "[--dhcp on|off]",
        .options = "      --ipv4 ADDR/PREFIX  the bridge's (gateway's) address and subnet; auto "
                   "(default):\n"
                   "                          a private /24 no route of this host uses\n"
                   "      --ipv6 ADDR/PREFIX  the same for IPv6 (router advertisements: SLAAC);\n"
                   "                          default none; with --ipv4 none, IPv6 only\n"
                   "      --nat on|off        masquerade the subnet's traffic out (nftables table\n"
                   "                          'inet lodge'; enables IPv4 forwarding); default off\n"
                   "      --dhcp on|off       DHCP, DNS (NAME.lodge) and router advertisements by\n"
                   "                          dnsmasq; default on\n",
        .run = run_create,
};

static const struct lodge_cmd net_delete = {
        .name = "network delete",
        .summary = "Take a network down and remove it (refused while guests use it)",
        .usage = "NAME",
        .run = run_delete,
};

static const struct lodge_cmd net_list = {
        .name = "network list",
        .summary = "List the networks",
        .usage = "[--format table|json]",
        .options = "  -f, --format FORMAT     table (default) or json\n",
        .run = run_list,
};

static const struct lodge_cmd net_show = {
        .name = "network show",
        .summary = "Show one network and its live state",
        .usage = "NAME [--format table|json]",
        .options = "  -f, --format FORMAT     table (default) or json\n",
        .run = run_show,
};

static int run_network(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct lodge_cmd *const verbs[] = { &net_create, &net_delete, &net_list,
                                                         &net_show };
        const char *verb;

        if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
                cmd_help(&cmd_network, argc < 2 ? stderr : stdout);
                return argc < 2 ? CMD_EXIT_USAGE : CMD_EXIT_OK;
        }
        verb = argv[1];
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i]->name + strlen("network "), verb) == 0)
                        return verbs[i]->run(argc - 1, argv + 1, g);
        return cmd_usage_error(&cmd_network, "unknown action '%s'", verb);
}

const struct lodge_cmd cmd_network = {
        .name = "network",
        .summary = "Manage networks: bridges with DHCP/DNS and NAT",
        .usage = "create NAME [--ipv4 ADDR/PREFIX|auto|none] [--ipv6 ADDR/PREFIX|none] [--nat "
                 "on|off] [--dhcp on|off]\n"
                 "delete NAME\n"
                 "list [--format table|json]\n"
                 "show NAME [--format table|json]",
        .options = "  (each action has its own --help: 'lodge network create --help')\n",
        .run = run_network,
};
