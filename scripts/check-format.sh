#!/usr/bin/env bash
# Check the formatting of the C sources and the shell scripts:
#   - bpf/*.c, bpf/*.h, bpf/**/*.c with bpf/.clang-format (the kernel's style),
#   - addon/*.cc, addon/*.h with the root .clang-format (Google, 100 columns),
#   - every shell script of the repository with shellcheck.
# Generated files (bpf/vmlinux.h, *.skel.h, build output) are not checked, nor
# are files that do not exist yet. Exits non-zero and lists offending files.
#
# Usage: scripts/check-format.sh [--fix]   (--fix rewrites C files in place)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
fix=0
case "${1:-}" in
  "") ;;
  --fix) fix=1 ;;
  *)
    echo "usage: $0 [--fix]" >&2
    exit 2
    ;;
esac

offenders=()
failed=0

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "check-format: '$1' is not installed (scripts/setup.sh installs it)" >&2
    exit 1
  fi
}
need clang-format
need shellcheck

# NUL-separated, sorted list of files under a folder, generated ones and
# build output left out; a missing folder gives an empty list.
#   c_files DIR MINDEPTH MAXDEPTH FIND-NAME-TESTS...
c_files() {
  local dir=$1 mindepth=$2 maxdepth=$3
  shift 3
  [[ -d "$dir" ]] || return 0
  find "$dir" -mindepth "$mindepth" -maxdepth "$maxdepth" \
    \( -type d \( -name build -o -name .output -o -name output -o -name node_modules \) -prune \) -o \
    -type f \( "$@" \) ! -name vmlinux.h ! -name '*.skel.h' ! -name '*.generated.*' -print0 | sort -z
}

checked_c=0
check_c() {
  local style=$1
  shift
  local file
  for file in "$@"; do
    checked_c=$((checked_c + 1))
    if [[ $fix -eq 1 ]]; then
      clang-format --style="$style" -i "$file"
    elif ! clang-format --style="$style" --dry-run --Werror "$file" 2>/dev/null; then
      offenders+=("$file (clang-format: run scripts/check-format.sh --fix, or: clang-format --style=$style --dry-run $file)")
      failed=1
    fi
  done
}

# bpf/: bpf/*.c, bpf/*.h and bpf/**/*.c, with bpf/'s own style file; without
# one, checking against the addon style would only report false offenders.
mapfile -d '' bpf_top < <(c_files bpf 1 1 -name '*.c' -o -name '*.h')
mapfile -d '' bpf_deep < <(c_files bpf 2 64 -name '*.c')
bpf_c=("${bpf_top[@]}" "${bpf_deep[@]}")
if [[ ${#bpf_c[@]} -gt 0 ]]; then
  if [[ -f bpf/.clang-format ]]; then
    check_c file:bpf/.clang-format "${bpf_c[@]}"
  else
    echo "check-format: bpf/.clang-format is missing: bpf/ sources not checked" >&2
  fi
fi

mapfile -d '' addon_c < <(c_files addon 1 1 -name '*.cc' -o -name '*.h')
if [[ ${#addon_c[@]} -gt 0 ]]; then
  check_c file:.clang-format "${addon_c[@]}"
fi

# Shell scripts: *.sh/*.bash files and files starting with a shell shebang,
# as tracked or not ignored by git (or found on disk outside a git clone).
list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard
  else
    find . \( -name .git -o -name node_modules -o -name dist -o -name build \) -prune -o \
      -type f -print0 | sed -z 's|^\./||'
  fi
}
shell_files=()
while IFS= read -r -d '' file; do
  [[ -f "$file" ]] || continue
  case "$file" in
    node_modules/* | */node_modules/* | dist/* | build/*) continue ;;
    *.sh | *.bash) shell_files+=("$file") ;;
    *.*) ;; # other extensions: not shell
    *)
      if head -c 64 "$file" 2>/dev/null | head -n 1 | grep -Eq '^#!.*[/ ](ba|da)?sh( |$)'; then
        shell_files+=("$file")
      fi
      ;;
  esac
done < <(list_files | sort -zu)
# .ci/run by name, whatever its first line.
if [[ -f .ci/run && " ${shell_files[*]} " != *" .ci/run "* ]]; then
  shell_files+=(.ci/run)
fi

for file in "${shell_files[@]}"; do
  if ! shellcheck --external-sources --source-path=SCRIPTDIR "$file" >/dev/null 2>&1; then
    offenders+=("$file (shellcheck: run shellcheck $file)")
    failed=1
  fi
done

if [[ $failed -ne 0 ]]; then
  echo "check-format: ${#offenders[@]} file(s) need attention:" >&2
  printf '  %s\n' "${offenders[@]}" >&2
  exit 1
fi
if [[ $fix -eq 1 ]]; then
  echo "check-format: formatted $checked_c C file(s); shellcheck clean on ${#shell_files[@]} script(s)"
else
  echo "check-format: $checked_c C file(s) and ${#shell_files[@]} shell script(s) clean"
fi
