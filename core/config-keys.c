/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/base/cleanup.h"
#include "core/base/parse.h"
#include "core/base/strv.h"
#include "core/config-internal.h"

/* One generic store per type; the table below says which type each key has
 * and where in struct lodge_config its value goes. */
enum conf_type {
        T_STRING,      /* char *, checked by validate */
        T_BOOL,        /* bool, parse_bool() */
        T_INT,         /* int32_t in [min, max] */
        T_UINT,        /* uint32_t or uint64_t (width) in [min, max] */
        T_SIZE,        /* uint64_t bytes >= min; flag: "has" bool */
        T_CPU,         /* uint32_t millicores */
        T_RATE,        /* uint64_t bits/s > 0 */
        T_SIGNAL,      /* int: "auto" is 0 */
        T_ENUM,        /* int from names */
        T_HWADDR,      /* uint8_t[6]; flag: "has" bool */
        T_IPADDR,      /* struct ip_prefix of family; flag: "has" bool */
        T_IPPREFIX,    /* struct ip_prefix; flag: mode from names, else the terminator's */
        T_MODE_STRING, /* char *; flag: mode from names, else the terminator's + validate */
        T_IDMAP,       /* uint32_t base, aux: uint32_t count; flag: "has" bool */
        T_CAPS,        /* char ** of capability names */
        T_ENV,         /* char ** of "KEY=VALUE", the key's suffix is KEY */
};

enum conf_scope {
        SCOPE_TOP,   /* offsets in struct lodge_config */
        SCOPE_NET,   /* "net.N.": offsets in struct lodge_config_net, cfg->net[N] */
        SCOPE_ARRAY, /* "mount.N": offset of a char *[nmax] array in struct lodge_config */
};

struct conf_name {
        const char *name; /* NULL ends the list */
        int value;
};

struct conf_key {
        const char *pattern; /* the index is "N": "net.N.type" */
        enum conf_type type;
        enum conf_scope scope;
        size_t offset;
        size_t width; /* sizeof the field at offset */
        size_t flag;  /* offset of the "has" bool or mode enum, same scope */
        size_t aux;   /* T_IDMAP: offset of the count */
        int64_t min, max;
        const struct conf_name *names;
        int (*validate)(const char *value, struct lodge_error **err);
        unsigned nmax; /* SCOPE_ARRAY: number of slots */
        int family;    /* T_IPADDR, T_IPPREFIX */
        bool has_flag;
        bool allow_empty;
};

#define MIB (INT64_C(1) << 20)

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool has_prefix(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const struct conf_name backend_names[] = {
        { "dir", LODGE_BACKEND_DIR },
        { "overlay", LODGE_BACKEND_OVERLAY },
        { "btrfs", LODGE_BACKEND_BTRFS },
        { NULL, 0 },
};

static const struct conf_name net_type_names[] = {
        { "veth", LODGE_NET_VETH },
        { "macvlan", LODGE_NET_MACVLAN },
        { "none", LODGE_NET_NONE },
        { NULL, 0 },
};

static const struct conf_name ipv4_names[] = {
        { "dhcp", LODGE_ADDR_DHCP },
        { NULL, LODGE_ADDR_STATIC },
};

static const struct conf_name ipv6_names[] = {
        { "auto", LODGE_ADDR_AUTO },
        { NULL, LODGE_ADDR_STATIC },
};

static const struct conf_name apparmor_names[] = {
        { "generated", LODGE_APPARMOR_GENERATED },
        { "unconfined", LODGE_APPARMOR_UNCONFINED },
        { NULL, LODGE_APPARMOR_PROFILE },
};

static const struct conf_name seccomp_names[] = {
        { "default", LODGE_SECCOMP_DEFAULT },
        { "none", LODGE_SECCOMP_NONE },
        { NULL, LODGE_SECCOMP_FILE },
};

/* Enums are stored through int pointers. */
_Static_assert(sizeof(enum lodge_backend) == sizeof(int), "enum size");
_Static_assert(sizeof(enum lodge_net_type) == sizeof(int), "enum size");
_Static_assert(sizeof(enum lodge_addr_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum lodge_apparmor_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum lodge_seccomp_mode) == sizeof(int), "enum size");

#define FIELD_SIZE(type, f) sizeof(((type *)0)->f)
#define TOP(f)                                                                                     \
        .scope = SCOPE_TOP, .offset = offsetof(struct lodge_config, f),                            \
        .width = FIELD_SIZE(struct lodge_config, f)
#define NET(f)                                                                                     \
        .scope = SCOPE_NET, .offset = offsetof(struct lodge_config_net, f),                        \
        .width = FIELD_SIZE(struct lodge_config_net, f)
#define ARRAY(f)                                                                                   \
        .scope = SCOPE_ARRAY, .offset = offsetof(struct lodge_config, f), .width = sizeof(char *), \
        .nmax = ELEMENTSOF(((struct lodge_config *)0)->f)
#define TOP_FLAG(f) .has_flag = true, .flag = offsetof(struct lodge_config, f)
#define NET_FLAG(f) .has_flag = true, .flag = offsetof(struct lodge_config_net, f)
#define RANGE(lo, hi) .min = (lo), .max = (hi)

/* Sorted by pattern (strcmp): looked up with bsearch(), order checked by a unit test. */
static const struct conf_key conf_keys[] = {
        { "arch", T_STRING, TOP(arch), .validate = config_check_arch },
        { "autostart", T_BOOL, TOP(autostart) },
        { "autostart.delay", T_UINT, TOP(autostart_delay), RANGE(0, 86400) },
        { "autostart.order", T_INT, TOP(autostart_order), RANGE(-1000, 1000) },
        { "cloud-init.meta-data", T_STRING, TOP(cloud_init_meta_data) },
        { "cloud-init.network-config", T_STRING, TOP(cloud_init_network_config) },
        { "cloud-init.user-data", T_STRING, TOP(cloud_init_user_data) },
        { "device.N", T_STRING, ARRAY(limits.devices), .validate = config_check_device },
        { "environment.*", T_ENV, TOP(environment), .allow_empty = true },
        { "hook.post-stop", T_STRING, TOP(hook_post_stop), .validate = config_check_hook },
        { "hook.pre-start", T_STRING, TOP(hook_pre_start), .validate = config_check_hook },
        { "hook.start-host", T_STRING, TOP(hook_start_host), .validate = config_check_hook },
        { "init.cmd", T_STRING, TOP(init_cmd), .validate = config_check_init_cmd },
        { "init.stop_signal", T_SIGNAL, TOP(init_stop_signal) },
        { "limits.cpu", T_CPU, TOP(limits.cpu_millis) },
        { "limits.cpu.weight", T_UINT, TOP(limits.cpu_weight), RANGE(1, 10000) },
        { "limits.cpuset", T_STRING, TOP(limits.cpuset), .validate = config_check_cpuset },
        { "limits.disk", T_SIZE, TOP(limits.disk), .min = 1 * MIB },
        { "limits.io.weight", T_UINT, TOP(limits.io_weight), RANGE(1, 10000) },
        { "limits.memory", T_SIZE, TOP(limits.memory), .min = 4 * MIB },
        { "limits.memory.swap", T_SIZE, TOP(limits.memory_swap), TOP_FLAG(limits.has_memory_swap) },
        { "limits.pids", T_UINT, TOP(limits.pids), RANGE(1, 4194304) },
        { "mount.N", T_STRING, ARRAY(mounts), .validate = config_check_mount },
        { "name", T_STRING, TOP(name), .validate = config_check_name },
        { "net.N.hwaddr", T_HWADDR, NET(hwaddr), NET_FLAG(has_hwaddr) },
        { "net.N.ipv4", T_IPPREFIX, NET(ipv4), NET_FLAG(ipv4_mode), .family = AF_INET,
          .names = ipv4_names },
        { "net.N.ipv4.gateway", T_IPADDR, NET(ipv4_gateway), NET_FLAG(has_ipv4_gateway),
          .family = AF_INET },
        { "net.N.ipv6", T_IPPREFIX, NET(ipv6), NET_FLAG(ipv6_mode), .family = AF_INET6,
          .names = ipv6_names },
        { "net.N.limit.egress", T_RATE, NET(limit_egress) },
        { "net.N.limit.ingress", T_RATE, NET(limit_ingress) },
        { "net.N.link", T_STRING, NET(link), .validate = config_check_ifname },
        { "net.N.mtu", T_UINT, NET(mtu), RANGE(68, 65535) },
        { "net.N.name", T_STRING, NET(name), .validate = config_check_ifname },
        { "net.N.type", T_ENUM, NET(type), .names = net_type_names },
        { "rootfs.backend", T_ENUM, TOP(backend), .names = backend_names },
        { "rootfs.layer", T_STRING, TOP(rootfs_layer), .validate = config_check_layer },
        { "rootfs.path", T_STRING, TOP(rootfs_path), .validate = config_check_rootfs_path },
        { "security.apparmor", T_MODE_STRING, TOP(security.apparmor_profile),
          TOP_FLAG(security.apparmor), .names = apparmor_names,
          .validate = config_check_apparmor_profile },
        { "security.apparmor.required", T_BOOL, TOP(security.apparmor_required) },
        { "security.caps.drop", T_CAPS, TOP(security.caps_drop) },
        { "security.caps.keep", T_CAPS, TOP(security.caps_keep), .allow_empty = true },
        { "security.idmap", T_IDMAP, TOP(security.idmap_base), TOP_FLAG(security.has_idmap),
          .aux = offsetof(struct lodge_config, security.idmap_count) },
        { "security.idmap.isolated", T_BOOL, TOP(security.idmap_isolated) },
        { "security.nesting", T_BOOL, TOP(security.nesting) },
        { "security.privileged", T_BOOL, TOP(security.privileged) },
        { "security.seccomp", T_MODE_STRING, TOP(security.seccomp_path), TOP_FLAG(security.seccomp),
          .names = seccomp_names, .validate = config_check_abs_path },
};

bool lodge_config_keys_sorted(void)
{
        for (size_t i = 1; i < ELEMENTSOF(conf_keys); i++)
                if (strcmp(conf_keys[i - 1].pattern, conf_keys[i].pattern) >= 0)
                        return false;
        return true;
}

static int key_cmp(const void *key, const void *elem)
{
        return strcmp(key, ((const struct conf_key *)elem)->pattern);
}

static const struct conf_key *key_find(const char *pattern)
{
        return bsearch(pattern, conf_keys, ELEMENTSOF(conf_keys), sizeof(conf_keys[0]), key_cmp);
}

static bool is_pattern(const struct conf_key *k, const char *pattern)
{
        return strcmp(k->pattern, pattern) == 0;
}

static bool env_name_valid(const char *s)
{
        if (!(s[0] == '_' || (is_alnum(s[0]) && !(s[0] >= '0' && s[0] <= '9'))))
                return false;
        for (; *s; s++)
                if (!is_alnum(*s) && *s != '_')
                        return false;
        return true;
}

#define ENV_PREFIX "environment."

/* "net.12.type" -> "net.N.type" in pattern (size bytes), with *ret_index
 * pointing at "12" (index_len bytes) or NULL. false when the key can't be
 * one of ours: two numeric parts, or too long. */
static bool key_pattern(const char *key, char *pattern, size_t size, const char **ret_index,
                        size_t *ret_index_len)
{
        const char *index = NULL;
        size_t index_len = 0, w = 0;

        for (const char *p = key; *p;) {
                size_t len = strcspn(p, ".");
                bool digits = len > 0 && strspn(p, "0123456789") == len;
                const char *src = digits ? "N" : p;
                size_t src_len = digits ? 1 : len;

                if (digits) {
                        if (index)
                                return false;
                        index = p;
                        index_len = len;
                }
                if (w + src_len + 1 >= size)
                        return false;
                memcpy(pattern + w, src, src_len);
                w += src_len;
                p += len;
                if (*p == '.') {
                        pattern[w++] = '.';
                        p++;
                }
        }
        pattern[w] = '\0';
        *ret_index = index;
        *ret_index_len = index_len;
        return true;
}

int config_key_resolve(const char *key, const struct conf_key **ret, unsigned *ret_index,
                       struct lodge_error **err)
{
        const struct conf_key *k = NULL;
        const char *index = NULL;
        size_t index_len = 0;
        char pattern[64];
        unsigned n = 0;

        if (has_prefix(key, ENV_PREFIX)) {
                if (!env_name_valid(key + strlen(ENV_PREFIX)))
                        return lodge_error_set(err, EINVAL,
                                               "'%s' is not an environment variable name",
                                               key + strlen(ENV_PREFIX));
                *ret = key_find(ENV_PREFIX "*");
                *ret_index = 0;
                return 0;
        }

        if (key_pattern(key, pattern, sizeof(pattern), &index, &index_len))
                k = key_find(pattern);
        /* A leading zero would give one slot two spellings ("net.01.type"). */
        if (!k || (k->scope == SCOPE_TOP) != !index || (index_len > 1 && index[0] == '0'))
                return lodge_error_set(err, EINVAL, "unknown key");
        if (index) {
                unsigned nmax = k->scope == SCOPE_NET ? LODGE_CONFIG_MAX_NET : k->nmax;

                for (size_t i = 0; i < index_len && n < nmax; i++)
                        n = n * 10 + (unsigned)(index[i] - '0');
                if (n >= nmax)
                        return lodge_error_set(err, EINVAL, "index %.*s is out of range 0..%u",
                                               (int)index_len, index, nmax - 1);
        }
        *ret = k;
        *ret_index = n;
        return 0;
}

/* Where one key's value goes. */
struct slot {
        const char *key;
        char *base; /* struct lodge_config or struct lodge_config_net */
        void *field;
        struct conf_build *b;
};

static void *slot_flag(const struct conf_key *k, const struct slot *s)
{
        return k->has_flag ? s->base + k->flag : NULL;
}

static void set_has(const struct conf_key *k, const struct slot *s)
{
        bool *has = slot_flag(k, s);

        if (has)
                *has = true;
}

static void set_mode(const struct conf_key *k, const struct slot *s, int mode)
{
        assert(k->has_flag); /* every keyword type has a mode field */
        *(int *)(s->base + k->flag) = mode;
}

static int store_string(const struct conf_key *k, const struct slot *s, const char *value,
                        struct lodge_error **err)
{
        char **p = s->field;
        char *copy;
        int r;

        if (k->validate) {
                r = k->validate(value, err);
                if (r < 0)
                        return r;
        }
        copy = strdup(value);
        if (!copy)
                return lodge_error_set(err, ENOMEM, "out of memory");
        free(*p);
        *p = copy;
        return 0;
}

static int store_bool(const struct conf_key *k, const struct slot *s, const char *value,
                      struct lodge_error **err)
{
        if (parse_bool(value, s->field) < 0)
                return lodge_error_set(err, EINVAL,
                                       "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
                                       value);
        return 0;
}

static int store_int(const struct conf_key *k, const struct slot *s, const char *value,
                     struct lodge_error **err)
{
        int64_t v;
        int r;

        r = parse_i64_range(value, k->min, k->max, &v);
        if (r == -ERANGE)
                return lodge_error_set(err, EINVAL, "'%s' is out of range %" PRId64 "..%" PRId64,
                                       value, k->min, k->max);
        if (r < 0)
                return lodge_error_set(err, EINVAL, "'%s' is not a number", value);
        *(int32_t *)s->field = (int32_t)v;
        return 0;
}

static int store_uint(const struct conf_key *k, const struct slot *s, const char *value,
                      struct lodge_error **err)
{
        uint64_t v;
        int r;

        r = parse_u64_range(value, (uint64_t)k->min, (uint64_t)k->max, &v);
        if (r == -ERANGE)
                return lodge_error_set(err, EINVAL, "'%s' is out of range %" PRId64 "..%" PRId64,
                                       value, k->min, k->max);
        if (r < 0)
                return lodge_error_set(err, EINVAL, "'%s' is not a number", value);
        if (k->width == sizeof(uint32_t))
                *(uint32_t *)s->field = (uint32_t)v;
        else
                *(uint64_t *)s->field = v;
        return 0;
}

static int store_size(const struct conf_key *k, const struct slot *s, const char *value,
                      struct lodge_error **err)
{
        uint64_t v;
        int r;

        r = parse_size(value, &v);
        if (r == -ERANGE)
                return lodge_error_set(err, EINVAL, "'%s' is too large", value);
        if (r < 0)
                return lodge_error_set(err, EINVAL, "'%s' is not a size", value);
        if (v < (uint64_t)k->min)
                return lodge_error_set(err, EINVAL,
                                       "'%s' is less than the minimum of %" PRId64 "MiB", value,
                                       k->min / MIB);
        *(uint64_t *)s->field = v;
        set_has(k, s);
        return 0;
}

static int store_cpu(const struct conf_key *k, const struct slot *s, const char *value,
                     struct lodge_error **err)
{
        int r;

        r = parse_cpu(value, s->field);
        if (r == -ERANGE)
                return lodge_error_set(err, EINVAL, "'%s' is out of range 0.001..65536", value);
        if (r < 0)
                return lodge_error_set(err, EINVAL,
                                       "'%s' is not a CPU count (cores, up to 3 decimals)", value);
        return 0;
}

static int store_rate(const struct conf_key *k, const struct slot *s, const char *value,
                      struct lodge_error **err)
{
        uint64_t v;
        int r;

        r = parse_rate(value, &v);
        if (r == -ERANGE)
                return lodge_error_set(err, EINVAL, "'%s' is too large", value);
        if (r < 0)
                return lodge_error_set(err, EINVAL, "'%s' is not a rate (like 100mbit)", value);
        if (v == 0)
                return lodge_error_set(err, EINVAL, "'%s' is not greater than 0", value);
        *(uint64_t *)s->field = v;
        return 0;
}

static int store_signal(const struct conf_key *k, const struct slot *s, const char *value,
                        struct lodge_error **err)
{
        int sig = 0;

        if (strcmp(value, "auto") != 0 && parse_signal(value, &sig) < 0)
                return lodge_error_set(err, EINVAL, "'%s' is not auto or a signal", value);
        *(int *)s->field = sig;
        return 0;
}

static int store_enum(const struct conf_key *k, const struct slot *s, const char *value,
                      struct lodge_error **err)
{
        char choices[128] = "";

        for (const struct conf_name *n = k->names; n->name; n++) {
                if (strcmp(value, n->name) == 0) {
                        *(int *)s->field = n->value;
                        return 0;
                }
                if (choices[0])
                        strncat(choices, ", ", sizeof(choices) - strlen(choices) - 1);
                strncat(choices, n->name, sizeof(choices) - strlen(choices) - 1);
        }
        return lodge_error_set(err, EINVAL, "'%s' is not one of %s", value, choices);
}

static int store_hwaddr(const struct conf_key *k, const struct slot *s, const char *value,
                        struct lodge_error **err)
{
        if (parse_hwaddr(value, s->field) < 0)
                return lodge_error_set(err, EINVAL,
                                       "'%s' is not a unicast MAC address (like 00:16:3e:12:34:56)",
                                       value);
        set_has(k, s);
        return 0;
}

static const char *family_name(int family)
{
        return family == AF_INET ? "IPv4" : "IPv6";
}

static int store_ipaddr(const struct conf_key *k, const struct slot *s, const char *value,
                        struct lodge_error **err)
{
        if (parse_ip_addr(value, k->family, s->field) < 0)
                return lodge_error_set(err, EINVAL, "'%s' is not an %s address", value,
                                       family_name(k->family));
        set_has(k, s);
        return 0;
}

static uint32_t ipv4_mask(unsigned prefixlen)
{
        return prefixlen == 0 ? 0 : UINT32_MAX << (32 - prefixlen);
}

/* An interface address must be a host of its subnet: not the network or the
 * broadcast address (both exist only below /31). */
static const char *ipv4_host_problem(const struct ip_prefix *p, struct in_addr a)
{
        uint32_t host = ntohl(a.s_addr) & ~ipv4_mask(p->prefixlen);

        if (p->prefixlen >= 31)
                return NULL;
        if (host == 0)
                return "network";
        if (host == ~ipv4_mask(p->prefixlen))
                return "broadcast";
        return NULL;
}

static int store_ipprefix(const struct conf_key *k, const struct slot *s, const char *value,
                          struct lodge_error **err)
{
        const struct conf_name *n;
        struct ip_prefix p;
        const char *why;

        for (n = k->names; n->name; n++)
                if (strcmp(value, n->name) == 0) {
                        memset(s->field, 0, sizeof(struct ip_prefix));
                        set_mode(k, s, n->value);
                        return 0;
                }
        if (parse_ip_prefix(value, k->family, &p) < 0)
                return lodge_error_set(err, EINVAL, "'%s' is not %s or an %s ADDR/PREFIX", value,
                                       k->names[0].name, family_name(k->family));
        why = p.family == AF_INET ? ipv4_host_problem(&p, p.addr.v4) : NULL;
        if (why)
                return lodge_error_set(err, EINVAL, "'%s' is the %s address of its subnet", value,
                                       why);
        memcpy(s->field, &p, sizeof(p));
        set_mode(k, s, n->value); /* the terminator's: static */
        return 0;
}

static int store_mode_string(const struct conf_key *k, const struct slot *s, const char *value,
                             struct lodge_error **err)
{
        char **p = s->field;
        const struct conf_name *n;
        int r;

        for (n = k->names; n->name; n++)
                if (strcmp(value, n->name) == 0) {
                        free(*p);
                        *p = NULL;
                        set_mode(k, s, n->value);
                        return 0;
                }
        r = store_string(k, s, value, err);
        if (r < 0)
                return r;
        set_mode(k, s, n->value);
        return 0;
}

/* "BASE:COUNT": guest ids 0..COUNT-1 are host ids BASE..BASE+COUNT-1, all
 * below 4294967295 ((uid_t)-1), and BASE 0 would map the host's root. */
static int store_idmap(const struct conf_key *k, const struct slot *s, const char *value,
                       struct lodge_error **err)
{
        const char *colon = strchr(value, ':');
        uint64_t base, count;
        char base_s[24];
        int rb, rc;

        if (!colon || (size_t)(colon - value) >= sizeof(base_s))
                return lodge_error_set(err, EINVAL, "'%s' is not BASE:COUNT", value);
        memcpy(base_s, value, (size_t)(colon - value));
        base_s[colon - value] = '\0';
        rb = parse_u64_range(base_s, 0, UINT32_MAX, &base);
        rc = parse_u64_range(colon + 1, 1, UINT32_MAX, &count);
        if (rb == -EINVAL || rc == -EINVAL)
                return lodge_error_set(err, EINVAL, "'%s' is not BASE:COUNT", value);
        if (rc < 0)
                return lodge_error_set(err, EINVAL, "'%s' has a COUNT out of range 1..4294967295",
                                       value);
        if (rb == 0 && base == 0)
                return lodge_error_set(err, EINVAL, "'%s' would map the host's root user (BASE 0)",
                                       value);
        if (rb < 0 || base > UINT32_MAX - count)
                return lodge_error_set(err, EINVAL, "'%s' goes past the last id 4294967294", value);
        *(uint32_t *)s->field = (uint32_t)base;
        *(uint32_t *)(s->base + k->aux) = (uint32_t)count;
        set_has(k, s);
        return 0;
}

/* Names separated by spaces and/or commas. A set key always gives a non-NULL
 * list, so an empty "security.caps.keep" (keep none) differs from unset. */
static int store_caps(const struct conf_key *k, const struct slot *s, const char *value,
                      struct lodge_error **err)
{
        cleanup_strv char **caps = calloc(1, sizeof(char *));
        cleanup_free char *buf = strdup(value);
        char *save = NULL;

        if (!caps || !buf)
                return lodge_error_set(err, ENOMEM, "out of memory");
        for (char *t = strtok_r(buf, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
                char *name = NULL;
                int r;

                r = config_cap_normalize(t, &name);
                if (r == -ENOMEM)
                        return lodge_error_set(err, ENOMEM, "out of memory");
                if (r < 0)
                        return lodge_error_set(err, EINVAL, "'%s' is not a capability", t);
                if (strv_contains(caps, name)) {
                        free(name);
                        return lodge_error_set(err, EINVAL, "'%s' is listed twice", t);
                }
                if (strv_push(&caps, name) < 0) {
                        free(name);
                        return lodge_error_set(err, ENOMEM, "out of memory");
                }
        }
        if (!caps[0] && value[0])
                return lodge_error_set(err, EINVAL, "'%s' names no capability", value);
        strv_free(*(char ***)s->field);
        *(char ***)s->field = TAKE_PTR(caps);
        return 0;
}

static int store_env(const struct conf_key *k, const struct slot *s, const char *value,
                     struct lodge_error **err)
{
        char ***env = s->field;
        struct conf_build *b = s->b;
        char *entry = NULL;

        /* Grown geometrically: a file may hold tens of thousands of these. */
        if (b->n_env + 1 >= b->env_cap) {
                size_t cap = b->env_cap ? b->env_cap * 2 : 8;
                char **l = realloc(*env, cap * sizeof(char *));

                if (!l)
                        return lodge_error_set(err, ENOMEM, "out of memory");
                l[b->n_env] = NULL;
                *env = l;
                b->env_cap = cap;
        }
        if (asprintf(&entry, "%s=%s", s->key + strlen(ENV_PREFIX), value) < 0)
                return lodge_error_set(err, ENOMEM, "out of memory");
        (*env)[b->n_env++] = entry;
        (*env)[b->n_env] = NULL;
        return 0;
}

typedef int (*store_fn)(const struct conf_key *k, const struct slot *s, const char *value,
                        struct lodge_error **err);

static const store_fn stores[] = {
        [T_STRING] = store_string,
        [T_BOOL] = store_bool,
        [T_INT] = store_int,
        [T_UINT] = store_uint,
        [T_SIZE] = store_size,
        [T_CPU] = store_cpu,
        [T_RATE] = store_rate,
        [T_SIGNAL] = store_signal,
        [T_ENUM] = store_enum,
        [T_HWADDR] = store_hwaddr,
        [T_IPADDR] = store_ipaddr,
        [T_IPPREFIX] = store_ipprefix,
        [T_MODE_STRING] = store_mode_string,
        [T_IDMAP] = store_idmap,
        [T_CAPS] = store_caps,
        [T_ENV] = store_env,
};

static char *slot_base(struct lodge_config *cfg, const struct conf_key *k, unsigned index)
{
        return k->scope == SCOPE_NET ? (char *)&cfg->net[index] : (char *)cfg;
}

static void *slot_field(struct lodge_config *cfg, const struct conf_key *k, unsigned index)
{
        return slot_base(cfg, k, index) + k->offset +
               (k->scope == SCOPE_ARRAY ? index * k->width : 0);
}

int config_store(struct lodge_config *cfg, const struct conf_key *k, unsigned index,
                 const char *key, const char *value, struct conf_build *b, struct lodge_error **err)
{
        struct slot s = {
                .key = key,
                .base = slot_base(cfg, k, index),
                .field = slot_field(cfg, k, index),
                .b = b,
        };

        if (!value[0] && !k->allow_empty)
                return lodge_error_set(err, EINVAL, "value is empty");
        /* A newline or carriage return here would forge lines when the
         * value is written out or logged (CVE-2026-23953). */
        for (const unsigned char *p = (const unsigned char *)value; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return lodge_error_set(err, EINVAL, "value contains a control character");
        return stores[k->type](k, &s, value, err);
}

void config_free_fields(struct lodge_config *cfg)
{
        for (size_t i = 0; i < ELEMENTSOF(conf_keys); i++) {
                const struct conf_key *k = &conf_keys[i];
                unsigned n = k->scope == SCOPE_NET     ? LODGE_CONFIG_MAX_NET
                             : k->scope == SCOPE_ARRAY ? k->nmax
                                                       : 1;

                for (unsigned idx = 0; idx < n; idx++) {
                        void *field = slot_field(cfg, k, idx);

                        if (k->type == T_STRING || k->type == T_MODE_STRING) {
                                free(*(char **)field);
                                *(char **)field = NULL;
                        } else if (k->type == T_CAPS || k->type == T_ENV) {
                                strv_free(*(char ***)field);
                                *(char ***)field = NULL;
                        }
                }
        }
}

/* The rules of one net.N.* line against the typed config. name_seen marks
 * the net.M.name keys on earlier lines, so a clash is reported on the later. */
static int check_net_line(const struct lodge_config *cfg, const struct conf_key *k, unsigned idx,
                          const struct conf_line *l, bool name_seen[], struct lodge_error **err)
{
        const struct lodge_config_net *n = &cfg->net[idx];

        if (n->type == LODGE_NET_UNSET)
                return lodge_error_set(err, EINVAL, "key '%s': requires 'net.%u.type'", l->key,
                                       idx);
        if (is_pattern(k, "net.N.link") && n->type == LODGE_NET_NONE)
                return lodge_error_set(err, EINVAL,
                                       "key '%s': can't be used with 'net.%u.type = none'", l->key,
                                       idx);
        if (is_pattern(k, "net.N.ipv4.gateway")) {
                uint32_t mask = ipv4_mask(n->ipv4.prefixlen);
                uint32_t gw = ntohl(n->ipv4_gateway.addr.v4.s_addr);
                uint32_t addr = ntohl(n->ipv4.addr.v4.s_addr);

                if (n->ipv4_mode != LODGE_ADDR_STATIC)
                        return lodge_error_set(err, EINVAL,
                                               "key '%s': requires a static 'net.%u.ipv4'", l->key,
                                               idx);
                if ((gw & mask) != (addr & mask))
                        return lodge_error_set(
                                err, EINVAL,
                                "key '%s': '%s' is outside the subnet of 'net.%u.ipv4'", l->key,
                                l->value, idx);
                if (gw == addr || ipv4_host_problem(&n->ipv4, n->ipv4_gateway.addr.v4))
                        return lodge_error_set(err, EINVAL,
                                               "key '%s': '%s' is not a host of its subnet other "
                                               "than 'net.%u.ipv4'",
                                               l->key, l->value, idx);
        }
        if (is_pattern(k, "net.N.name")) {
                for (unsigned m = 0; m < LODGE_CONFIG_MAX_NET; m++)
                        if (m != idx && name_seen[m] && strcmp(cfg->net[m].name, n->name) == 0)
                                return lodge_error_set(err, EINVAL,
                                                       "key '%s': '%s' is already used by "
                                                       "'net.%u.name'",
                                                       l->key, n->name, m);
                name_seen[idx] = true;
        }
        return 0;
}

int config_check_cross(const struct lodge_config *cfg, const struct lodge_config_doc *doc,
                       size_t *ret_line, struct lodge_error **err)
{
        bool name_seen[LODGE_CONFIG_MAX_NET] = { false };
        const char *caps_seen = NULL;

        /* In file order, so the first line at fault is the one reported. */
        for (size_t i = 0; i < doc->n_lines; i++) {
                const struct conf_line *l = &doc->lines[i];
                const struct conf_key *k = NULL;
                unsigned idx = 0;
                int r = 0;

                if (l->kind != CONF_LINE_KEY || config_key_resolve(l->key, &k, &idx, NULL) < 0)
                        continue;
                assert(k);
                if (k->scope == SCOPE_NET && !is_pattern(k, "net.N.type"))
                        r = check_net_line(cfg, k, idx, l, name_seen, err);
                else if (k->type == T_CAPS) {
                        if (caps_seen)
                                r = lodge_error_set(err, EINVAL,
                                                    "key '%s': can't be combined with '%s'", l->key,
                                                    caps_seen);
                        caps_seen = k->pattern;
                }
                if (r < 0) {
                        *ret_line = i;
                        return r;
                }
        }
        return 0;
}
