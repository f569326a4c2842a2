# bash completion for vmstamp(1). Commands and options come from vmstamp's
# own -h, so they never drift from the binary; template names from the
# store (vmstamp template list), domain names for rm from vmstamp list --all.

# The options a help text lists (--name, and -x for the global ones).
_vmstamp_opts() {
    "${1:-vmstamp}" "${@:2}" -h 2>/dev/null | grep -oE -- '(^|[ ,[|])-{1,2}[A-Za-z][A-Za-z0-9-]*' |
        sed 's/^[ ,[|]//' | sort -u
}

_vmstamp_commands() {
    "$1" -h 2>/dev/null | sed -n '/^Commands:/,$p' | awk 'NR > 1 { print $1 }'
}

# The first column of a vmstamp table (its header left out).
_vmstamp_names() {
    "$@" 2>/dev/null | awk 'NR > 1 { print $1 }'
}

# Template names, when the template store exists (listing it would make it).
_vmstamp_templates() {
    virsh ${uri:+-c "$uri"} -q pool-info vmstamp-templates >/dev/null 2>&1 &&
        _vmstamp_names "$vm" "${global[@]}" template list
}

_vmstamp() {
    local cur prev words cword
    # The words as the user typed them, split at blanks only: bash splits
    # COMP_WORDS at ':' and '=' too, which would cut -c qemu:///system up.
    read -ra words <<<"${COMP_LINE:0:COMP_POINT}"
    [[ ${COMP_LINE:COMP_POINT - 1:1} == [[:blank:]] || ${#words[@]} -eq 0 ]] && words+=("")
    cword=$((${#words[@]} - 1))
    cur=${words[cword]} prev=${words[cword - 1]}
    _vmstamp_complete
    # Bash replaces only its own current word, the part of CUR after the last
    # ':' when ':' breaks words: drop what comes before it from each reply.
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local colon=${cur%"${cur##*:}"} i
        for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=${COMPREPLY[i]#"$colon"}; done
    fi
}

_vmstamp_complete() {
    local vm=${words[0]} cmd="" sub="" uri="" i ci=0 global=()

    # The command: the first word after the global options (-c URI, --accel A).
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        -c | --connect | --accel)
            [[ ${words[i]} == --accel ]] || uri=${words[i + 1]}
            global+=("${words[i]}" "${words[i + 1]}")
            ((i++)) ;;
        -*) global+=("${words[i]}") ;;
        *) cmd=${words[i]} ci=$i; break ;;
        esac
    done
    if [[ -z $cmd ]]; then
        case $prev in
        -c | --connect) COMPREPLY=($(compgen -W "qemu:///system qemu:///session" -- "$cur")); return ;;
        --accel) COMPREPLY=($(compgen -W "kvm tcg auto" -- "$cur")); return ;;
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$(_vmstamp_opts "$vm")" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_vmstamp_commands "$vm")" -- "$cur"))
        fi
        return
    fi
    # The subcommand of template, kickstart and fleet.
    case $cmd in
    template | kickstart | fleet)
        for ((i = ci + 1; i < cword; i++)); do
            [[ ${words[i]} != -* ]] && { sub=${words[i]}; break; }
        done
        if [[ -z $sub ]]; then
            local subs
            subs=$("$vm" "$cmd" -h 2>/dev/null | awk '/^  [a-z]/ && $1 ~ /^[a-z|-]+$/ { n = split($1, a, "|"); for (j = 1; j <= n; j++) print a[j] }')
            COMPREPLY=($(compgen -W "$subs" -- "$cur"))
            return
        fi
        ;;
    esac
    # Option arguments.
    case $prev in
    --iso | --kickstart | --from | --ssh-key | --root-password-file | --known-hosts | --sign-key | --trust-key | \
        --kernel | --initrd)
        COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
    --pool | --template-pool)
        COMPREPLY=($(compgen -W "$(virsh ${uri:+-c "$uri"} -q pool-list --all --name 2>/dev/null)" -- "$cur"))
        return ;;
    --network)
        COMPREPLY=($(compgen -W "user default bridge: network:" -- "$cur")); compopt -o nospace 2>/dev/null; return ;;
    --size | --snapshot-size | --memory | --vcpus | --count | --name-pattern | --start-index | --mac | --ip | --gateway | --dns | \
        --hostname | --domain | --parallel | --description | --name | --var | --extra-args | --iso-sha256 | \
        --timeout | --inactivity-timeout | --os-variant | --operations)
        return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_vmstamp_opts "$vm" "$cmd")" -- "$cur"))
        return
    fi
    case $cmd:$sub in
    clone:)
        # A store template's name, or a disk image path.
        COMPREPLY=($(compgen -W "$(_vmstamp_templates)" -- "$cur") $(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null ;;
    rm:)
        COMPREPLY=($(compgen -W "$(_vmstamp_names "$vm" "${global[@]}" list --all)" -- "$cur")) ;;
    template:info | template:verify | template:rm | template:export)
        COMPREPLY=($(compgen -W "$(_vmstamp_templates)" -- "$cur")) ;;
    *)
        COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null ;;
    esac
}
complete -F _vmstamp vmstamp
