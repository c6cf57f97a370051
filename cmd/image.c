/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "core/base/interrupt.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/strv.h"

static const char *or_dash(const char *s)
{
        return s && *s ? s : "-";
}

static void print_table(const struct lodge_image *v, size_t n, bool remote)
{
        if (remote)
                printf("%-14s %-14s %-8s %-10s %s\n", "DIST", "RELEASE", "ARCH", "VARIANT",
                       "BUILD");
        else
                printf("%-12s %-24s %-10s %-8s %-14s %-10s %s\n", "FINGERPRINT", "ALIASES", "DIST",
                       "ARCH", "RELEASE", "SIZE", "EXPIRES");
        for (size_t i = 0; i < n; i++) {
                const struct lodge_image *m = &v[i];
                char exp[32] = "never", size[32], *aliases = NULL;
                size_t len = 0;
                FILE *f;

                if (remote) {
                        printf("%-14s %-14s %-8s %-10s %s\n", or_dash(m->dist), or_dash(m->release),
                               or_dash(m->arch), or_dash(m->variant), or_dash(m->build));
                        continue;
                }
                f = open_memstream(&aliases, &len);
                STRV_FOREACH (a, m->aliases)
                        if (f)
                                fprintf(f, "%s%s", a == m->aliases ? "" : ",", *a);
                if (f)
                        fclose(f);
                if (m->expiry) {
                        time_t t = (time_t)m->expiry;
                        struct tm tm;

                        if (gmtime_r(&t, &tm))
                                strftime(exp, sizeof(exp), "%Y-%m-%d %H:%M", &tm);
                }
                snprintf(size, sizeof(size), "%.1f MiB", (double)m->size / (1 << 20));
                printf("%-12.12s %-24s %-10s %-8s %-14s %-10s %s\n", m->fingerprint,
                       or_dash(aliases), or_dash(m->dist), or_dash(m->arch), or_dash(m->release),
                       size, exp);
                free(aliases);
        }
}

/* The documented JSON form of one image (docs/cli.md). */
static void print_json_one(FILE *out, const struct lodge_image *m)
{
        const struct {
                const char *k, *v;
        } s[] = {
                { "fingerprint", m->fingerprint }, { "source", m->source },
                { "protocol", m->protocol },       { "dist", m->dist },
                { "release", m->release },         { "arch", m->arch },
                { "variant", m->variant },         { "build", m->build },
                { "verified", m->verified },
        };

        fputc('{', out);
        for (size_t i = 0; i < ELEMENTSOF(s); i++) {
                fprintf(out, "%s\"%s\":", i ? "," : "", s[i].k);
                json_print_string(out, s[i].v);
        }
        fputs(",\"aliases\":[", out);
        STRV_FOREACH (a, m->aliases) {
                if (a != m->aliases)
                        fputc(',', out);
                json_print_string(out, *a);
        }
        fprintf(out, "],\"size\":%llu,\"created\":%lld,\"expiry\":%lld,\"last_used\":%lld}",
                (unsigned long long)m->size, (long long)m->created, (long long)m->expiry,
                (long long)m->last_used);
}

/* The value of the "word value" line of a recipe, or NULL (the caller frees it). */
static char *recipe_get(const char *recipe, const char *word)
{
        size_t n = strlen(word);

        for (const char *l = recipe; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, word, n) == 0 && l[n] == ' ')
                        return strndup(l + n + 1, strcspn(l + n + 1, "\n"));
        return NULL;
}

/* The template cache below the images: one line per recipe's tree. */
static void print_template_table(const struct lodge_template_cache_entry *e, size_t n)
{
        if (n == 0)
                return;
        printf("\nTEMPLATE CACHE (lodge create -t TEMPLATE; its --refresh rebuilds a tree)\n");
        printf("%-48s %-10s %-8s %-10s %-10s %-16s %s\n", "KEY", "TEMPLATE", "RELEASE", "INIT",
               "SIZE", "BUILT", "PACKAGES");
        for (size_t i = 0; i < n; i++) {
                cleanup_free char *release = recipe_get(e[i].recipe, "release");
                cleanup_free char *init = recipe_get(e[i].recipe, "init");
                cleanup_free char *apt = recipe_get(e[i].recipe, "apt");
                char built[32] = "-", size[32];
                time_t t = (time_t)e[i].created;
                struct tm tm;

                if (gmtime_r(&t, &tm))
                        strftime(built, sizeof(built), "%Y-%m-%d %H:%M", &tm);
                snprintf(size, sizeof(size), "%.1f MiB", (double)e[i].size / (1 << 20));
                printf("%-48s %-10s %-8s %-10s %-10s %-16s %s\n", e[i].key, e[i].template,
                       or_dash(release), or_dash(init), size, built, or_dash(apt));
        }
}

/* A tree of the template cache in the images' JSON form, "protocol": "template"
 * and its recipe besides. */
static void print_json_template(FILE *out, const struct lodge_template_cache_entry *e)
{
        cleanup_free char *release = recipe_get(e->recipe, "release");
        cleanup_free char *arch = recipe_get(e->recipe, "arch");
        cleanup_free char *variant = recipe_get(e->recipe, "variant");
        const struct {
                const char *k, *v;
        } s[] = {
                { "fingerprint", e->key }, { "source", e->template }, { "protocol", "template" },
                { "dist", e->template },   { "release", release },    { "arch", arch },
                { "variant", variant },    { "build", NULL },         { "verified", "none" },
                { "recipe", e->recipe },
        };

        fputc('{', out);
        for (size_t i = 0; i < ELEMENTSOF(s); i++) {
                fprintf(out, "%s\"%s\":", i ? "," : "", s[i].k);
                json_print_string(out, s[i].v);
        }
        fprintf(out, ",\"aliases\":[],\"size\":%llu,\"created\":%lld,\"expiry\":0,\"last_used\":0}",
                (unsigned long long)e->size, (long long)e->created);
}

static int image_list(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "format", required_argument, NULL, 'f' },
                { "remote", required_argument, NULL, 'r' },
                { "protocol", required_argument, NULL, 'p' },
                { "keyring", required_argument, NULL, 'k' },
                { "ca", required_argument, NULL, 'C' },
                { "no-verify", no_argument, NULL, 'N' },
                {},
        };
        cleanup_error struct lodge_error *err = NULL;
        enum cmd_format format = CMD_FORMAT_TABLE;
        cleanup_strv char **remote = NULL;
        struct lodge_template_cache_entry *t = NULL;
        struct lodge_image *v = NULL;
        size_t n = 0, nt = 0;
        int c, r;

        if (strv_extend(&remote, "remote") < 0)
                return CMD_EXIT_FAILURE;
        while ((c = getopt_long(argc, argv, "f:", longopts, NULL)) >= 0) {
                const char *opt = NULL;

                switch (c) {
                case 'f':
                        if (cmd_parse_format(optarg, &format) < 0)
                                return cmd_usage_error(&cmd_image, "unknown format '%s'", optarg);
                        continue;
                case 'r':
                        opt = "--server";
                        break;
                case 'p':
                        opt = "--protocol";
                        break;
                case 'k':
                        opt = "--keyring";
                        break;
                case 'C':
                        opt = "--ca";
                        break;
                case 'N':
                        if (strv_extend(&remote, "--no-verify") < 0)
                                return CMD_EXIT_FAILURE;
                        continue;
                default:
                        return cmd_bad_option(&cmd_image);
                }
                if (strv_extend(&remote, opt) < 0 || strv_extend(&remote, optarg) < 0)
                        return CMD_EXIT_FAILURE;
        }
        if (optind != argc)
                return cmd_usage_error(&cmd_image, "unexpected argument '%s'", argv[optind]);
        if (strv_length(remote) > 1)
                r = lodge_image_list_remote(&g->paths, (int)strv_length(remote), remote, &v, &n,
                                            &err);
        else
                r = lodge_image_list(&g->paths, &v, &n, &err);
        if (r >= 0 && strv_length(remote) <= 1) {
                r = lodge_image_template_cache_list(&g->paths, &t, &nt, &err);
                if (r < 0)
                        lodge_image_list_free(v, n);
        }
        if (r < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);
        if (format == CMD_FORMAT_JSON) {
                fputc('[', stdout);
                for (size_t i = 0; i < n; i++) {
                        if (i)
                                fputc(',', stdout);
                        print_json_one(stdout, &v[i]);
                }
                for (size_t i = 0; i < nt; i++) {
                        if (n + i)
                                fputc(',', stdout);
                        print_json_template(stdout, &t[i]);
                }
                fputs("]\n", stdout);
        } else {
                print_table(v, n, strv_length(remote) > 1);
                print_template_table(t, nt);
        }
        lodge_image_list_free(v, n);
        lodge_template_cache_entries_free(t, nt);
        return CMD_EXIT_OK;
}

static int image_pull(int argc, char **argv, const struct lodge_global_opts *g)
{
        CLEANUP(lodge_image_done) struct lodge_image img = { 0 };
        cleanup_error struct lodge_error *err = NULL;
        cleanup_strv char **warnings = NULL;
        struct cmd_progress progress;
        int r;

        interrupt_install();
        cmd_progress_init(&progress, g);
        r = lodge_image_pull(&g->paths, argc, argv, cmd_progress_cb, &progress, &img, &warnings,
                             &err);
        cmd_progress_done(&progress);
        STRV_FOREACH (w, warnings)
                log_warn("%s", *w);
        if (r == -EINVAL)
                return cmd_fail(&err, NULL, CMD_EXIT_USAGE);
        if (r < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);
        printf("%s\n", img.fingerprint);
        return CMD_EXIT_OK;
}

static int image_import(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct option longopts[] = {
                { "alias", required_argument, NULL, 'a' },
                {},
        };
        CLEANUP(lodge_image_done) struct lodge_image img = { 0 };
        cleanup_error struct lodge_error *err = NULL;
        cleanup_strv char **aliases = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "a:", longopts, NULL)) >= 0) {
                if (c != 'a')
                        return cmd_bad_option(&cmd_image);
                if (strv_extend(&aliases, optarg) < 0)
                        return CMD_EXIT_FAILURE;
        }
        if (argc - optind < 1 || argc - optind > 2)
                return cmd_usage_error(&cmd_image, "import needs ROOTFS.tar and maybe META.tar");
        interrupt_install();
        if (lodge_image_import(&g->paths, argv[optind],
                               argc - optind == 2 ? argv[optind + 1] : NULL, aliases, &img,
                               &err) < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);
        printf("%s\n", img.fingerprint);
        return CMD_EXIT_OK;
}

static int image_remove(int argc, char **argv, const struct lodge_global_opts *g)
{
        cleanup_error struct lodge_error *err = NULL;

        if (argc < 2)
                return cmd_usage_error(&cmd_image, "remove needs an alias or fingerprint");
        for (int i = 1; i < argc; i++)
                if (lodge_image_remove(&g->paths, argv[i], &err) < 0)
                        return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);
        return CMD_EXIT_OK;
}

static int image_prune(int argc, char **argv, const struct lodge_global_opts *g)
{
        cleanup_error struct lodge_error *err = NULL;
        bool all = argc == 2 && strcmp(argv[1], "--all") == 0;
        unsigned layers = 0;
        int r;

        if (argc > 2 || (argc == 2 && !all))
                return cmd_usage_error(&cmd_image, "prune takes only --all");
        r = lodge_image_prune(&g->paths, all, &layers, &err);
        if (r < 0)
                return cmd_fail(&err, NULL, CMD_EXIT_FAILURE);
        if (!g->quiet && layers > 0)
                fprintf(stderr, "%d image%s removed, %u unused layer%s\n", r, r == 1 ? "" : "s",
                        layers, layers == 1 ? "" : "s");
        else if (!g->quiet)
                fprintf(stderr, "%d image%s removed\n", r, r == 1 ? "" : "s");
        return CMD_EXIT_OK;
}

static int run_image(int argc, char **argv, const struct lodge_global_opts *g)
{
        static const struct {
                const char *name;
                int (*run)(int argc, char **argv, const struct lodge_global_opts *g);
        } verbs[] = {
                { "list", image_list },     { "pull", image_pull },   { "import", image_import },
                { "remove", image_remove }, { "prune", image_prune },
        };

        if (argc < 2)
                return cmd_usage_error(&cmd_image, "which image command?");
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                cmd_help(&cmd_image, stdout);
                return CMD_EXIT_OK;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(argv[1], verbs[i].name) == 0) {
                        optind = 0; /* a full reset: main() parsed before us */
                        return verbs[i].run(argc - 1, argv + 1, g);
                }
        return cmd_usage_error(&cmd_image, "unknown image command '%s'", argv[1]);
}

const struct lodge_cmd cmd_image = {
        .name = "image",
        .summary = "Manage the image cache and look at image servers",
        .usage = "list [--format table|json] [--remote URL [--protocol P] [--keyring FILE]]\n"
                 "pull --dist DIST --release REL [--arch A] [--variant V] [--server URL] …\n"
                 "import ROOTFS.tar[.*] [META.tar[.*]] [--alias ALIAS]…\n"
                 "remove ALIAS|FINGERPRINT…\n"
                 "prune [--all]",
        .options = "  list                    cached images and the trees of the template cache\n"
                   "                          (-t debian); with --remote, what a server offers\n"
                   "  pull                    download an image into the cache (the download\n"
                   "                          template's options, see 'lodge create -t download\n"
                   "                          --help')\n"
                   "  import                  put local tarballs into the cache\n"
                   "  remove                  remove cached images\n"
                   "  prune                   remove expired and superseded images (all with\n"
                   "                          --all) and what interrupted downloads left\n",
        .run = run_image,
};
