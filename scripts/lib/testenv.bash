# scripts/lib/testenv.bash: sourced by scripts/test and scripts/demo. The
# bundled test provider's npm packages, and a private gnome-keyring on a
# private D-Bus session for machines without a desktop keychain.
# Linux only (the keyring part); needs bash.

# idp_install_needed succeeds when testdata/idp's packages are missing or
# stale: npm ci writes node_modules/.package-lock.json, so it is older than
# package-lock.json exactly when the install is stale.
idp_install_needed() {
	local idp=testdata/idp
	local stamp=$idp/node_modules/.package-lock.json
	! { [ -f "$stamp" ] && [ ! "$idp/package-lock.json" -nt "$stamp" ]; }
}

# idp_install runs npm ci for the test provider.
idp_install() {
	npm ci --prefix testdata/idp --no-audit --no-fund --loglevel=error >&2
}

# keyring_tools_present succeeds when a private keyring session can be made.
keyring_tools_present() {
	command -v dbus-run-session >/dev/null 2>&1 &&
		command -v gnome-keyring-daemon >/dev/null 2>&1 &&
		command -v dbus-send >/dev/null 2>&1
}

# write_bus_config FILE writes a session bus configuration under which no
# service is activatable: were gnome-keyring to die mid-run, D-Bus would
# otherwise start a second one with a locked keyring, and callers would
# fail on "locked" instead of on the daemon's death.
write_bus_config() {
	cat >"$1" <<EOF_CONFIG
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=${TMPDIR:-/tmp}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF_CONFIG
}

secrets_has_owner() {
	dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
		grep -q 'boolean true'
}

keyring_pid=
keyring_home=

# keyring_start PASSWORD runs gnome-keyring-daemon (secrets component only)
# on the current session bus, with a HOME of its own so it never touches
# the real one's keyrings, its login collection unlocked with PASSWORD. It
# sets keyring_pid and keyring_home, and waits up to about 10 s for the
# daemon to own org.freedesktop.secrets; if it does not, it stops the
# daemon and fails (the daemon's log is in $keyring_home/log).
keyring_start() {
	keyring_home=$(mktemp -d "${TMPDIR:-/tmp}/authctl-keyring.XXXXXX")
	mkdir -p "$keyring_home/data" "$keyring_home/runtime"
	chmod 700 "$keyring_home/runtime"
	printf '%s' "$1" | HOME="$keyring_home" XDG_DATA_HOME="$keyring_home/data" \
		XDG_RUNTIME_DIR="$keyring_home/runtime" \
		gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>"$keyring_home/log" &
	keyring_pid=$!
	local i
	for i in $(seq 1 100); do
		if secrets_has_owner; then
			return 0
		fi
		if ! kill -0 "$keyring_pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	kill "$keyring_pid" 2>/dev/null || true
	wait "$keyring_pid" 2>/dev/null || true
	keyring_pid=
	return 1
}

# keyring_stop stops the daemon keyring_start started and removes its home.
keyring_stop() {
	if [ -n "$keyring_pid" ]; then
		kill "$keyring_pid" 2>/dev/null || true
		wait "$keyring_pid" 2>/dev/null || true
		keyring_pid=
	fi
	if [ -n "$keyring_home" ]; then
		rm -rf "$keyring_home"
		keyring_home=
	fi
}
