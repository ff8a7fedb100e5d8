/*
 * net_host.h - the host table's ABI 1.1 members (secrets, HTTP, wait,
 * SHA-256, ledger), implemented in net_host.c and listed in
 * core/plugin/host.c's table.  Contracts: sdk/include/ftsb/host.h.
 */
#ifndef FTSB_NET_HOST_H
#define FTSB_NET_HOST_H

#include "../ftsb_setup.h"

ftsb_status hnet_secret_open(ftsb_ctx *ctx, const ftsb_secret_spec *spec,
                             ftsb_secret **out);
void hnet_secret_close(ftsb_secret *s);
ftsb_status hnet_client_new(ftsb_ctx *ctx, const ftsb_http_options *opts,
                            ftsb_http_client **out);
void hnet_client_free(ftsb_http_client *c);
ftsb_status hnet_perform(ftsb_http_client *c, ftsb_ctx *ctx,
                         const ftsb_http_request *reqs, uint32_t n,
                         ftsb_http_response *resps, ftsb_http_done_fn done,
                         void *ud);
ftsb_status hnet_wait_ms(ftsb_ctx *ctx, uint32_t ms);
void hnet_sha256_hex(const void *data, size_t len, char out[65]);
ftsb_status hnet_call_begin(ftsb_ctx *ctx, const char *work_key,
                            const char *what, int64_t *call_id);
ftsb_status hnet_call_end(ftsb_ctx *ctx, int64_t call_id,
                          const char *outcome);

#endif /* FTSB_NET_HOST_H */
