#!/usr/bin/env bash
# sevattest emu vm launch --object: QEMU's -object sev-snp-guest / sev-guest text drives an
# emulated launch.  SNP: the object's policy and host-data reach the guest's report (checked with
# show report --json and verify --host-data), its id-block is checked at launch; bad objects exit 2
# with the parser's message and launch nothing.  SEV and SEV-ES: the launch digest equals
# `sevattest measure --mode sev|seves` (the sev-snp-measure AmdSev fixture, when the vectors are
# there), the guest owner's session and LAUNCH_MEASURE check work end to end, and --paused
# leaves the guest in the launch-secret state for QMP.
set -eu
BIN=$1
export SEVATTEST_EMU=$2
VEC=${SEVATTEST_VECTORS:-}
FIXTURE=$VEC/virtee-sev-snp-measure/tests/fixtures/ovmf_AmdSev_suffix.bin
HARNESS_NAME=cli-emu-object
. "$(dirname "$0")/emu_harness.sh"
vm_count() { "$BIN" emu vm list --state "$S" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

expect 0 "emu create (RSA-2048)" -- "$BIN" emu create --state "$S" --rsa-bits 2048
expect 0 "emu start" -- "$BIN" emu start --state "$S"
expect 0 "export the root" -- "$BIN" emu export-root --state "$S" --out "$T/ark.pem"

# ---- SNP: policy and host-data from the object reach the report ----
HD_HEX=00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210
HD_B64=$(python3 -c "import base64; print(base64.b64encode(bytes.fromhex('$HD_HEX')).decode())")
POLICY=0x130000 # SMT, reserved bit 17, SINGLE_SOCKET
expect 0 "vm launch --object sev-snp-guest (policy, host-data)" -- "$BIN" emu vm launch --state "$S" --json \
	--object "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=$POLICY,host-data=$HD_B64,vcek-disabled=on"
SOCK=$(jf socket)
same "$(jf policy)" "$POLICY" "the launch reports the object's policy"
same "$(jf host_data)" "$HD_HEX" "the launch reports the object's host-data"
same "$(jf not_applied)" "cbitpos, reduced-phys-bits, vcek-disabled" "properties the emulator does not apply are named"
[ -S "$SOCK" ] || fatal "no guest channel socket"
expect 0 "guest report from the launched guest" -- "$BIN" guest report --random --backend "emu:$SOCK" \
	--out "$T/r.bin" --certs-out "$T/certs"
expect 0 "show report --json" -- "$BIN" show report "$T/r.bin" --json
python3 - "$out" "$HD_HEX" "$POLICY" >"$T/check" 2>&1 <<'EOF' || true
import json, sys
r = json.load(open(sys.argv[1]))
def find(o, key):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == key:
                return v
            f = find(v, key)
            if f is not None:
                return f
    return None
hd = find(r, "host_data")
pol = find(r, "policy")
pol_raw = pol.get("raw") if isinstance(pol, dict) else pol
print("host_data", hd)
print("policy", pol_raw)
ok = hd == sys.argv[2] and int(str(pol_raw), 0) == int(sys.argv[3], 0)
print("OK" if ok else "MISMATCH")
EOF
if grep -q '^OK$' "$T/check"; then echo "ok: the report carries the object's host-data and policy"; else
	echo "FAIL: the report's host-data or policy differs:"
	sed 's/^/    /' "$T/check"
	fails=$((fails + 1))
fi
expect 0 "verify --host-data <the object's>" -- "$BIN" verify --no-kds --report "$T/r.bin" \
	--trust-root "$T/ark.pem" --certs "$T/certs" --host-data "$HD_HEX"
contains "VERIFIED"
expect 1 "verify --host-data <other> is rejected" -- "$BIN" verify --no-kds --report "$T/r.bin" \
	--trust-root "$T/ark.pem" --certs "$T/certs" --host-data "ff${HD_HEX:2}"

# The JSON form, and @FILE holding either form.
cat >"$T/obj.json" <<EOF
{"qom-type": "sev-snp-guest", "id": "sev0", "reduced-phys-bits": 1, "policy": 196608,
 "host-data": "$HD_B64"}
EOF
expect 0 "vm launch --object @FILE (JSON form)" -- "$BIN" emu vm launch --state "$S" --json --object "@$T/obj.json"
same "$(jf policy)" "0x30000" "JSON form: policy 196608"
same "$(jf host_data)" "$HD_HEX" "JSON form: host-data"
printf 'sev-snp-guest,id=sev0,reduced-phys-bits=1,host-data=%s\n' "$HD_B64" >"$T/obj.txt"
expect 0 "vm launch --object @FILE (keyval form)" -- "$BIN" emu vm launch --state "$S" --json --object "@$T/obj.txt"
same "$(jf policy)" "0x30000" "keyval file: the default policy 0x30000"

# ---- bad objects: exit 2, the parser's message, nothing launched ----
BEFORE=$(vm_count)
bad() {
	local what=$1 msg=$2
	shift 2
	expect 2 "$what" -- "$BIN" emu vm launch --state "$S" "$@"
	contains "$msg"
}
bad "id-block of 95 bytes" "id-block: parameter length of 95 not equal to 96" \
	--object "sev-snp-guest,id=s,reduced-phys-bits=1,id-block=$(python3 -c 'import base64;print(base64.b64encode(bytes(95)).decode())')"
bad "host-data of 31 bytes" "host-data: parameter length of 31 not equal to 32" \
	--object "sev-snp-guest,id=s,reduced-phys-bits=1,host-data=$(python3 -c 'import base64;print(base64.b64encode(bytes(31)).decode())')"
bad "unknown property" "Parameter 'hostdata' is unexpected (sev-snp-guest has no such property)" \
	--object "sev-snp-guest,id=s,reduced-phys-bits=1,hostdata=AAAA"
bad "duplicate property" "Parameter 'policy' is given twice" \
	--object "sev-snp-guest,id=s,reduced-phys-bits=1,policy=1,policy=2"
bad "missing id" "Parameter 'id' is missing" --object "sev-snp-guest,reduced-phys-bits=1"
bad "missing reduced-phys-bits" "Parameter 'reduced-phys-bits' is missing" --object "sev-snp-guest,id=s"
bad "unknown type" "Parameter 'qom-type' does not accept value 'tdx-guest'" --object "tdx-guest,id=s"
bad "octal 08" "Parameter 'policy' expects integer, got '08'" \
	--object "sev-snp-guest,id=s,reduced-phys-bits=1,policy=08"
bad "u32 overflow" "Parameter 'policy' expects uint32_t, got '0x100000000'" \
	--object "sev-guest,id=s,reduced-phys-bits=1,policy=0x100000000"
bad "bad base64 (whitespace)" "host-data: whitespace at position 4 in base64" \
	--object "sev-snp-guest,id=s,reduced-phys-bits=1,host-data=AAAA AAAA"
bad "bad boolean" "Parameter 'vcek-disabled' expects 'on' or 'off', got 'maybe'" \
	--object "sev-snp-guest,id=s,reduced-phys-bits=1,vcek-disabled=maybe"
bad "JSON type" "Invalid parameter type for 'policy', expected: integer" \
	--object '{"qom-type":"sev-snp-guest","id":"s","reduced-phys-bits":1,"policy":"0x30000"}'
bad "absent @FILE" "$T/absent" --object "@$T/absent"
bad "--object with --policy" "--object and --policy exclude each other" \
	--object "sev-snp-guest,id=s,reduced-phys-bits=1" --policy 0x30000
bad "--paused without sev-guest" "--paused needs an SEV launch" \
	--object "sev-snp-guest,id=s,reduced-phys-bits=1" --paused
bad "--paused without --object" "--paused needs --object sev-guest" --paused
bad "sev-guest with --pages" "--pages lists SNP pages" \
	--object "sev-guest,id=s,reduced-phys-bits=1" --pages "$T/none"
bad "sev-guest key sharing" "handle must be 0" --object "sev-guest,id=s,reduced-phys-bits=1,handle=3"
bad "dh-cert-file alone" "dh-cert-file and session-file go together" \
	--object "sev-guest,id=s,reduced-phys-bits=1,dh-cert-file=$T/obj.txt"
python3 -c 'import base64;print(base64.b64encode(bytes(0x823)).decode())' >"$T/short.b64"
bad "a GODH certificate of 0x823 bytes" "dh-cert-file: $T/short.b64 decodes to 2083 bytes, expected 0x824" \
	--object "sev-guest,id=s,reduced-phys-bits=1,dh-cert-file=$T/short.b64,session-file=$T/short.b64"
same "$(vm_count)" "$BEFORE" "no bad object launched a guest"

# ---- SNP with an ID block over the built-in test image's digest ----
expect 0 "built-in test image: its launch digest" -- "$BIN" emu vm launch --state "$S" --json
LD=$(jf launch_digest)
if openssl ecparam -name secp384r1 -genkey -noout -out "$T/id.pem" 2>/dev/null; then
	expect 0 "idblock for that digest" -- "$BIN" idblock --measurement "$LD" --id-key "$T/id.pem" --json
	IDPROPS=$(jf sev_snp_guest)
	IDDIG=$(jf id_key_digest)
	expect 0 "vm launch --object with the id-block and id-auth" -- "$BIN" emu vm launch --state "$S" --json \
		--object "sev-snp-guest,id=s,reduced-phys-bits=1,$IDPROPS"
	same "$(jf id_block)" "true" "the ID block was checked at launch"
	SOCK=$(jf socket)
	expect 0 "guest report (ID block)" -- "$BIN" guest report --random --backend "emu:$SOCK" --out "$T/r2.bin"
	expect 0 "show report (ID block)" -- "$BIN" show report "$T/r2.bin"
	contains "ID_KEY_DIGEST: *${IDDIG:0:64}"
	expect 0 "idblock for a wrong digest" -- "$BIN" idblock --measurement "$(printf '%096d' 1)" \
		--id-key "$T/id.pem" --json
	BADPROPS=$(jf sev_snp_guest)
	N=$(vm_count)
	expect 1 "an ID block for another digest is refused by SNP_LAUNCH_FINISH" -- "$BIN" emu vm launch \
		--state "$S" --object "sev-snp-guest,id=s,reduced-phys-bits=1,$BADPROPS"
	same "$(vm_count)" "$N" "the refused guest was decommissioned"
else
	echo "skip: openssl cannot make a P-384 key"
fi

# ---- SEV and SEV-ES ----
expect 0 "SEV launch of the built-in image" -- "$BIN" emu vm launch --state "$S" --json \
	--object "sev-guest,id=sev0,reduced-phys-bits=1"
same "$(jf type)" "SEV" "policy 0x1: SEV"
same "$(jf state)" "running" "launched to LAUNCH_FINISH"
same "$(jf vmsas)" "0" "SEV: no VMSA"
expect 0 "SEV-ES launch of the built-in image" -- "$BIN" emu vm launch --state "$S" --json \
	--object "sev-guest,id=sev0,reduced-phys-bits=1,policy=0x5"
same "$(jf type)" "SEV-ES" "policy 0x5: SEV-ES"
same "$(jf vmsas)" "1" "SEV-ES: the test VMSA"

if [ -f "$FIXTURE" ]; then
	G=(--ovmf "$FIXTURE" --kernel /dev/null --initrd /dev/null --append "console=ttyS0" --vcpus 3 --vcpu-type EPYC-v4)
	for mode in sev seves; do
		pol=0x1
		[ "$mode" = seves ] && pol=0x5
		expect 0 "measure --mode $mode" -- "$BIN" measure --mode "$mode" "${G[@]}"
		M=$(cat "$out")
		expect 0 "vm launch --object sev-guest policy $pol, kernel-hashes=on" -- "$BIN" emu vm launch \
			--state "$S" --json "${G[@]}" --object "sev-guest,id=sev0,reduced-phys-bits=1,policy=$pol,kernel-hashes=on"
		same "$(jf launch_digest)" "$M" "$mode: the launch digest equals sevattest measure"
		same "$(jf expected_launch_digest)" "$M" "$mode: the launch's own prediction too"
	done
	expect 0 "measure --mode seves without the kernel" -- "$BIN" measure --mode seves --ovmf "$FIXTURE" --vcpus 3 \
		--vcpu-type EPYC-v4
	M=$(cat "$out")
	expect 0 "kernel-hashes off: the kernel is not measured" -- "$BIN" emu vm launch --state "$S" --json "${G[@]}" \
		--object "sev-guest,id=sev0,reduced-phys-bits=1,policy=0x5"
	same "$(jf launch_digest)" "$M" "kernel-hashes off: the digest of OVMF and VMSAs alone"

	# The guest owner's round trip: session for the platform's PDH, launch paused, check
	# LAUNCH_MEASURE, inject a secret over QMP, cont.
	H=(--backend "emu:$S/run/host.sock")
	mkdir -p "$T/own"
	expect 0 "host export-certs --full" -- "$BIN" host "${H[@]}" export-certs --out-dir "$T/pcerts" --full
	expect 0 "owner session" -- "$BIN" owner session --certs "$T/pcerts" --trust-root "$T/pcerts/ark.cert" \
		--policy 0x5 --out-dir "$T/own"
	expect 0 "host status" -- "$BIN" host "${H[@]}" status --json
	MAJ=$(jf api_major)
	MIN=$(jf api_minor)
	BLD=$(jf build)
	G2=(--ovmf "$FIXTURE" --vcpus 2 --vcpu-type EPYC-v4)
	OBJ="sev-guest,id=sev0,reduced-phys-bits=1,policy=0x5,dh-cert-file=$T/own/vm_godh.b64,session-file=$T/own/vm_session.b64"
	expect 0 "vm launch --paused with the owner's session" -- "$BIN" emu vm launch --state "$S" --json "${G2[@]}" \
		--object "$OBJ" --paused
	same "$(jf state)" "launch-secret" "paused in the launch-secret state"
	MEAS=$(jf launch_measure)
	QMP=$(jf qmp)
	expect 0 "owner verify-measurement of the LAUNCH_MEASURE blob" -- "$BIN" owner verify-measurement \
		--tik "$T/own/vm_tik.bin" --measurement "$MEAS" --api-major "$MAJ" --api-minor "$MIN" --build "$BLD" \
		--policy 0x5 "${G2[@]}"
	expect 1 "a TIK from elsewhere does not match" -- "$BIN" owner verify-measurement \
		--tik "$T/own/vm_tek.bin" --measurement "$MEAS" --api-major "$MAJ" --api-minor "$MIN" --build "$BLD" \
		--policy 0x5 "${G2[@]}"
	expect 0 "QMP query-sev: launch-secret" -- "$BIN" host qmp --socket "$QMP" sev-info
	contains "launch-secret"
	printf 'the disk key' >"$T/secret.txt"
	expect 0 "owner package-secret" -- "$BIN" owner package-secret --tek "$T/own/vm_tek.bin" \
		--tik "$T/own/vm_tik.bin" --measurement "$MEAS" --secret "736869e5-84f0-4973-92ec-06879ce3da0b:$T/secret.txt" \
		--out-header "$T/hdr.bin" --out-secret "$T/sec.bin"
	expect 0 "QMP sev-inject-launch-secret" -- "$BIN" host qmp --socket "$QMP" inject-secret --header "$T/hdr.bin" \
		--secret "$T/sec.bin" --gpa 0x800000
	expect 0 "QMP cont" -- "$BIN" host qmp --socket "$QMP" cont
	expect 0 "QMP query-sev: running" -- "$BIN" host qmp --socket "$QMP" sev-info
	contains "running"
	# The relying party: a fresh MNONCE, the report over QMP, both chains, the digest the owner predicts.
	expect 0 "measure the same guest" -- "$BIN" measure --mode seves "${G2[@]}"
	LD=$(cat "$out")
	MN=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(16)).decode())')
	expect 0 "QMP query-sev-attestation-report" -- "$BIN" host qmp --socket "$QMP" report --mnonce "$MN" \
		--out "$T/sev-report.bin"
	expect 0 "the report verifies: chains, PEK signature, MNONCE, launch digest, policy" -- "$BIN" verify \
		--sev-report "$T/sev-report.bin" --certs "$T/pcerts" --trust-root "$T/pcerts/ark.cert" --mnonce "$MN" \
		--measurement "$LD" --policy-require nodbg,es
	contains "not bound to a particular guest"
	MN2=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(16)).decode())')
	expect 1 "another MNONCE is rejected" -- "$BIN" verify --sev-report "$T/sev-report.bin" --certs "$T/pcerts" \
		--trust-root "$T/pcerts/ark.cert" --mnonce "$MN2" --measurement "$LD"
	contains "sev.report.mnonce"
	expect 1 "another launch digest is rejected" -- "$BIN" verify --sev-report "$T/sev-report.bin" \
		--certs "$T/pcerts" --trust-root "$T/pcerts/ark.cert" --mnonce "$MN" --measurement "$(printf '%064d' 0)"
	contains "sev.report.measurement"
	expect 1 "a policy demand the guest does not meet (NOSEND) is rejected" -- \
		"$BIN" verify --sev-report "$T/sev-report.bin" --certs "$T/pcerts" --trust-root "$T/pcerts/ark.cert" \
		--mnonce "$MN" --policy-require nosend
	contains "sev.policy.require"
	expect 1 "AMD's pinned roots do not vouch for the emulator" -- "$BIN" verify --sev-report "$T/sev-report.bin" \
		--certs "$T/pcerts" --mnonce "$MN"
	contains "sev.chain.ark"
	# A packet made for that launch does not fit a new one (its MNONCE differs): refused, undone.
	N=$(vm_count)
	expect 1 "--secret made for another launch is refused" -- "$BIN" emu vm launch --state "$S" "${G2[@]}" \
		--object "$OBJ" --secret-header "$T/hdr.bin" --secret "$T/sec.bin" --secret-gpa 0x800000
	contains "BAD_MEASUREMENT"
	same "$(vm_count)" "$N" "the refused SEV guest was decommissioned"
	bad "--secret-header alone" "--secret-header and --secret go together" --object "$OBJ" \
		--secret-header "$T/hdr.bin"
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(51)))' >"$T/hdr51.bin"
	bad "a 51-byte header" "$T/hdr51.bin: 51 bytes, expected 52" --object "$OBJ" --secret-header "$T/hdr51.bin" \
		--secret "$T/sec.bin"
else
	echo "skip: $FIXTURE is absent (the vectors): the OVMF SEV/SEV-ES launches"
fi

harness_finish
