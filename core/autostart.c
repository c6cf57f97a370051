/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/cleanup.h"
#include "core/base/strv.h"
#include "core/core-internal.h"
#include "core/network.h"

struct entry {
        char *name;
        int32_t order;
        uint32_t delay;
};

static int by_order(const void *a, const void *b)
{
        const struct entry *x = a, *y = b;

        if (x->order != y->order)
                return x->order < y->order ? -1 : 1;
        return strcmp(x->name, y->name);
}

static int push_failure(char ***failed, const char *name, struct lodge_error **e)
{
        char *line = NULL;

        if (asprintf(&line, "%s: %s: %s", name, (*e)->msg ? (*e)->msg : "start",
                     strerror((*e)->code)) < 0)
                return -ENOMEM;
        lodge_error_free(e);
        if (strv_push(failed, line) < 0) {
                free(line);
                return -ENOMEM;
        }
        return 0;
}

int lodge_autostart(const struct lodge_paths *p, char ***ret_failed, struct lodge_error **err)
{
        struct lodge_container_info *l = NULL;
        cleanup_free struct entry *todo = NULL;
        cleanup_strv char **failed = NULL;
        size_t n = 0, k = 0;
        int r;

        /* The networks first: after a reboot their bridges, dnsmasq and NAT are gone. */
        r = networks_up_all(p, &failed, err);
        if (r < 0)
                return r;
        r = lodge_container_list(p, &l, &n, err);
        if (r < 0)
                return r;
        todo = calloc(n ? n : 1, sizeof(*todo));
        if (!todo) {
                lodge_container_list_free(l, n);
                return lodge_error_set(err, ENOMEM, "autostart");
        }
        for (size_t i = 0; i < n; i++) {
                CLEANUP(lodge_config_freep) struct lodge_config *cfg = NULL;

                if (!l[i].autostart || l[i].state != LODGE_STATE_STOPPED ||
                    lodge_container_config_load(p, l[i].name, &cfg, NULL) < 0)
                        continue;
                todo[k++] = (struct entry){ l[i].name, cfg->autostart_order, cfg->autostart_delay };
        }
        qsort(todo, k, sizeof(*todo), by_order);

        for (size_t i = 0; i < k; i++) {
                cleanup_error struct lodge_error *e = NULL;

                if (lodge_container_start(p, todo[i].name, &(struct lodge_start_options){ 0 }, &e) <
                    0) {
                        if (push_failure(&failed, todo[i].name, &e) < 0) {
                                lodge_container_list_free(l, n);
                                return lodge_error_set(err, ENOMEM, "autostart");
                        }
                        continue;
                }
                if (todo[i].delay && i + 1 < k)
                        nanosleep(&(struct timespec){ .tv_sec = todo[i].delay }, NULL);
        }
        lodge_container_list_free(l, n);
        if (ret_failed)
                *ret_failed = TAKE_PTR(failed);
        return 0;
}
