/* The preload test programs' check: prints the failed condition with its line and errno, counts
 * it in `failures`, and goes on (the program exits 1 at the end if any failed). */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                                                      \
    do {                                                                                                 \
        if (!(cond)) {                                                                                   \
            printf("FAIL %s:%d: %s (errno %d %s)\n", __FILE__, __LINE__, #cond, errno, strerror(errno)); \
            ++failures;                                                                                  \
        }                                                                                                \
    } while (0)
