/*
 * perf_http.c - requests per second and client CPU per request of the
 * core's HTTP client against the mock server, at concurrency 1, 16 and
 * 64, with small bodies (issue 5's speed targets: >= 1000 requests/s at
 * 64, <= 0.2 ms of client CPU per request).  Not a test (timings are
 * not reproducible on a shared machine); run it by hand:
 *
 *     perf_http MOCK_BIN [N]        # N requests per concurrency level
 *
 * The ledger is off here (it costs an fsync per commit, which measures
 * the disk, not the client); with STORE=path set, every request goes
 * through the ledger and the kept bodies as the openai backend sends it.
 */
#include "../../core/ftsb_setup.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/net/net.h"
#include "../../core/store/store.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    static const uint32_t levels[] = {1, 16, 64};
    uint32_t n = argc > 2 ? (uint32_t)atoi(argv[2]) : 5000;
    char port_file[] = "/tmp/ftsb-perf-port-XXXXXX", url[128];
    const char *store_path = getenv("STORE");
    struct store *store = NULL;
    struct err err;
    int fd, port = 0;
    pid_t pid;

    if (argc < 2 || n == 0) {
        fprintf(stderr, "usage: perf_http MOCK_BIN [N]\n");
        return 2;
    }
    fd = mkstemp(port_file);
    close(fd);
    unlink(port_file);
    pid = fork();
    if (pid == 0) {
        execl(argv[1], argv[1], "--port-file", port_file, "--max-requests",
              "100000000", "--max-seconds", "600", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && !port; i++) {
        FILE *f = fopen(port_file, "r");

        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        usleep(10000);
    }
    if (!port) {
        fprintf(stderr, "perf_http: the mock did not start\n");
        return 1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat/completions",
             port);
    setenv("NO_PROXY", "*", 1);
    err_clear(&err);
    if (store_path && store_open(store_path, &store, &err)) {
        fprintf(stderr, "perf_http: %s\n", err.msg);
        return 1;
    }
    printf("%-12s %10s %12s %14s\n", "concurrency", "requests", "requests/s",
           "CPU ms/request");
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        ftsb_http_options o;
        struct ftsb_http_client *c = NULL;
        ftsb_http_request *req = calloc(n, sizeof *req);
        ftsb_http_response *resp = calloc(n, sizeof *resp);
        struct strbuf *bufs = calloc(2 * (size_t)n, sizeof *bufs);
        char (*bodies)[160] = calloc(n, sizeof *bodies);
        struct net_env env = {store, NULL, "perf"};
        double t0, c0;
        uint32_t ok = 0;

        memset(&o, 0, sizeof o);
        o.struct_size = sizeof o;
        o.max_concurrency = levels[l];
        if (!req || !resp || !bufs || !bodies ||
            net_client_new(&o, &c, &err)) {
            fprintf(stderr, "perf_http: cannot set up\n");
            return 1;
        }
        for (uint32_t i = 0; i < n; i++) {
            /* distinct bodies, so kept answers never short-cut */
            snprintf(bodies[i], sizeof bodies[i],
                     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                     "\"content\":\"q%u-%zu\"}]}", i, l);
            req[i] = (ftsb_http_request){sizeof req[i], "POST", url, NULL,
                                         bodies[i], strlen(bodies[i]), NULL,
                                         0, store ? FTSB_HTTP_KEEP : 0, NULL,
                                         "chat", 0};
            strbuf_init(&bufs[2 * i]);
            strbuf_init(&bufs[2 * i + 1]);
            resp[i] = (ftsb_http_response){sizeof resp[i], 0, 0, 0, 0,
                                           (ftsb_buf *)&bufs[2 * i],
                                           (ftsb_buf *)&bufs[2 * i + 1], 0};
        }
        t0 = now_s();
        c0 = cpu_s();
        if (net_perform(c, &env, req, n, resp, NULL, NULL, &err))
            fprintf(stderr, "perf_http: %s\n", err.msg);
        t0 = now_s() - t0;
        c0 = cpu_s() - c0;
        for (uint32_t i = 0; i < n; i++) {
            ok += resp[i].outcome == FTSB_HTTP_OK;
            strbuf_release(&bufs[2 * i]);
            strbuf_release(&bufs[2 * i + 1]);
        }
        printf("%-12u %10u %12.0f %14.4f%s\n", levels[l], n, ok / t0,
               1000 * c0 / n, ok == n ? "" : "  (failures!)");
        net_client_free(c);
        free(req);
        free(resp);
        free(bufs);
        free(bodies);
    }
    store_close(store);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return 0;
}
