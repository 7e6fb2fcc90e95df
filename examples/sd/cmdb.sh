#!/bin/sh
# A CMDB hook for muster sd's exec_sd_configs: print target groups as JSON (the file_sd format).
# A real one would query the CMDB's API; this one reads a file, so the example can change it.
exec cat "${CMDB_FILE:-$(dirname "$0")/cmdb.json}"
