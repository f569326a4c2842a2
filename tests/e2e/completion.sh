#!/usr/bin/env bash
# completion.sh: the bash completion (completion/vmstamp.bash), driven as
# bash drives it (COMP_WORDS, COMP_CWORD, then COMPREPLY) against the real
# binary, libvirtd and template store: commands, each command's options,
# subcommands, template names from the store, domain names for rm, file
# names for paths.
. "$(dirname "$0")/lib.sh"
start_test

tpl=$(fixture debian12)
T=${PREFIX}ctpl
"$VMSTAMP" -q template create "$T" --from "$tpl" >/dev/null || fail "template create failed"
other=${PREFIX}other
$V define /dev/stdin >/dev/null <<XML
<domain type='qemu'><name>$other</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os></domain>
XML
mkdir -p "$SCRATCH/isos"
touch "$SCRATCH/isos/${PREFIX}x.iso"

bindir=$(dirname "$VMSTAMP")
# comp WORD...: what completing the last word offers, sorted, one line. As
# bash does it: COMP_LINE and COMP_POINT, and COMP_WORDS split at blanks and
# at ':' (in COMP_WORDBREAKS), so "qemu:///system" is three words there.
comp() {
  PATH="$bindir:$PATH" bash -c '
    source "$1/completion/vmstamp.bash"; shift
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(); COMPREPLY=()
    for w in "$@"; do
      while [[ $w == *:* ]]; do COMP_WORDS+=("${w%%:*}" ":"); w=${w#*:}; done
      COMP_WORDS+=("$w")
    done
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _vmstamp
    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$SRC" "$@"
}
expect() {
  local want=$1 got
  shift
  got=$(comp "$@")
  [ "$got" = "$want " ] || fail "completing '$*': got '$got', want '$want'"
  echo "ok: '$*' -> $want"
}
expect_has() {
  local want=$1 got
  shift
  got=$(comp "$@")
  [[ " $got" == *" $want "* ]] || fail "completing '$*': '$want' not in '$got'"
  echo "ok: '$*' offers $want"
}

expect "clone" vmstamp cl
expect "build clone doctor fleet gc hook install kickstart list rm template" vmstamp ""
expect "--fix-permissions" vmstamp clone --fix
expect "--network" vmstamp -c qemu:///system clone --netw
expect "build clone doctor fleet gc hook install kickstart list rm template" vmstamp -c qemu:///system ""
expect "$other" vmstamp -c qemu:///system rm "${PREFIX}o"
expect "network:" vmstamp clone --network netw
expect "--description" vmstamp clone --desc
expect "--iso --iso-sha256" vmstamp install --iso
expect "create export import info list ops publish rm verify" vmstamp template ""
expect "apply destroy inventory ssh-config start status stop wait" vmstamp fleet ""
expect "lint render" vmstamp kickstart ""
expect "auto kvm tcg" vmstamp --accel ""
expect "$T" vmstamp template info "${PREFIX}c"
expect "$T" vmstamp clone "${PREFIX}c"
expect "$other" vmstamp rm "${PREFIX}o"
expect "$SCRATCH/isos/${PREFIX}x.iso" vmstamp install --iso "$SCRATCH/isos/${PREFIX}"
expect_has default vmstamp clone --pool ""
expect "--dry-run" vmstamp fleet apply --dry

"$VMSTAMP" -q template rm "$T" || fail "template rm failed"
$V undefine "$other" >/dev/null
assert_nothing_left "end"
echo "PASS: completion"
