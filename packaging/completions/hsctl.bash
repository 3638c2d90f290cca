# bash completion for hsctl
_hsctl() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
  local commands="status drift record accept clear migrate hash accounts plugins dry-run health trigger harnesssync lock locks info ping shutdown call socket-path"
  local globals="--socket --state-dir --account --json --timeout --no-spawn --version --help"
  case $prev in
    --socket|--state-dir|--from|--hashes|--params|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --scope) COMPREPLY=($(compgen -W "all user project" -- "$cur")); return ;;
    --watch|--cwd|--project|--plugin-dir|--home|--python) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --account|--timeout|--synced|--skipped|--failed|--method|--label|-n|--runs|--wait|--settle|--max-wait|--lock|--env|--name) return ;;
  esac
  local cmd="" i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --socket|--state-dir|--account|--timeout) ((i++)) ;;
      -*) ;;
      *) cmd=${words[i]}; break ;;
    esac
  done
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "$commands $globals" -- "$cur"))
    return
  fi
  case $cmd in
    status|drift|record|accept|clear)
      if [[ $cur == -* ]]; then
        case $cmd in
          drift) COMPREPLY=($(compgen -W "--hashes --help" -- "$cur")) ;;
          record) COMPREPLY=($(compgen -W "--scope --synced --skipped --failed --file --method --params --help" -- "$cur")) ;;
          *) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
        esac
      elif [[ $cmd == accept ]] && ((i < cword - 1)); then
        COMPREPLY=($(compgen -f -- "$cur"))
      else
        COMPREPLY=($(compgen -W "codex gemini opencode cursor aider windsurf" -- "$cur"))
      fi ;;
    hash) COMPREPLY=($(compgen -f -- "$cur")) ;;
    dry-run) COMPREPLY=($(compgen -W "on off --help" -- "$cur")) ;;
    health)
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--label -n --help" -- "$cur"))
      elif ((i == cword - 1)); then
        COMPREPLY=($(compgen -W "codex gemini opencode cursor aider windsurf" -- "$cur"))
      fi ;;
    migrate) COMPREPLY=($(compgen -W "--from --help" -- "$cur")) ;;
    lock)
      # After "--" comes the command to run: complete it as a command line.
      local j
      for ((j = i + 1; j < cword; j++)); do
        if [[ ${words[j]} == -- ]]; then
          COMPREPLY=($(compgen -c -- "$cur"))
          return
        fi
      done
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--wait --coalesce --json -- --help" -- "$cur"))
      fi ;;
    trigger)
      local sub="" j
      for ((j = i + 1; j < cword; j++)); do
        if [[ ${words[j]} == -- && $sub == set ]]; then
          COMPREPLY=($(compgen -c -- "$cur"))
          return
        fi
        [[ -z $sub && ${words[j]} != -* ]] && sub=${words[j]}
      done
      if [[ -z $sub ]]; then
        COMPREPLY=($(compgen -W "set ls list rm log pause resume run --help" -- "$cur"))
      elif [[ $cur == -* ]]; then
        case $sub in
          set) COMPREPLY=($(compgen -W "--watch --settle --max-wait --lock --no-lock --timeout --cwd --env -- --help" -- "$cur")) ;;
          log) COMPREPLY=($(compgen -W "-n --runs --help" -- "$cur")) ;;
          run) COMPREPLY=($(compgen -W "--wait --help" -- "$cur")) ;;
          *) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
        esac
      elif [[ $sub != set && $sub != ls && $sub != list ]]; then
        COMPREPLY=($(compgen -W "$(hsctl trigger ls 2>/dev/null | awk 'NR > 1 { print $1 }')" -- "$cur"))
      fi ;;
    harnesssync)
      if ((i == cword - 1)); then
        COMPREPLY=($(compgen -W "setup sources --help" -- "$cur"))
      elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--project --plugin-dir --name --python --help" -- "$cur"))
      fi ;;
    call) COMPREPLY=($(compgen -W "daemon.info daemon.ping daemon.shutdown rpc.discover state.record state.drift state.target state.all state.clear state.accept state.migrate_cc2all hash.files state.account state.accounts plugins.record plugins.status plugins.drift settings.dry_run health.record health.history lock.acquire lock.release lock.list trigger.set trigger.remove trigger.list trigger.run trigger.log trigger.pause trigger.resume" -- "$cur")) ;;
  esac
}
complete -F _hsctl hsctl
