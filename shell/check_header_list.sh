#!/usr/bin/env bash
# Fails when a header in include/rootd is missing from header_check.cpp's
# include list (or the list names one that is gone), so a new public header
# cannot escape the freestanding check.
set -u
dir=$1 check=$2
in_dir=$(cd "$dir" && ls -1 -- *.hpp | LC_ALL=C sort)
listed=$(sed -n 's|^#include "rootd/\([^"]*\)"$|\1|p' "$check" | LC_ALL=C sort)
if [ "$in_dir" != "$listed" ]; then
  echo "include/rootd and $check disagree (< directory, > list):" >&2
  diff <(echo "$in_dir") <(echo "$listed") >&2
  exit 1
fi
echo "$(echo "$in_dir" | wc -l) headers, all in the header check"
