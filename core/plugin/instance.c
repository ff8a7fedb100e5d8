/*
 * instance.c - creating, sharing and destroying plugin instances.
 *
 * create() and destroy() sit at the same place in every kind's vtable,
 * but the four vtables are distinct types, so the calls switch on the
 * kind rather than cast to a shared prefix.
 */
#include "../ftsb_setup.h"

#include "../util/strbuf.h"
#include "config.h"
#include "instance.h"
#include "session.h"

const char *instance_kind_name(int32_t kind)
{
    switch (kind) {
    case FTSB_KIND_BACKEND: return "backend";
    case FTSB_KIND_ATTACK: return "attack";
    case FTSB_KIND_JUDGE: return "judge";
    case FTSB_KIND_METRIC: return "metric";
    }
    return "plugin";
}

struct ftsb_config *instance_config_new(const ftsb_plugin_desc *desc)
{
    char label[160];

    snprintf(label, sizeof label, "%s '%s'", instance_kind_name(desc->kind),
             desc->id);
    return config_new(label, desc->config_keys, desc->n_config_keys);
}

static ftsb_status call_create(const ftsb_plugin_desc *d, ftsb_ctx *ctx,
                               const struct ftsb_config *cfg, void **self)
{
    switch (d->kind) {
    case FTSB_KIND_BACKEND:
        return ((const ftsb_backend_iface *)d->iface)->create(ctx, cfg, self);
    case FTSB_KIND_ATTACK:
        return ((const ftsb_attack_iface *)d->iface)->create(ctx, cfg, self);
    case FTSB_KIND_JUDGE:
        return ((const ftsb_judge_iface *)d->iface)->create(ctx, cfg, self);
    case FTSB_KIND_METRIC:
        return ((const ftsb_metric_iface *)d->iface)->create(ctx, cfg, self);
    }
    return FTSB_E_INTERNAL;
}

static void call_destroy(const ftsb_plugin_desc *d, void *self)
{
    switch (d->kind) {
    case FTSB_KIND_BACKEND:
        ((const ftsb_backend_iface *)d->iface)->destroy(self);
        break;
    case FTSB_KIND_ATTACK:
        ((const ftsb_attack_iface *)d->iface)->destroy(self);
        break;
    case FTSB_KIND_JUDGE:
        ((const ftsb_judge_iface *)d->iface)->destroy(self);
        break;
    case FTSB_KIND_METRIC:
        ((const ftsb_metric_iface *)d->iface)->destroy(self);
        break;
    }
}

/* The plugin's own fingerprint when it has one, else id@version plus the
 * canonical configuration: two instances answer alike exactly when these
 * are equal. */
static ftsb_status compute_fingerprint(struct instance *inst,
                                       struct ftsb_ctx *ctx)
{
    struct strbuf sb = STRBUF_INIT;
    ftsb_status st = FTSB_OK;
    ftsb_status (*fp)(void *, ftsb_ctx *, ftsb_buf *) = NULL;

    if (inst->kind == FTSB_KIND_BACKEND)
        fp = instance_backend(inst)->fingerprint;
    else if (inst->kind == FTSB_KIND_JUDGE)
        fp = instance_judge(inst)->fingerprint;
    strbuf_addf(&sb, "%s:%s@%s:", instance_kind_name(inst->kind),
                inst->desc->id, inst->desc->version);
    if (fp)
        st = fp(inst->self, ctx, (ftsb_buf *)&sb);
    else
        st = strbuf_addstr(&sb, config_text(inst->cfg));
    if (st) {
        strbuf_release(&sb);
        return st;
    }
    inst->fingerprint = strbuf_detach(&sb, NULL);
    return inst->fingerprint ? FTSB_OK : FTSB_E_NOMEM;
}

static struct instance *instance_alloc(struct session *s,
                                       const ftsb_plugin_desc *desc,
                                       const char *path)
{
    struct instance *inst = calloc(1, sizeof *inst);
    char label[160];

    if (!inst)
        return NULL;
    snprintf(label, sizeof label, "%s '%s'", instance_kind_name(desc->kind),
             desc->id);
    inst->label = strdup(label);
    if (!inst->label) {
        free(inst);
        return NULL;
    }
    inst->refs = 1;
    inst->kind = desc->kind;
    inst->desc = desc;
    inst->path = path;
    inst->session = s;
    return inst;
}

ftsb_status instance_create(struct session *s, const ftsb_plugin_desc *desc,
                            const char *path, struct ftsb_config *cfg,
                            struct instance **out, struct err *err)
{
    struct instance *inst;
    struct ftsb_ctx ctx;
    ftsb_status st;

    if ((st = config_finish(cfg, err))) {
        config_free(cfg);
        return st;
    }
    inst = instance_alloc(s, desc, path);
    if (!inst) {
        config_free(cfg);
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    inst->cfg = cfg;
    ctx_init(&ctx, s, inst->label);
    st = call_create(desc, &ctx, cfg, &inst->self);
    if (st) {
        err_set(err, st, "%s: %s", inst->label,
                ctx.err.msg[0] ? ctx.err.msg : ftsb_status_str(st));
        ctx_release(&ctx);
        inst->self = NULL;
        inst->refs = 0;
        config_free(inst->cfg);
        free(inst->label);
        free(inst);
        return st;
    }
    st = compute_fingerprint(inst, &ctx);
    if (st)
        err_set(err, st, "%s: cannot compute fingerprint: %s", inst->label,
                ctx.err.msg[0] ? ctx.err.msg : ftsb_status_str(st));
    ctx_release(&ctx);
    if (st) {
        instance_unref(inst);
        return st;
    }
    *out = inst;
    return FTSB_OK;
}

ftsb_status instance_adopt(struct instance *parent, void *self,
                           struct instance **out, struct err *err)
{
    struct instance *inst =
        instance_alloc(parent->session, parent->desc, parent->path);
    struct ftsb_ctx ctx;
    ftsb_status st;

    if (!inst) {
        call_destroy(parent->desc, self);
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    /* No configuration of its own: a fine-tuned model is described by the
     * fingerprint its plugin computes (base model plus training). */
    inst->self = self;
    inst->parent = parent;
    instance_ref(parent);
    ctx_init(&ctx, parent->session, inst->label);
    st = compute_fingerprint(inst, &ctx);
    if (st)
        err_set(err, st, "%s: cannot compute fingerprint: %s", inst->label,
                ctx.err.msg);
    ctx_release(&ctx);
    if (st) {
        instance_unref(inst);
        return st;
    }
    *out = inst;
    return FTSB_OK;
}

void instance_ref(struct instance *inst)
{
    inst->refs++;
}

void instance_unref(struct instance *inst)
{
    if (!inst || --inst->refs > 0)
        return;
    call_destroy(inst->desc, inst->self);
    if (inst->parent)
        instance_unref(inst->parent);
    config_free(inst->cfg);
    free(inst->fingerprint);
    free(inst->label);
    free(inst);
}

const char *instance_fingerprint(const struct instance *inst)
{
    return inst->fingerprint ? inst->fingerprint : "";
}
