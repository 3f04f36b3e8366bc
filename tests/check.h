/* check: the smallest test harness that can fail. CHECK records a failure with file:line and
 * goes on; check_summary prints "name: N passed, M failed" and gives the exit status. */
#ifndef VW_TEST_CHECK_H
#define VW_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            check_passed++;                                                          \
        } else {                                                                     \
            check_failed++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double a_ = (a), b_ = (b);                                                         \
        if (fabs(a_ - b_) <= (tol)) {                                                      \
            check_passed++;                                                                \
        } else {                                                                           \
            check_failed++;                                                                \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %g, expected %s = %g (±%g)\n", \
                    __FILE__, __LINE__, #a, a_, #b, b_, (double)(tol));                    \
        }                                                                                  \
    } while (0)

#define CHECK_STR(a, b)                                                                          \
    do {                                                                                         \
        const char *a_ = (a), *b_ = (b);                                                         \
        if (a_ && b_ && strcmp(a_, b_) == 0) {                                                   \
            check_passed++;                                                                      \
        } else {                                                                                 \
            check_failed++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s = \"%s\", expected \"%s\"\n", __FILE__, \
                    __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                       \
        }                                                                                        \
    } while (0)

static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return (check_failed || !check_passed) ? 1 : 0;
}

#endif
