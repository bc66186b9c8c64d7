# bash completion for kubectl-metalpool.
#   source <(kubectl-metalpool completion bash)
# The plugin computes the candidates itself (`kubectl-metalpool __complete WORDS…`), in the
# protocol kubectl uses for plugin completion: candidates, then `:<directive>`.
_kubectl_metalpool() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local -a lines
    mapfile -t lines < <("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    local count=${#lines[@]}
    (( count > 0 )) || return
    local directive=${lines[count-1]#:}
    COMPREPLY=()
    local line
    for line in "${lines[@]:0:count-1}"; do
        [[ -n $line ]] && COMPREPLY+=("${line%%$'\t'*}")
    done
    if (( directive & 2 )); then
        compopt -o nospace 2>/dev/null
    fi
    if (( ${#COMPREPLY[@]} == 0 && (directive & 4) == 0 )); then
        compopt -o default 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}
complete -F _kubectl_metalpool kubectl-metalpool
