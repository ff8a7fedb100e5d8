/*
 * config.c - building and reading validated plugin configurations.
 *
 * Values are kept as cJSON nodes, one entry per declared key, so that the
 * accessors are a lookup in a short array and the canonical text (for
 * provenance and cache keys) is the declared keys in declared order.
 * Integers are checked to be exact: a JSON number that is not integral,
 * or too large for a double to hold exactly, is refused for an INT key.
 */
#include "../ftsb_setup.h"

#include <math.h>

#include "../data/dataset.h"
#include "config.h"
#include "instance.h"

struct cfg_entry {
    const ftsb_config_key *key;
    cJSON *value;              /* NULL when neither given nor defaulted */
    int given;
    struct instance *backend;  /* FTSB_CFG_BACKEND */
    struct ftsb_dataset *dataset; /* FTSB_CFG_DATASET */
    void (*release)(void *ud);    /* how to let go of dataset */
    void *release_ud;
    char *str_cache;           /* JSON text for cfg_json */
    const char **strings;      /* FTSB_CFG_STRINGS */
    uint32_t n_strings;
};

struct ftsb_config {
    char *label;
    uint32_t n;
    struct cfg_entry *entries;
    char *text;
};

static const char *type_name(int32_t type)
{
    switch (type) {
    case FTSB_CFG_STRING: return "a string";
    case FTSB_CFG_INT: return "an integer";
    case FTSB_CFG_NUMBER: return "a number";
    case FTSB_CFG_BOOL: return "a boolean";
    case FTSB_CFG_JSON: return "a JSON value";
    case FTSB_CFG_BACKEND: return "a backend";
    case FTSB_CFG_DATASET: return "a dataset or a file path";
    case FTSB_CFG_STRINGS: return "a list of strings";
    }
    return "an unknown type";
}

size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

    if (la >= 63 || lb >= 63)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

struct ftsb_config *config_new(const char *label, const ftsb_config_key *keys,
                               uint32_t n_keys)
{
    struct ftsb_config *cfg = calloc(1, sizeof *cfg);

    if (!cfg)
        return NULL;
    cfg->label = strdup(label);
    cfg->entries = calloc(n_keys ? n_keys : 1, sizeof *cfg->entries);
    if (!cfg->label || !cfg->entries) {
        free(cfg->label);
        free(cfg->entries);
        free(cfg);
        return NULL;
    }
    cfg->n = n_keys;
    for (uint32_t i = 0; i < n_keys; i++)
        cfg->entries[i].key = &keys[i];
    return cfg;
}

static void entry_release(struct cfg_entry *e)
{
    cJSON_Delete(e->value);
    e->value = NULL;
    if (e->backend)
        instance_unref(e->backend);
    e->backend = NULL;
    if (e->release)
        e->release(e->release_ud);
    e->dataset = NULL;
    e->release = NULL;
    e->release_ud = NULL;
    free(e->str_cache);
    e->str_cache = NULL;
    free(e->strings);
    e->strings = NULL;
    e->n_strings = 0;
    e->given = 0;
}

void config_free(struct ftsb_config *cfg)
{
    if (!cfg)
        return;
    for (uint32_t i = 0; i < cfg->n; i++)
        entry_release(&cfg->entries[i]);
    free(cfg->entries);
    free(cfg->label);
    free(cfg->text);
    free(cfg);
}

static struct cfg_entry *find_entry(const struct ftsb_config *cfg,
                                    const char *key)
{
    for (uint32_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->entries[i].key->name, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

/* "judge 'x' has no option 'treshold'; did you mean 'threshold'?" */
static ftsb_status unknown_key(const struct ftsb_config *cfg, const char *key,
                               struct err *err)
{
    struct strbuf sb = STRBUF_INIT;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;

    for (uint32_t i = 0; i < cfg->n; i++) {
        const char *name = cfg->entries[i].key->name;
        size_t d = edit_distance(key, name);

        if (d < best_d) {
            best_d = d;
            best = name;
        }
        strbuf_addf(&sb, "%s%s", i ? ", " : "", name);
    }
    if (best && best_d <= 2)
        err_set(err, FTSB_E_INVALID,
                "%s has no option '%s'; did you mean '%s'?", cfg->label, key,
                best);
    else if (cfg->n)
        err_set(err, FTSB_E_INVALID,
                "%s has no option '%s'; its options are: %s", cfg->label, key,
                sb.buf);
    else
        err_set(err, FTSB_E_INVALID,
                "%s has no option '%s'; it takes no options", cfg->label,
                key);
    strbuf_release(&sb);
    return FTSB_E_INVALID;
}

int32_t config_key_type(const struct ftsb_config *cfg, const char *key,
                        struct err *err)
{
    struct cfg_entry *e = find_entry(cfg, key);

    if (!e) {
        unknown_key(cfg, key, err);
        return 0;
    }
    return e->key->type;
}

static ftsb_status wrong_type(const struct ftsb_config *cfg,
                              const struct cfg_entry *e, const char *why,
                              struct err *err)
{
    return err_set(err, FTSB_E_INVALID, "%s: option '%s' must be %s%s%s",
                   cfg->label, e->key->name, type_name(e->key->type),
                   why ? "; " : "", why ? why : "");
}

/* Exact integers only: a double holds every integer up to 2^53. */
static int json_is_int(const cJSON *v)
{
    double d;

    if (!cJSON_IsNumber(v))
        return 0;
    d = v->valuedouble;
    return isfinite(d) && d == floor(d) && fabs(d) <= 9007199254740992.0;
}

static ftsb_status check_value(const struct ftsb_config *cfg,
                               const struct cfg_entry *e, const cJSON *v,
                               struct err *err)
{
    switch (e->key->type) {
    case FTSB_CFG_STRING:
        return cJSON_IsString(v) ? FTSB_OK : wrong_type(cfg, e, NULL, err);
    case FTSB_CFG_INT:
        if (json_is_int(v))
            return FTSB_OK;
        return wrong_type(cfg, e, cJSON_IsNumber(v) ? "got a fraction" : NULL,
                          err);
    case FTSB_CFG_NUMBER:
        if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
            return FTSB_OK;
        return wrong_type(cfg, e, NULL, err);
    case FTSB_CFG_BOOL:
        return cJSON_IsBool(v) ? FTSB_OK : wrong_type(cfg, e, NULL, err);
    case FTSB_CFG_JSON:
        return FTSB_OK;
    case FTSB_CFG_DATASET:
        return cJSON_IsString(v) ? FTSB_OK : wrong_type(cfg, e, NULL, err);
    case FTSB_CFG_STRINGS: {
        const cJSON *it;

        if (!cJSON_IsArray(v))
            return wrong_type(cfg, e, NULL, err);
        cJSON_ArrayForEach(it, v) if (!cJSON_IsString(it))
            return wrong_type(cfg, e, "an element is not a string", err);
        return FTSB_OK;
    }
    case FTSB_CFG_BACKEND:
        return wrong_type(cfg, e, "create one with ftsb.backend()", err);
    }
    return err_set(err, FTSB_E_INTERNAL, "%s: option '%s' has unknown type %d",
                   cfg->label, e->key->name, (int)e->key->type);
}

static ftsb_status take_entry(struct ftsb_config *cfg, const char *key,
                              struct cfg_entry **out, struct err *err)
{
    struct cfg_entry *e = find_entry(cfg, key);

    if (!e)
        return unknown_key(cfg, key, err);
    if (e->given)
        return err_set(err, FTSB_E_INVALID, "%s: option '%s' is given twice",
                       cfg->label, key);
    *out = e;
    return FTSB_OK;
}

ftsb_status config_put_json(struct ftsb_config *cfg, const char *key,
                            cJSON *value, struct err *err)
{
    struct cfg_entry *e = NULL;
    ftsb_status st;

    if ((st = take_entry(cfg, key, &e, err)) ||
        (st = check_value(cfg, e, value, err))) {
        cJSON_Delete(value);
        return st;
    }
    e->value = value;
    e->given = 1;
    return FTSB_OK;
}

ftsb_status config_put_backend(struct ftsb_config *cfg, const char *key,
                               struct instance *backend, struct err *err)
{
    struct cfg_entry *e = NULL;
    ftsb_status st = take_entry(cfg, key, &e, err);

    if (st)
        return st;
    if (e->key->type != FTSB_CFG_BACKEND || backend->kind != FTSB_KIND_BACKEND)
        return wrong_type(cfg, e, "got a plugin instance of another kind",
                          err);
    instance_ref(backend);
    e->backend = backend;
    e->given = 1;
    return FTSB_OK;
}

ftsb_status config_put_dataset(struct ftsb_config *cfg, const char *key,
                               struct ftsb_dataset *ds,
                               void (*release)(void *ud), void *ud,
                               struct err *err)
{
    struct cfg_entry *e = NULL;
    ftsb_status st = take_entry(cfg, key, &e, err);

    if (st)
        return st;
    if (e->key->type != FTSB_CFG_DATASET)
        return wrong_type(cfg, e, "got a dataset", err);
    e->dataset = ds;
    e->release = release;
    e->release_ud = ud;
    e->given = 1;
    return FTSB_OK;
}

ftsb_status config_put_text(struct ftsb_config *cfg, const char *json,
                            struct err *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1), *it;
    ftsb_status st = FTSB_OK;

    if (!root || !cJSON_IsObject(root)) {
        size_t at = end ? (size_t)(end - json) : 0;

        cJSON_Delete(root);
        return err_set(err, FTSB_E_INVALID,
                       "%s: configuration is not a JSON object (error at "
                       "byte %zu)", cfg->label, at);
    }
    while (st == FTSB_OK && (it = root->child) != NULL) {
        cJSON_DetachItemViaPointer(root, it);
        st = config_put_json(cfg, it->string, it, err);
    }
    cJSON_Delete(root);
    return st;
}

static ftsb_status fill_strings(struct cfg_entry *e)
{
    uint32_t n = (uint32_t)cJSON_GetArraySize(e->value), i = 0;
    const cJSON *it;

    e->strings = calloc(n + 1, sizeof *e->strings);
    if (!e->strings)
        return FTSB_E_NOMEM;
    cJSON_ArrayForEach(it, e->value) e->strings[i++] = it->valuestring;
    e->n_strings = n;
    return FTSB_OK;
}

static void free_loaded_dataset(void *ds)
{
    dataset_free(ds);
}

static ftsb_status finish_entry(struct ftsb_config *cfg, struct cfg_entry *e,
                                struct err *err)
{
    ftsb_status st;

    if (!e->given && !e->value && e->key->def) {
        e->value = cJSON_Parse(e->key->def);
        if (!e->value || check_value(cfg, e, e->value, err))
            return err_set(err, FTSB_E_INTERNAL,
                           "%s: default of option '%s' is not valid: %s",
                           cfg->label, e->key->name, e->key->def);
    }
    if (!e->given && !e->value && e->key->required)
        return err_set(err, FTSB_E_INVALID, "%s: option '%s' is required (%s)",
                       cfg->label, e->key->name,
                       e->key->help ? e->key->help : type_name(e->key->type));
    if (e->key->type == FTSB_CFG_DATASET && e->value && !e->dataset) {
        st = dataset_load(e->value->valuestring, "auto", &e->dataset, err);
        if (st)
            return err_prefix(err, "%s: option '%s'", cfg->label,
                              e->key->name);
        e->release = free_loaded_dataset;
        e->release_ud = e->dataset;
    }
    if (e->key->type == FTSB_CFG_STRINGS && e->value)
        return fill_strings(e);
    return FTSB_OK;
}

static ftsb_status build_text(struct ftsb_config *cfg)
{
    cJSON *root = cJSON_CreateObject();
    ftsb_status st = FTSB_OK;

    if (!root)
        return FTSB_E_NOMEM;
    for (uint32_t i = 0; i < cfg->n && st == FTSB_OK; i++) {
        struct cfg_entry *e = &cfg->entries[i];
        cJSON *v = NULL;
        char tmp[64];

        if (e->backend) {
            v = cJSON_CreateString(instance_fingerprint(e->backend));
        } else if (e->dataset) {
            snprintf(tmp, sizeof tmp, "%llu rows",
                     (unsigned long long)dataset_count(e->dataset));
            v = cJSON_CreateObject();
            if (v && (!cJSON_AddStringToObject(v, "dataset",
                                               dataset_name(e->dataset)) ||
                      !cJSON_AddStringToObject(v, "size", tmp)))
                st = FTSB_E_NOMEM;
        } else if (e->value) {
            v = cJSON_Duplicate(e->value, 1);
        } else {
            continue;
        }
        if (!v || !cJSON_AddItemToObject(root, e->key->name, v))
            st = FTSB_E_NOMEM;
    }
    if (st == FTSB_OK) {
        cfg->text = cJSON_PrintUnformatted(root);
        if (!cfg->text)
            st = FTSB_E_NOMEM;
    }
    cJSON_Delete(root);
    return st;
}

ftsb_status config_finish(struct ftsb_config *cfg, struct err *err)
{
    ftsb_status st;

    for (uint32_t i = 0; i < cfg->n; i++)
        if ((st = finish_entry(cfg, &cfg->entries[i], err)))
            return st;
    if ((st = build_text(cfg)))
        return err_set(err, st, "%s: out of memory building configuration",
                       cfg->label);
    return FTSB_OK;
}

const char *config_text(const struct ftsb_config *cfg)
{
    return cfg && cfg->text ? cfg->text : "{}";
}

int config_has(const struct ftsb_config *cfg, const char *key)
{
    const struct cfg_entry *e = find_entry(cfg, key);

    return e && e->given;
}

const char *config_str(const struct ftsb_config *cfg, const char *key)
{
    const struct cfg_entry *e = find_entry(cfg, key);

    if (e && e->value && cJSON_IsString(e->value))
        return e->value->valuestring;
    return NULL;
}

ftsb_status config_int(const struct ftsb_config *cfg, const char *key,
                       int64_t *out)
{
    const struct cfg_entry *e = find_entry(cfg, key);

    if (!e || !e->value || !json_is_int(e->value))
        return FTSB_E_NOT_FOUND;
    *out = (int64_t)e->value->valuedouble;
    return FTSB_OK;
}

ftsb_status config_num(const struct ftsb_config *cfg, const char *key,
                       double *out)
{
    const struct cfg_entry *e = find_entry(cfg, key);

    if (!e || !e->value || !cJSON_IsNumber(e->value))
        return FTSB_E_NOT_FOUND;
    *out = e->value->valuedouble;
    return FTSB_OK;
}

ftsb_status config_bool(const struct ftsb_config *cfg, const char *key,
                        int *out)
{
    const struct cfg_entry *e = find_entry(cfg, key);

    if (!e || !e->value || !cJSON_IsBool(e->value))
        return FTSB_E_NOT_FOUND;
    *out = cJSON_IsTrue(e->value);
    return FTSB_OK;
}

const char *config_json(const struct ftsb_config *cfg, const char *key)
{
    struct cfg_entry *e = find_entry(cfg, key);

    if (!e || !e->value)
        return NULL;
    if (!e->str_cache)
        e->str_cache = cJSON_PrintUnformatted(e->value);
    return e->str_cache;
}

const char *const *config_strings(const struct ftsb_config *cfg,
                                  const char *key, uint32_t *n)
{
    const struct cfg_entry *e = find_entry(cfg, key);

    if (!e || !e->strings) {
        *n = 0;
        return NULL;
    }
    *n = e->n_strings;
    return e->strings;
}

struct instance *config_backend(const struct ftsb_config *cfg,
                                const char *key)
{
    const struct cfg_entry *e = find_entry(cfg, key);

    return e ? e->backend : NULL;
}

const struct ftsb_dataset *config_dataset(const struct ftsb_config *cfg,
                                          const char *key)
{
    const struct cfg_entry *e = find_entry(cfg, key);

    return e ? e->dataset : NULL;
}
