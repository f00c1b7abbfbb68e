#define _POSIX_C_SOURCE 200809L
/*
 * Replays the fuzz corpora and regressions without libFuzzer, so every
 * build (and ctest) runs each harness over fuzz/corpus/NAME and
 * fuzz/regress/NAME. The harnesses are compiled a second time with
 * LLVMFuzzerTestOneInput renamed (see CMakeLists.txt).
 *
 * usage: fuzz_replay FUZZ_DIR
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sl_fuzz_npy(const uint8_t *data, size_t size);
int sl_fuzz_vecs(const uint8_t *data, size_t size);

static const struct {
    const char *name;
    int (*fn)(const uint8_t *, size_t);
} harness[] = {{"npy", sl_fuzz_npy}, {"vecs", sl_fuzz_vecs}};

static int replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t), int *count)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return 0; /* an empty regression set may not exist yet */
    struct dirent *e;
    int bad = 0;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "fuzz_replay: %s: cannot open\n", path);
            bad = 1;
            continue;
        }
        size_t cap = 4096, len = 0, r;
        uint8_t *buf = malloc(cap);
        while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
            len += r;
            if (len == cap) {
                uint8_t *nb = realloc(buf, cap *= 2);
                if (!nb)
                    free(buf);
                buf = nb;
            }
        }
        fclose(f);
        if (!buf) {
            fprintf(stderr, "fuzz_replay: %s: out of memory\n", path);
            return 1;
        }
        /* An exactly sized copy, as libFuzzer gives, so overreads are caught. */
        uint8_t *exact = malloc(len ? len : 1);
        if (exact) {
            memcpy(exact, buf, len);
            fn(exact, len);
        }
        free(exact);
        free(buf);
        (*count)++;
    }
    closedir(dp);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_replay FUZZ_DIR\n");
        return 2;
    }
    int bad = 0;
    for (size_t h = 0; h < sizeof harness / sizeof harness[0]; h++) {
        int count = 0;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/corpus/%s", argv[1], harness[h].name);
        bad |= replay_dir(dir, harness[h].fn, &count);
        snprintf(dir, sizeof dir, "%s/regress/%s", argv[1], harness[h].name);
        bad |= replay_dir(dir, harness[h].fn, &count);
        printf("%s: %d inputs replayed\n", harness[h].name, count);
        if (count == 0)
            bad = 1; /* a missing corpus would make this test pass vacuously */
    }
    return bad;
}
