#!/bin/sh
# Writes one environment variable of a user-level plugin install into a shell profile, so
# that it survives into every new login session (used by the plugins' Makefiles):
#
#   profile.sh FILE NAME set     VAR VALUE             # export VAR=VALUE
#   profile.sh FILE NAME prepend VAR VALUE [DEFAULT]   # VALUE in front of $VAR (or of DEFAULT
#                                                      # when VAR is unset), once
#   profile.sh FILE NAME remove                        # takes the block out again
#
# The line goes in a block "# >>> nelloc NAME >>>" ... "# <<< nelloc NAME <<<"; a block of
# the same NAME already in FILE is replaced, so installing again changes nothing. FILE is
# rewritten in place (its mode and any link kept). Says plainly what it did.
set -eu
[ $# -ge 5 ] || { [ $# -eq 3 ] && [ "$3" = remove ]; } || {
  echo "usage: profile.sh FILE NAME set|prepend VAR VALUE [DEFAULT] | profile.sh FILE NAME remove" >&2
  exit 2
}
file=$1 name=$2 mode=$3 var=${4:-} value=${5:-} default=${6:-}
case $mode in
  remove) line= ;;
  set) line="export $var=\"$value\"" ;;
  prepend)
    if [ -n "$default" ]; then rest=":\${$var:-$default}"; else rest="\${$var:+:\$$var}"; fi
    line="case \":\${$var:-}:\" in *\":$value:\"*) ;; *) export $var=\"$value$rest\" ;; esac"
    ;;
  *)
    echo "profile.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
begin="# >>> nelloc $name >>>"
end="# <<< nelloc $name <<<"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
if [ -f "$file" ]; then
  awk -v b="$begin" -v e="$end" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' "$file" >"$tmp"
fi
if [ "$mode" = remove ]; then
  [ -f "$file" ] || exit 0
  cmp -s "$tmp" "$file" || { cat "$tmp" >"$file" && echo "nelloc $name: removed its block from $file"; }
  exit 0
fi
{
  echo "$begin"
  echo "# written by the nelloc $name plugin's user-level install; remove this block (or"
  echo "# run its make uninstall-user) to undo"
  echo "$line"
  echo "$end"
} >>"$tmp"
cat "$tmp" >"$file"
echo "nelloc $name: wrote to $file (read by new login sessions):"
echo "  $line"
echo "  to use it in this shell now: . $file    (to leave $file alone: EDIT_PROFILE=no)"
for other in "$HOME/.bash_profile" "$HOME/.bash_login"; do
  if [ "$file" = "$HOME/.profile" ] && [ -f "$other" ] && ! grep -q '\.profile' "$other"; then
    echo "  note: bash login shells read $other instead of ~/.profile; source ~/.profile from it"
    break
  fi
done
