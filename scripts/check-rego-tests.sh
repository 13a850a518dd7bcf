#!/usr/bin/env bash
# No policy without tests (STYLE 8): every .rego file under rego/ has a _test.rego beside it.
set -euo pipefail
missing=0
while IFS= read -r f; do
  if [ ! -f "${f%.rego}_test.rego" ]; then
    echo "no tests for $f (expected ${f%.rego}_test.rego)" >&2
    missing=1
  fi
done < <(find "${1:-rego}" -name '*.rego' ! -name '*_test.rego')
exit $missing
