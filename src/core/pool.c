/*
 * Threads for one job: started at the call, joined before it returns. The
 * library keeps no pool between calls, so it has no global state to guard
 * and shares the process politely with NumPy's BLAS, faiss or Numba, which
 * bring their own runtimes; creating two threads costs tens of microseconds,
 * nothing beside a job worth threading.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "internal.h"

typedef struct start {
    void (*fn)(void *, int);
    void *arg;
    int tid;
} start;

static void *trampoline(void *p)
{
    start *s = p;
    s->fn(s->arg, s->tid);
    return NULL;
}

int sl__run(int threads, void (*fn)(void *arg, int tid), void *arg)
{
    if (threads < 1)
        threads = 1;
    if (threads > 256)
        threads = 256;
    pthread_t th[256];
    start st[256];
    int started = 1;
    for (int t = 1; t < threads; t++, started++) {
        st[t] = (start){fn, arg, t};
        if (pthread_create(&th[t], NULL, trampoline, &st[t]) != 0)
            break; /* fewer threads is slower, not wrong */
    }
    fn(arg, 0);
    for (int t = 1; t < started; t++)
        pthread_join(th[t], NULL);
    return started;
}
