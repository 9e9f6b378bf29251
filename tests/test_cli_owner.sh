#!/usr/bin/env bash
# sevattest owner and verify --sev-report through the CLI.
#  - on a synthetic SEV chain written by test_sev_verify --write-chain: owner session (files, modes,
#    the firmware's side opens it: test_sev_verify --open-session), refusal of an unverified PDH,
#    bundles and base64 certificates, verify --sev-report (exit codes 0/1/2, JSON);
#  - with the vectors: sevctl's M1-M4 through owner verify-measurement (and --print), and both
#    LAUNCH_SECRET vectors through owner package-secret.
set -eu
BIN=$1
HELPER=$2
V=${SEVATTEST_VECTORS:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
out=$T/out.txt
errf=$T/err.txt
fails=0

# expect CODE DESCRIPTION -- ARGS...: run sevattest ARGS, check the exit code.
expect() {
	local want=$1 what=$2
	shift 3
	local rc=0
	"$BIN" "$@" >"$out" 2>"$errf" || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: $what: exit $rc, expected $want"
		sed 's/^/    /' "$out" "$errf"
		fails=$((fails + 1))
	else
		echo "ok: $what (exit $rc)"
	fi
}
contains() { # contains FILE TEXT
	if ! grep -q -- "$2" "$1"; then
		echo "FAIL: $1 lacks '$2'"
		sed 's/^/    /' "$1"
		fails=$((fails + 1))
	fi
}
same() { # same FILE TEXT: the file's content is exactly TEXT
	if [ "$(cat "$1")" != "$2" ]; then
		echo "FAIL: $1 is '$(cat "$1")', expected '$2'"
		fails=$((fails + 1))
	fi
}
b64() { python3 -c 'import base64, sys; print(base64.b64encode(open(sys.argv[1], "rb").read()).decode())' "$1"; }

C=$T/chain
mkdir -p "$C" "$T/s1" "$T/s2" "$T/s3" "$T/none"
"$HELPER" --write-chain "$C"
ROOT=(--trust-root "$C/ark.cert")

# ---- owner session -------------------------------------------------------------------------------
expect 0 "session from --certs DIR" -- owner session --certs "$C" "${ROOT[@]}" --policy nodbg,noks,es \
	--name g1 --out-dir "$T/s1"
contains "$out" "PDH chain verified"
for f in g1_godh.b64 g1_session.b64 g1_tek.bin g1_tik.bin; do
	[ -f "$T/s1/$f" ] || { echo "FAIL: $f not written"; fails=$((fails + 1)); }
done
for f in g1_tek.bin g1_tik.bin; do
	[ "$(stat -c %a "$T/s1/$f")" = 600 ] || { echo "FAIL: $f mode $(stat -c %a "$T/s1/$f")"; fails=$((fails + 1)); }
	[ "$(stat -c %s "$T/s1/$f")" = 16 ] || { echo "FAIL: $f size"; fails=$((fails + 1)); }
done
"$HELPER" --open-session "$C" "$T/s1" g1 0x7 || { echo "FAIL: the firmware side cannot open g1"; fails=$((fails + 1)); }
if "$HELPER" --open-session "$C" "$T/s1" g1 0x3 2>/dev/null; then
	echo "FAIL: g1 opened under another policy"
	fails=$((fails + 1))
fi

# Certificates one by one, the platform's as a base64 PEK ‖ OCA ‖ CEK bundle, the AMD chain as ASK ‖ ARK;
# a fixed GODH key; default name vm.
cat "$C/pek.cert" "$C/oca.cert" "$C/cek.cert" >"$T/bundle.bin"
b64 "$T/bundle.bin" >"$T/bundle.b64"
cat "$C/ask.cert" "$C/ark.cert" >"$T/ask_ark.cert"
expect 0 "session from a base64 bundle, --amd-chain, --godh-key" -- owner session --pdh "$C/pdh.cert" \
	--pek "$T/bundle.b64" --amd-chain "$T/ask_ark.cert" "${ROOT[@]}" --policy 0x1 --out-dir "$T/s2" \
	--godh-key "$C/pek.pem"
"$HELPER" --open-session "$C" "$T/s2" vm 0x1 || { echo "FAIL: the firmware side cannot open vm"; fails=$((fails + 1)); }
cp "$T/s2/vm_godh.b64" "$T/godh1"
expect 0 "the same GODH key again" -- owner session --pdh "$C/pdh.cert" --pek "$C/pek.cert" --oca "$C/oca.cert" \
	--cek "$C/cek.cert" --ask "$C/ask.cert" --ark "$C/ark.cert" "${ROOT[@]}" --policy 0x1 --out-dir "$T/s2" \
	--godh-key "$C/pek.pem"
cmp -s "$T/godh1" "$T/s2/vm_godh.b64" || { echo "FAIL: GODH certificate differs for one key"; fails=$((fails + 1)); }

# Refusals: nothing written for an unverified PDH.
expect 1 "session refused: synthetic ARK not pinned" -- owner session --certs "$C" --policy 0x1 --out-dir "$T/none"
contains "$errf" "sev.chain.ark"
expect 1 "session refused: foreign OCA" -- owner session --pdh "$C/pdh.cert" --pek "$C/pek2.cert" \
	--oca "$C/oca2.cert" --cek "$C/cek.cert" --ask "$C/ask.cert" "${ROOT[@]}" --trusted-oca "$C/oca.cert" \
	--policy 0x1 --out-dir "$T/none"
contains "$errf" "sev.chain.oca"
expect 1 "session refused: PEK not signed by the OCA" -- owner session --pdh "$C/pdh.cert" --pek "$C/pek2.cert" \
	--oca "$C/oca.cert" --cek "$C/cek.cert" --ask "$C/ask.cert" "${ROOT[@]}" --policy 0x1 --out-dir "$T/none"
contains "$errf" "sev.chain.pek_oca"
expect 1 "session refused: no CEK" -- owner session --pdh "$C/pdh.cert" --pek "$C/pek.cert" --oca "$C/oca.cert" \
	--ask "$C/ask.cert" "${ROOT[@]}" --policy 0x1 --out-dir "$T/none"
[ -z "$(ls -A "$T/none")" ] || { echo "FAIL: files written for a refused session"; fails=$((fails + 1)); }
expect 2 "session without --policy" -- owner session --certs "$C" "${ROOT[@]}" --out-dir "$T/none"
expect 2 "session with a bad policy" -- owner session --certs "$C" "${ROOT[@]}" --policy debug --out-dir "$T/none"
expect 2 "session: --pek file without a PEK" -- owner session --certs "$C" --pek "$C/oca.cert" "${ROOT[@]}" \
	--policy 1 --out-dir "$T/none"
expect 2 "owner without a command" -- owner
expect 0 "owner --help" -- owner session --help

# ---- verify --sev-report -------------------------------------------------------------------------
MN=$(cat "$C/mnonce.b64")
DG=$(cat "$C/digest.hex")
SEV=(verify --sev-report "$C/report.bin" --certs "$C" "${ROOT[@]}")
expect 0 "verify --sev-report" -- "${SEV[@]}" --mnonce "$MN" --measurement "$DG" --policy-deny debug,key-sharing,non-es \
	--policy-require nodbg --api-min 1.23 --trusted-oca "$C/oca.cert"
contains "$out" "VERIFIED"
contains "$out" "sev.binding"
contains "$out" "not identity"
expect 1 "verify: wrong mnonce" -- "${SEV[@]}" --mnonce AAAAAAAAAAAAAAAAAAAAAA==
contains "$out" "sev.report.mnonce"
expect 1 "verify: another digest" -- "${SEV[@]}" --mnonce "$MN" --measurement "$(printf '%064d' 0)"
expect 1 "verify: --policy-deny send (NOSEND clear)" -- "${SEV[@]}" --mnonce "$MN" --policy-deny send
contains "$out" "sev.policy.require"
expect 1 "verify: --api-min 1.24" -- "${SEV[@]}" --mnonce "$MN" --api-min 1.24
expect 1 "verify: pinned ARKs only" -- verify --sev-report "$C/report.bin" --certs "$C" --mnonce "$MN"
b64 "$C/report.bin" >"$T/report.b64"
expect 0 "verify: base64 report, --json" -- verify --sev-report "$T/report.b64" --certs "$C" "${ROOT[@]}" \
	--mnonce "$MN" --json
python3 -c 'import json, sys; v = json.load(open(sys.argv[1])); sys.exit(0 if v["verified"] else 1)' "$out" ||
	{ echo "FAIL: JSON verdict"; fails=$((fails + 1)); }
python3 - "$C/report.bin" "$T/tampered.bin" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[0x30] ^= 1; open(sys.argv[2], "wb").write(b)
EOF
expect 1 "verify: policy byte changed" -- verify --sev-report "$T/tampered.bin" --certs "$C" "${ROOT[@]}" --mnonce "$MN"
contains "$out" "sev.report.signature"
expect 2 "verify: no --mnonce" -- "${SEV[@]}"
expect 2 "verify: short report" -- verify --sev-report "$C/mnonce.b64" --certs "$C" "${ROOT[@]}" --mnonce "$MN"
expect 2 "verify: bad --policy-deny" -- "${SEV[@]}" --mnonce "$MN" --policy-deny migrate

# ---- vectors: M1-M4, LAUNCH_SECRET ----------------------------------------------------------------
if [ -z "$V" ] || [ ! -d "$V" ]; then
	echo "vectors absent: the sevctl vectors are skipped"
else
	D=$V/virtee-sevctl/tests/data
	TIK=$D/measurement/tik1.bin
	OVMF=$D/OVMF.amdsev.fd_trimmed_edk2-ovmf-20220126gitbb1bba3d77-4.el9
	M1=lswbxWxI9gckya16JQvdFtpYmNO4b+3inAPpqsgoBI7DE/q1EcIWsVBbGy6pkDxA
	M2=oMDewIouJSpbpNRHj7Mk3p08H2dPZQdsZMU14qIymBnDE/q1EcIWsVBbGy6pkDxA
	M3=h3auYbWQnVW7EGLWN4Hf9SN0oEYMPU2sK4bLnefWPwvDE/q1EcIWsVBbGy6pkDxA
	M4=/o0nzDKE5XgtVnUZWPhUea/WZYrTKLExR7KCwuMdbActvpWfXTFk21KMZIAAhQny
	VM=(owner verify-measurement --tik "$TIK" --api-major 1 --api-minor 40 --build 40 --policy 0x03)
	expect 0 "M1 (--launch-digest base64)" -- "${VM[@]}" --measurement "$M1" \
		--launch-digest xkvRAfyaSizgonxAjZIAkR8TmolUabBKQKb6KJCDDSM=
	contains "$out" "matches launch digest c64bd101"
	expect 0 "M1 --print" -- "${VM[@]}" --measurement "$M1" --launch-digest xkvRAfyaSizgonxAjZIAkR8TmolUabBKQKb6KJCDDSM= --print
	same "$out" "$M1"
	expect 1 "M1 under another policy" -- owner verify-measurement --tik "$TIK" --api-major 1 --api-minor 40 \
		--build 40 --policy 0x01 --measurement "$M1" --launch-digest xkvRAfyaSizgonxAjZIAkR8TmolUabBKQKb6KJCDDSM=
	contains "$out" "does not match"
	expect 0 "M2 (--ovmf)" -- "${VM[@]}" --measurement "$M2" --ovmf "$OVMF"
	expect 0 "M3 (--kernel --initrd --cmdline)" -- "${VM[@]}" --measurement "$M3" --ovmf "$OVMF" \
		--kernel "$D/measurement/vmlinuz-fake" --initrd "$D/measurement/initrd-fake" --cmdline "foo bar baz fake kernel=cmdline"
	expect 1 "M3 with another command line" -- "${VM[@]}" --measurement "$M3" --ovmf "$OVMF" \
		--kernel "$D/measurement/vmlinuz-fake" --initrd "$D/measurement/initrd-fake" --cmdline "foo"
	expect 0 "M4 (SEV-ES, the VMSA files, 4 vCPUs)" -- owner verify-measurement --tik "$TIK" --api-major 1 \
		--api-minor 49 --build 6 --policy 0x05 --measurement "$M4" --ovmf "$OVMF" --vmsa-cpu0 "$D/vmsa0.bin" \
		--vmsa-cpu1 "$D/vmsa1.bin" --num-cpus 4
	expect 1 "M4 with 3 vCPUs" -- owner verify-measurement --tik "$TIK" --api-major 1 --api-minor 49 --build 6 \
		--policy 0x05 --measurement "$M4" --ovmf "$OVMF" --vmsa-cpu0 "$D/vmsa0.bin" --vmsa-cpu1 "$D/vmsa1.bin" --num-cpus 3
	expect 2 "verify-measurement without the digest" -- "${VM[@]}" --measurement "$M1"
	expect 2 "verify-measurement: short blob" -- "${VM[@]}" --measurement AAAA --launch-digest "$(printf '%064d' 0)"

	# Real platform chains (vectors §3): a session for a Naples and a Rome PDH under AMD's pinned ARKs;
	# PDH_CERT_EXPORT's bundle with its unsigned CEK is refused at sev.chain.cek (N7).
	VS=$V/virtee-sev
	mkdir -p "$T/real" "$T/none2"
	for p in naples rome; do
		expect 0 "session for the real $p PDH" -- owner session --pdh "$VS/tests/$p/pdh.cert" \
			--pek "$VS/tests/$p/pek.cert" --oca "$VS/tests/$p/oca.cert" --cek "$VS/tests/$p/cek.cert" \
			--ask "$VS/src/certs/sev/builtin/$p/ask.cert" --ark "$VS/src/certs/sev/builtin/$p/ark.cert" \
			--policy 0x1 --name "$p" --out-dir "$T/real"
		contains "$out" "to AMD's pinned ARK"
	done
	N2=$VS/at-b0aa2b0b6f81/src/certs/tests/naples
	expect 1 "session refused: unsigned CEK from PDH_CERT_EXPORT" -- owner session --pdh "$N2/pdh.cert" \
		--pek "$N2/pek_oca_cek.cert" --ask "$VS/src/certs/sev/builtin/naples/ask.cert" \
		--ark "$VS/src/certs/sev/builtin/naples/ark.cert" --policy 0x1 --out-dir "$T/none2"
	contains "$errf" "sev.chain.cek"
	[ -z "$(ls -A "$T/none2")" ] || { echo "FAIL: files written for a refused session"; fails=$((fails + 1)); }

	S=$D/secret
	PS=(owner package-secret --tek "$S/tek1.bin" --tik "$S/tik1.bin"
		--measurement TLeA7607lZQntLjRY1/i+sbtdSZ+75zxpz4Px9hzpBLwItF5Q2o4prA++3ZZv9ZS --iv rFR07U3TLH2YnsUj2SVZ7A==)
	expect 0 "secret vector 1 (--base64)" -- "${PS[@]}" --secret "736869e5-84f0-4973-92ec-06879ce3da0b:$S/secret1.txt" \
		--out-header "$T/h1" --out-secret "$T/p1" --base64
	same "$T/h1" "AAAAAKxUdO1N0yx9mJ7FI9klWey8FSzeYQ4X8K71VzNKLU/KQsIsQxLjtbhaPUewqshX5Q=="
	same "$T/p1" "0U3e5PcXv0UW+H4tSBFKOdCYfKE1+j38Bc2fuO16mYiyI+sWx7INfn+lgYj56GL12yyinDa+lVfCCwD/2w5cPA=="
	expect 0 "secret vector 2 (binary)" -- "${PS[@]}" --secret "736869e5-84f0-4973-92ec-06879ce3da0b:$S/secret1.txt" \
		--secret "736869e5-aaaa-4973-92ec-06879ce3da0b:$S/secret2.txt" --out-header "$T/h2" --out-secret "$T/p2"
	[ "$(b64 "$T/h2")" = "AAAAAKxUdO1N0yx9mJ7FI9klWeyZ3r0dOEKHUOhIRqzGYYvTJgdMtBPL1nK6GD9aGET7Ng==" ] ||
		{ echo "FAIL: secret vector 2 header"; fails=$((fails + 1)); }
	[ "$(b64 "$T/p2")" = "0U3e5PcXv0UW+H4tSBFKObWYfKE1+j38Bc2fuO16mYiyI+sWx7INfn+lgYj56GL12yyinDa+lVfCC+WWs332lpLNUX1ZI3YK7vYgtys4X+uGxEIlkIQ90v8/w8ZFmQMe" ] ||
		{ echo "FAIL: secret vector 2 payload"; fails=$((fails + 1)); }
	expect 0 "secret4 fills the 16 KiB area" -- "${PS[@]}" --secret "736869e5-84f0-4973-92ec-06879ce3da0b:$S/secret4.txt" \
		--out-header "$T/h4" --out-secret "$T/p4"
	[ "$(stat -c %s "$T/p4")" = 16384 ] || { echo "FAIL: secret4 payload size"; fails=$((fails + 1)); }
	expect 2 "secret: bad GUID" -- "${PS[@]}" --secret "736869e5:$S/secret1.txt" --out-header "$T/h5" --out-secret "$T/p5"
	expect 2 "secret: too large for the area" -- "${PS[@]}" --secret "736869e5-84f0-4973-92ec-06879ce3da0b:$S/secret4.txt" \
		--secret "736869e5-84f0-4973-92ec-06879ce3da0c:$S/secret1.txt" --out-header "$T/h5" --out-secret "$T/p5"
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "all ok"
