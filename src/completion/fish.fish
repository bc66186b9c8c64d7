# fish completion for kubectl-metalpool.
#   kubectl-metalpool completion fish | source
# The plugin computes the candidates itself (`kubectl-metalpool __complete WORDS…`).
function __kubectl_metalpool_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l lines (kubectl-metalpool __complete $words[2..-1] 2>/dev/null)
    test (count $lines) -gt 0; or return
    set -l directive (string replace -r '^:' '' -- $lines[-1])
    set -e lines[-1]
    if test (count $lines) -gt 0
        printf '%s\n' $lines
    else if test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path (commandline -ct)
    end
end
complete -c kubectl-metalpool -f -a '(__kubectl_metalpool_complete)'
