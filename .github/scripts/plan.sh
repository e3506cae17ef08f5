#!/usr/bin/env bash
# The plan job of .github/workflows/images.yml: what this run builds, tests and publishes.
# Reads EVENT (github.event_name), BASE_REF, BEFORE, REQUESTED and SHARDS; writes the job's
# outputs to $GITHUB_OUTPUT: mode (test or release), pull (the --pull policy of every job),
# services (what promote moves: empty for every image), tests (the pull request's shards) and
# wave1..wave3 (each wave's shards of the images the registry lacks under their build key).
set -euo pipefail

dockmk() { npm run -s "docker:$1" -- "${@:2}"; }
output() { echo "$1=$2" >> "$GITHUB_OUTPUT"; }
none='{"include":[]}'

if [ "$EVENT" = pull_request ]; then
  output mode test
  # As a release run does: the bases' digests join the keys, so a test finds in the registry
  # what the last release built from the same inputs (--reuse registry) instead of building it.
  output pull always
  output services ''
  dockmk affected --since "origin/$BASE_REF" --with-children --explain
  output tests "$(dockmk matrix --since "origin/$BASE_REF" --with-children --shards "$SHARDS")"
  for wave in 1 2 3; do output "wave$wave" "$none"; done
  exit 0
fi

# Every release run asks the registries for the bases' digests (--pull always): they are part of
# the build keys, so a new base digest gives new keys. With --pull auto the keys name the bases
# without a digest: after the weekly run rebuilt everything on a new base, the next push or tag
# would find the images built before the refresh under those keys and promote them, taking
# latest back to the old base. The schedule is what rebuilds when nothing else changed.
pull=always
services=()
case "$EVENT" in
  workflow_dispatch) read -r -a services <<< "${REQUESTED:-}" ;;
esac
# For the log: what the pushed commits touched. What is built is decided by the build keys.
if [ "$EVENT" = push ] && [ -n "${BEFORE:-}" ] && [ "$BEFORE" != 0000000000000000000000000000000000000000 ]; then
  dockmk affected --since "$BEFORE" --with-children --explain || true
fi
output mode release
output pull "$pull"
output services "${services[*]:-}"
waves=$(dockmk matrix "${services[@]}" --waves --shards "$SHARDS" --reuse registry --pull "$pull")
echo "$waves"
node - "$waves" <<'JS' >> "$GITHUB_OUTPUT"
const { include } = JSON.parse(process.argv[2]);
const depth = Math.max(0, ...include.map((entry) => entry.wave));
if (depth > 3) {
  console.error(`::error::the images to build form ${depth} waves of FROM dependencies; the workflow runs 3: add a wave-${depth} job`);
  process.exit(1);
}
for (const wave of [1, 2, 3]) console.log(`wave${wave}=${JSON.stringify({ include: include.filter((entry) => entry.wave === wave) })}`);
JS
