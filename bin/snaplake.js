#!/bin/sh
":" //; [ "$SNAPLAKE_MALLOC" = system ] || export GLIBC_TUNABLES="glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}"; exec node "$0" "$@"
/**
 * The `snaplake` command. The line above is for sh, which runs this file first: it starts node on this same
 * file with glibc's allocator tunables set (src/allocator.ts says why; the environment's own GLIBC_TUNABLES
 * come after, so they win; SNAPLAKE_MALLOC=system sets none). `exec` keeps the process id: no wrapper
 * process, so signals and exit codes are node's own. node reads that line as a string and a comment.
 */
import "../dist/cli/main.js";
