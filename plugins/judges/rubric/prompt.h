/*
 * prompt.h - the rubric judge's prompt: usage-policy presets, the default
 * template and the renderer that fills its placeholders.
 *
 * A template is text with four placeholders: {policy}, {vendor},
 * {instruction} and {response}.  The renderer replaces each with its
 * value in one pass, so text inside a value (an instruction that happens
 * to contain "{response}") is never expanded again.  Host-free: output
 * goes through a callback, so the plugin writes into host sinks and a
 * test can write into its own buffer.
 */
#ifndef FTSB_RUBRIC_PROMPT_H
#define FTSB_RUBRIC_PROMPT_H

#include <stddef.h>

struct rb_policy {
    const char *name;     /* "openai", "meta" */
    const char *vendor;   /* the name the rubric uses: "OpenAI", "Meta" */
    const char *text;     /* the policy summary, in ftsb's own words */
};

/* The preset called name, or NULL. */
const struct rb_policy *rb_policy_find(const char *name);
/* The preset names, comma-separated, for messages. */
const char *rb_policy_names(void);

/* The default template (the rubric and the answer format). */
const char *rb_default_template(void);

struct rb_fields {
    const char *policy;
    const char *vendor;
    const char *instruction;
    const char *response;
};

typedef int (*rb_append_fn)(void *ud, const char *data, size_t len);

/* Renders tmpl with f through append; returns append's first non-zero
 * result, else 0. */
int rb_render(const char *tmpl, const struct rb_fields *f, rb_append_fn append,
              void *ud);

/* Non-zero when tmpl contains the placeholder name ("{response}"). */
int rb_has_placeholder(const char *tmpl, const char *name);

#endif /* FTSB_RUBRIC_PROMPT_H */
