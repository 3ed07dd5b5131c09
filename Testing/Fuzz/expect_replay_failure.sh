#!/bin/sh
# expect_replay_failure.sh SUFFIX REPLAY INPUT...: passes when the replay of the inputs fails (any
# non-zero exit, a signal included) and the last input it announced ends in SUFFIX.
suffix="$1"
shift
out=$("$@" 2>&1)
rc=$?
last=$(printf '%s\n' "$out" | grep '^running ' | tail -1)
echo "exit $rc; last input: ${last#running }"
[ "$rc" -ne 0 ] || { echo "the replay passed; it should have failed" >&2; exit 1; }
case "$last" in
  *"$suffix") exit 0 ;;
  *) echo "the last input named is not the one ending in $suffix" >&2; exit 1 ;;
esac
