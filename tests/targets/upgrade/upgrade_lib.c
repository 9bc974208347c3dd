/* The library of upgrade_app, built twice (RELEASE "A" and "B"). */
const char *library_release(void) { return RELEASE; }
