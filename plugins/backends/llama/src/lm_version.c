/*
 * lm_version.c - the engine's version string, recorded in provenance.
 */
const char *lm_engine_version(void);

const char *lm_engine_version(void)
{
    return "0.1.0";
}
