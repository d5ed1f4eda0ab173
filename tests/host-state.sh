# Sourced by suites that run package managers: host_state prints one line per
# path of the caller's host_paths array (a digest of its tree, or "absent"),
# so that a suite can compare the host before and after its tests.
host_state() {
    local path
    for path in "${host_paths[@]}"; do
        if [ -e "$path" ]; then
            echo "$path $(find "$path" -printf '%p %s %T@\n' 2>/dev/null | sort | md5sum | cut -c1-32)"
        else
            echo "$path absent"
        fi
    done
}
