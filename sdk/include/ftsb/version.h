/*
 * ftsb/version.h - ABI version numbers and the build signature.
 *
 * The ABI version is (major << 16) | minor.  The host loads a plugin when
 * the majors are equal and the plugin's minor is not newer than the host's
 * minor; anything else is refused before the plugin's code is called beyond
 * its entry function.  A new minor only appends members to structs and
 * tables; a new major may change anything.  The changelog is sdk/ABI.md.
 *
 * The build signature records the few compiler choices that change struct
 * layout (pointer and size_t width).  It must equal the host's.
 */
#ifndef FTSB_VERSION_H
#define FTSB_VERSION_H

#define FTSB_ABI_MAJOR 1
#define FTSB_ABI_MINOR 2
#define FTSB_ABI_VERSION ((FTSB_ABI_MAJOR << 16) | FTSB_ABI_MINOR)

#define FTSB_ABI_VERSION_MAJOR(v) ((unsigned)(v) >> 16)
#define FTSB_ABI_VERSION_MINOR(v) ((unsigned)(v) & 0xffffu)

#define FTSB_STRINGIFY_(x) #x
#define FTSB_STRINGIFY(x) FTSB_STRINGIFY_(x)

/* "p8z8": sizeof(void *) == 8, sizeof(size_t) == 8. */
#define FTSB_BUILD_SIGNATURE \
    "p" FTSB_STRINGIFY(__SIZEOF_POINTER__) "z" FTSB_STRINGIFY(__SIZEOF_SIZE_T__)

#endif /* FTSB_VERSION_H */
