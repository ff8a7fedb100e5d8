/*
 * fuzz_dataset.c - fuzzes the dataset readers through dataset_stream_mem.
 * The first byte picks the format (and, with its top bit, a small record
 * limit); the rest is the file.  Beyond "no crash", it checks what must
 * always hold: a failure names the input in its message, every row a
 * reader accepts is accepted by dataset_add (the readers validate at
 * least as much), the syntax checker rejects all that cJSON rejects, and
 * rows written in jsonl and in the input's own format read back with the
 * fields that format keeps.
 */
#include "ftsb_setup.h"

#include "data/dataset.h"
#include "util/err.h"
#include "util/strbuf.h"

static const struct {
    const char *format, *name, *write_as;
} modes[] = {
    { "chat", "f.jsonl", "chat" },     { "jsonl", "f.jsonl", "jsonl" },
    { "dolly", "f.jsonl", "dolly" },   { "alpaca", "f.json", "alpaca" },
    { "csv", "category_1.csv", "csv" }, { "csv:goal", "f.csv", "csv:goal" },
    { "auto", "f.jsonl", "jsonl" },    { "auto", "f.json", "alpaca" },
    { "auto", "f.csv", "csv" },
};

static void require(int cond)
{
    if (!cond)
        __builtin_trap();
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* csv:COLUMN reads an empty category cell as no category. */
static int same_category(const char *a, const char *b)
{
    return same(a && *a ? a : NULL, b && *b ? b : NULL);
}

static int same_chat(const ftsb_example *a, const ftsb_example *b)
{
    if (a->chat.n_messages != b->chat.n_messages)
        return 0;
    for (uint32_t i = 0; i < a->chat.n_messages; i++)
        if (!same(a->chat.messages[i].role, b->chat.messages[i].role) ||
            !same(a->chat.messages[i].content, b->chat.messages[i].content))
            return 0;
    return 1;
}

static int survives(const char *fmt, const ftsb_example *a,
                    const ftsb_example *b)
{
    if (strcmp(fmt, "jsonl") == 0)
        return same(a->id, b->id) && same(a->instruction, b->instruction) &&
               same(a->input, b->input) && same(a->response, b->response) &&
               same(a->category, b->category) && same_chat(a, b);
    if (strcmp(fmt, "chat") == 0)
        return a->chat.n_messages ? same_chat(a, b)
                                  : same(a->response, b->response);
    if (strcmp(fmt, "alpaca") == 0)
        return same(a->instruction, b->instruction) &&
               same(a->input, b->input) && same(a->response, b->response);
    if (strcmp(fmt, "dolly") == 0)
        return same(a->instruction, b->instruction) &&
               same(a->input, b->input) && same(a->response, b->response) &&
               same(a->category, b->category);
    if (strcmp(fmt, "csv:goal") == 0)
        return same(a->instruction, b->instruction) &&
               same_category(a->category, b->category);
    return same(a->instruction, b->instruction);
}

static ftsb_status add_row(void *ud, const ftsb_example *ex, struct err *err)
{
    ftsb_status st = dataset_add_err(ud, ex, err);

    require(st != FTSB_E_INVALID);
    return st;
}

static void round_trip(const struct ftsb_dataset *ds, const char *fmt,
                       const char *name)
{
    struct strbuf text = STRBUF_INIT;
    struct ftsb_dataset *back = dataset_new(name);
    struct err e = { 0 };
    ftsb_status st;

    if (!back)
        return;
    st = dataset_save_mem(ds, fmt, &text, &e);
    /* csv, alpaca and dolly rows need an instruction; chat-only rows
     * without a user turn have none. */
    require(st == FTSB_OK || st == FTSB_E_INVALID);
    if (st == FTSB_OK) {
        st = dataset_stream_mem(text.buf, text.len, name, fmt, add_row, back,
                                &e);
        require(st == FTSB_OK);
    }
    if (st == FTSB_OK) {
        require(dataset_count(back) == dataset_count(ds));
        for (uint64_t i = 0; i < dataset_count(ds); i++)
            require(survives(fmt, dataset_get(ds, i), dataset_get(back, i)));
    }
    dataset_free(back);
    strbuf_release(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data + 1;
    struct ftsb_dataset *ds;
    struct err e = { 0 };
    ftsb_status st;
    size_t m;

    if (size < 1)
        return 0;
    m = data[0] % (sizeof modes / sizeof modes[0]);
    ds = dataset_new(modes[m].name);
    if (!ds)
        return 0;
    dataset_set_max_record(data[0] & 0x80 ? 256 : 0);
    st = dataset_stream_mem(text, size - 1, modes[m].name, modes[m].format,
                            add_row, ds, &e);
    dataset_set_max_record(0);
    /* Inputs are tiny, so FTSB_E_NOMEM would mean cJSON failed on text
     * jscan accepted: the two must agree. */
    require(st == FTSB_OK || st == FTSB_E_FORMAT);
    if (st == FTSB_E_FORMAT)
        require(strncmp(e.msg, modes[m].name, strlen(modes[m].name)) == 0 &&
                e.msg[strlen(modes[m].name)] == ':');
    if (st == FTSB_OK) {
        round_trip(ds, "jsonl", "rt.jsonl");
        round_trip(ds, modes[m].write_as, "rt");
    }
    dataset_free(ds);
    return 0;
}
