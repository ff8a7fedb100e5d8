/*
 * ftsb_setup.h - the first include of every core source file.
 *
 * Sets the feature macros once (POSIX 2008 for getline, pread, mmap,
 * clock_gettime; GNU for memmem and asprintf-free helpers) so that every
 * file sees the same system headers, and pulls in the SDK's public types,
 * which the core shares with its plugins.
 */
#ifndef FTSB_SETUP_H
#define FTSB_SETUP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftsb/ftsb.h>

#define FTSB_VERSION "0.1.0"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* FTSB_SETUP_H */
