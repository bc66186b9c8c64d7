#compdef kubectl-metalpool
# zsh completion for kubectl-metalpool.
#   source <(kubectl-metalpool completion zsh)
# The plugin computes the candidates itself (`kubectl-metalpool __complete WORDS…`).
_kubectl_metalpool() {
    local -a lines described
    local directive line
    lines=("${(@f)$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    (( ${#lines} )) || return 1
    directive=${lines[-1]#:}
    for line in "${(@)lines[1,-2]}"; do
        [[ -n $line ]] || continue
        if [[ $line == *$'\t'* ]]; then
            described+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}")
        else
            described+=("${line//:/\\:}")
        fi
    done
    if (( ${#described} )); then
        _describe 'kubectl-metalpool' described
    elif (( (directive & 4) == 0 )); then
        _files
    fi
}
compdef _kubectl_metalpool kubectl-metalpool
