# Apt helpers shared by the ensure-* scripts (sourced; the caller defines `say`).

# Refresh the package lists only if one of the packages has no install candidate; the status is apt-get update's.
apt_update_if_needed() {
    local pkg cand
    for pkg in "$@"; do
        cand=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
        if [[ -z $cand || $cand == "(none)" ]]; then
            say "apt-get update"
            apt-get update -qq
            return
        fi
    done
}
