#!/usr/bin/env bash
# sanitizer-reports.sh start|check DIR: the reports ASan, LSan and UBSan wrote
# while the e2e tests ran the ASan+UBSan build's vmstamp (log_path=DIR/...).
#   start   empty DIR
#   check   list what is in DIR and print each report; exit 1 if any
set -euo pipefail
case ${1:-}/${2:-} in
  start/?*)
    rm -rf "$2"
    mkdir -p "$2"
    ;;
  check/?*)
    shopt -s nullglob
    reports=("$2"/*)
    if [ ${#reports[@]} -eq 0 ]; then
      echo "sanitizer reports: none in $2"
      exit 0
    fi
    echo "sanitizer reports: ${#reports[@]} in $2" >&2
    for f in "${reports[@]}"; do
      echo "==== $f" >&2
      head -n 80 "$f" >&2
    done
    exit 1
    ;;
  *)
    echo "usage: sanitizer-reports.sh start|check DIR" >&2
    exit 2
    ;;
esac
