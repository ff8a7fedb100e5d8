/*
 * ftsb/status.h - status codes returned by every fallible SDK function.
 *
 * FTSB_OK is 0; errors are positive.  Values are stable: a code is never
 * renumbered or reused.  A retired code keeps its number under the name
 * FTSB_E_OBSOLETE_<n>.  host->status_str(code) gives a short static text;
 * the detailed message of a failure is recorded with host->fail().
 */
#ifndef FTSB_STATUS_H
#define FTSB_STATUS_H

#include <stdint.h>

typedef int32_t ftsb_status;

#define FTSB_OK 0
#define FTSB_E_INTERNAL 1    /* a bug: a broken invariant */
#define FTSB_E_NOMEM 2       /* an allocation failed */
#define FTSB_E_INVALID 3     /* bad argument or configuration */
#define FTSB_E_IO 4          /* a file could not be read or written */
#define FTSB_E_FORMAT 5      /* malformed input data */
#define FTSB_E_UNSUPPORTED 6 /* valid input this plugin does not handle */
#define FTSB_E_NOT_FOUND 7   /* a named thing does not exist */
#define FTSB_E_ABI 8         /* plugin and host are not compatible */
#define FTSB_E_NETWORK 9     /* a transfer failed after its retries */
#define FTSB_E_AUTH 10       /* the provider refused our credentials */
#define FTSB_E_BUDGET 11     /* a configured token, cost or time budget ran out */
#define FTSB_E_CANCELLED 12  /* the user interrupted the work */
#define FTSB_E_PROVIDER 13   /* a remote service reported a failure */

#endif /* FTSB_STATUS_H */
