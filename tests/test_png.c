/* test_png: screenshots are written to a new temporary file in the target folder and renamed
 * into place (issue 12 class 6): a hard link or symlink at the target is replaced, and the
 * file outside the folder it pointed to stays as it was; a failure leaves no file behind and
 * says why. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "check.h"
#include "render/png.h"

#define W 8
#define H 4

static char root[64], shots[96], outside[96];

static void picture(uint8_t *rgba, uint8_t seed)
{
    for (int i = 0; i < W * H * 4; i++)
        rgba[i] = (uint8_t)(seed + i * 7);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static bool file_is(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strcmp(buf, text) == 0;
}

/* The PNG at `path` holds exactly the picture made with `seed`. */
static bool png_is(const char *path, uint8_t seed)
{
    uint8_t want[W * H * 4];
    picture(want, seed);
    struct vw_errors errs;
    vw_errors_init(&errs);
    int w = 0, h = 0;
    uint8_t *got = vw_png_read(path, &w, &h, &errs);
    bool ok = got && w == W && h == H && memcmp(got, want, sizeof want) == 0;
    if (!got)
        fprintf(stderr, "  %s: %s\n", path, vw_errors_first(&errs));
    free(got);
    vw_errors_finish(&errs);
    return ok;
}

/* Entries of the screenshot folder other than `keep...` (NULL-terminated): leftovers. */
static int leftovers(const char *const *keep)
{
    DIR *d = opendir(shots);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        bool kept = false;
        for (const char *const *k = keep; *k; k++)
            kept |= strcmp(e->d_name, *k) == 0;
        if (!kept) {
            fprintf(stderr, "  left in the folder: %s\n", e->d_name);
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
}

static bool shot(const char *name, uint8_t seed, struct vw_errors *errs)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", shots, name);
    uint8_t rgba[W * H * 4];
    picture(rgba, seed);
    return vw_png_write(path, rgba, W, H, errs);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/vwall-png-XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(shots, sizeof shots, "%s/shots", root);
    snprintf(outside, sizeof outside, "%s/precious.txt", root);
    CHECK(mkdir(shots, 0755) == 0);
    write_text(outside, "precious, outside the screenshot folder\n");
    char path[160];
    struct vw_errors errs;
    vw_errors_init(&errs);

    /* A plain screenshot, then one over it. */
    CHECK(shot("a.png", 1, &errs));
    snprintf(path, sizeof path, "%s/a.png", shots);
    CHECK(png_is(path, 1));
    struct stat st;
    mode_t um = umask(0);
    umask(um);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0644 & ~um));
    CHECK(shot("a.png", 2, &errs));
    CHECK(png_is(path, 2));

    /* A hard link in the folder to a file outside it: the link is replaced by the picture,
     * the file outside keeps its bytes. */
    snprintf(path, sizeof path, "%s/linked.png", shots);
    CHECK(link(outside, path) == 0);
    CHECK(shot("linked.png", 3, &errs));
    CHECK(file_is(outside, "precious, outside the screenshot folder\n"));
    CHECK(png_is(path, 3));
    CHECK(stat(outside, &st) == 0 && st.st_nlink == 1);

    /* A symlink: replaced by a regular file, the target untouched. */
    snprintf(path, sizeof path, "%s/sym.png", shots);
    CHECK(symlink(outside, path) == 0);
    CHECK(shot("sym.png", 4, &errs));
    CHECK(file_is(outside, "precious, outside the screenshot folder\n"));
    CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(png_is(path, 4));
    CHECK(!vw_errors_any(&errs));

    /* A folder in the way: an error that says why, and no temporary file left. */
    snprintf(path, sizeof path, "%s/dir.png", shots);
    CHECK(mkdir(path, 0755) == 0);
    CHECK(!shot("dir.png", 5, &errs));
    fprintf(stderr, "  folder in the way: %s\n", vw_errors_first(&errs));
    CHECK(strstr(vw_errors_first(&errs), "dir.png: ") != NULL);
    CHECK(strstr(vw_errors_first(&errs), "directory") != NULL);
    vw_errors_finish(&errs);
    vw_errors_init(&errs);

    /* A folder that does not exist: the error names the path and the reason. */
    CHECK(!shot("no-such-folder/b.png", 6, &errs));
    fprintf(stderr, "  missing folder: %s\n", vw_errors_first(&errs));
    CHECK(strstr(vw_errors_first(&errs), "No such file or directory") != NULL);
    vw_errors_finish(&errs);

    const char *keep[] = {"a.png", "linked.png", "sym.png", "dir.png", NULL};
    CHECK(leftovers(keep) == 0);

    const char *names[] = {"a.png", "linked.png", "sym.png"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", shots, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/dir.png", shots);
    rmdir(path);
    rmdir(shots);
    unlink(outside);
    rmdir(root);
    return check_summary("test_png");
}
