/*
 * ftsb/macros.h - export and linkage macros shared by every SDK header.
 *
 * A plugin library exports exactly one symbol, its entry function, marked
 * FTSB_EXPORT; everything else is built with -fvisibility=hidden (the CMake
 * helper in sdk/cmake/ and the version script sdk/ftsb_plugin.map do this).
 */
#ifndef FTSB_MACROS_H
#define FTSB_MACROS_H

#if defined(_WIN32)
#define FTSB_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define FTSB_EXPORT __attribute__((visibility("default")))
#else
#define FTSB_EXPORT
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FTSB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define FTSB_PRINTF(fmt, args)
#endif

#ifdef __cplusplus
#define FTSB_BEGIN_DECLS extern "C" {
#define FTSB_END_DECLS }
#else
#define FTSB_BEGIN_DECLS
#define FTSB_END_DECLS
#endif

#endif /* FTSB_MACROS_H */
