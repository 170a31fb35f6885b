# shellcheck shell=bash
# Shared helpers for the test host (tests/testhost/run) and the guest assets
# (tests/guest/*): fetch Debian's stock kernel package once, unpack it into
# the cache, and resolve module dependency order from the .ko files.
# Source this file; it defines functions only (and never installs anything).

# Where everything built from Debian packages is kept.
kl_cache_dir() {
	printf '%s\n' "${KVMLITE_CACHE:-$HOME/.cache/kvmlite}"
}

kl_die() {
	printf '%s\n' "$*" >&2
	exit 125
}

# kl_need_cmd CMD PACKAGE: fail with one clear line if CMD is missing.
kl_need_cmd() {
	command -v "$1" >/dev/null 2>&1 ||
		kl_die "kvmlite tests: '$1' is missing: apt-get install $2"
}

# kl_flavour NAME: "" / amd64 -> amd64, cloud -> cloud-amd64, arm64 ->
# arm64 (Debian's arm64 kernel: apt-get needs dpkg --add-architecture arm64,
# as tools/setup.sh --arch arm64 does), ...
kl_flavour() {
	case "${1:-amd64}" in
	*-amd64 | amd64 | *-arm64 | arm64) printf '%s\n' "${1:-amd64}" ;;
	*) printf '%s\n' "$1-amd64" ;;
	esac
}

# kl_resolve FLAVOUR: print "PACKAGE VERSION" of the kernel that
# linux-image-FLAVOUR currently depends on.  apt-cache is slow (~0.5 s), so
# the answer is remembered until apt's lists change (apt-get update).
kl_resolve() {
	local flavour cache memo line pkg ver
	flavour=$(kl_flavour "${1:-}")
	cache=$(kl_cache_dir)
	memo="$cache/debian/resolved-$flavour"
	if [[ -s $memo && ! /var/lib/apt/lists -nt $memo ]]; then
		cat "$memo"
		return
	fi
	kl_need_cmd apt-cache apt
	line=$(apt-cache show --no-all-versions "linux-image-$flavour" 2>/dev/null |
		sed -n 's/^Depends: \(linux-image-[^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -n1) || true
	if [[ -z $line ]]; then
		# No apt lists (no apt-get update yet): fall back to what is cached.
		if [[ -s $memo ]]; then
			cat "$memo"
			return
		fi
		kl_die "kvmlite tests: cannot resolve linux-image-$flavour: run 'apt-get update'"
	fi
	read -r pkg ver <<<"$line"
	mkdir -p "$cache/debian"
	printf '%s %s\n' "$pkg" "$ver" >"$memo.$$"
	mv -f "$memo.$$" "$memo"
	printf '%s %s\n' "$pkg" "$ver"
}

# kl_kernel_tree FLAVOUR: print the directory holding the unpacked kernel
# package (boot/vmlinuz-*, lib/modules/KVER/), downloading it on first use.
# Built in a temporary directory and renamed, so a killed run leaves no
# half-unpacked tree behind.
kl_kernel_tree() {
	local pkg ver cache dir tmp
	read -r pkg ver < <(kl_resolve "${1:-}")
	cache=$(kl_cache_dir)
	dir="$cache/debian/${pkg}_$ver"
	if [[ ! -d $dir ]]; then
		kl_need_cmd apt-get apt
		kl_need_cmd dpkg-deb dpkg
		mkdir -p "$cache/debian"
		tmp=$(mktemp -d "$cache/debian/.tmp-${pkg}.XXXXXX")
		echo "kvmlite tests: fetching $pkg $ver (once)" >&2
		if ! (cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) ||
			! dpkg-deb -x "$tmp/${pkg}_"*.deb "$tmp/tree"; then
			rm -rf "$tmp"
			kl_die "kvmlite tests: cannot download/unpack $pkg=$ver (apt-get download failed)"
		fi
		rm -f "$tmp/${pkg}_"*.deb
		mv "$tmp/tree" "$tmp/done" # one name for the final rename
		if ! mv -T "$tmp/done" "$dir" 2>/dev/null; then
			[[ -d $dir ]] || kl_die "kvmlite tests: cannot create $dir"
		fi
		rm -rf "$tmp"
	fi
	printf '%s\n' "$dir"
}

# kl_deb_tree PACKAGE: like kl_kernel_tree for any package (e.g.
# busybox-static:arm64, unpacked rather than installed beside the host's):
# print the directory it is unpacked in, downloading it on first use.
kl_deb_tree() {
	local pkg=$1 ver cache dir tmp
	kl_need_cmd apt-cache apt
	ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1) || true
	[[ -n $ver ]] || kl_die "kvmlite tests: cannot resolve $pkg: run 'apt-get update' (arm64: tools/setup.sh --arch arm64)"
	cache=$(kl_cache_dir)
	dir="$cache/debian/${pkg//:/-}_${ver//:/%3a}"
	if [[ ! -d $dir ]]; then
		kl_need_cmd apt-get apt
		kl_need_cmd dpkg-deb dpkg
		mkdir -p "$cache/debian"
		tmp=$(mktemp -d "$cache/debian/.tmp-${pkg//:/-}.XXXXXX")
		chmod 755 "$tmp" # apt downloads as _apt
		echo "kvmlite tests: fetching $pkg $ver (once)" >&2
		if ! (cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) ||
			! dpkg-deb -x "$tmp/"*.deb "$tmp/tree"; then
			rm -rf "$tmp"
			kl_die "kvmlite tests: cannot download/unpack $pkg=$ver (apt-get download failed)"
		fi
		mv "$tmp/tree" "$tmp/done"
		if ! mv -T "$tmp/done" "$dir" 2>/dev/null; then
			[[ -d $dir ]] || kl_die "kvmlite tests: cannot create $dir"
		fi
		rm -rf "$tmp"
	fi
	printf '%s\n' "$dir"
}

# kl_kver TREE: the kernel release (directory name under lib/modules).
kl_kver() {
	local d
	for d in "$1"/lib/modules/*/; do
		d=${d%/}
		printf '%s\n' "${d##*/}"
		return
	done
	kl_die "kvmlite tests: no lib/modules in $1"
}

# kl_vmlinuz TREE: path of the bzImage in an unpacked tree.
kl_vmlinuz() {
	local f
	for f in "$1"/boot/vmlinuz-*; do
		[[ -f $f ]] && printf '%s\n' "$f" && return
	done
	kl_die "kvmlite tests: no vmlinuz in $1"
}

# kl_vmlinux BZIMAGE OUT: extract the uncompressed ELF vmlinux (XZ payload)
# from a bzImage.  Fails if no ELF comes out.
kl_vmlinux() {
	local off part
	off=$(LC_ALL=C grep -abo -m1 $'\xfd7zXZ\x00' "$1" | head -n1 | cut -d: -f1) || return 1
	[[ -n $off ]] || return 1
	# xz, not busybox unxz: that one writes nothing when the stream is
	# followed by the bzImage's trailing bytes (xz complains, yet writes).
	# A name of its own: two tests may extract the same kernel at once.
	part=$(mktemp "$2.part.XXXXXX") || return 1
	tail -c +"$((off + 1))" "$1" | xz -dc >"$part" 2>/dev/null || true
	[[ $(head -c 4 "$part" | od -An -c | tr -d ' ') == 177ELF ]] || {
		rm -f "$part"
		return 1
	}
	chmod 644 "$part"
	mv -f "$part" "$2"
}

# kl_modules_order TREE MODULE...: print the .ko paths needed to load
# MODULEs, dependencies first (each once), read from each module's
# "depends=" modinfo field since the package ships no modules.dep.
# Modules that are built into the kernel (not found) are skipped.
kl_modules_order() {
	local tree=$1 kver f n
	shift
	kver=$(kl_kver "$tree")
	local -A path=() seen=()
	while IFS= read -r f; do
		n=${f##*/}
		n=${n%.ko}
		path[${n//-/_}]=$f
	done < <(find "$tree/lib/modules/$kver/kernel" -name '*.ko')
	_kl_visit() {
		local m=${1//-/_} deps d
		[[ -n ${seen[$m]:-} ]] && return
		seen[$m]=1
		[[ -n ${path[$m]:-} ]] || return 0
		deps=$(grep -a -o -m1 'depends=[^[:cntrl:]]*' "${path[$m]}" | head -n1) || true
		deps=${deps#depends=}
		local IFS=,
		for d in $deps; do
			_kl_visit "$d"
		done
		printf '%s\n' "${path[$m]}"
	}
	for f in "$@"; do
		_kl_visit "$f"
	done
}

# kl_ko_unsigned KO OUT: copy the module KO to OUT without its appended
# signature. The test host's kernel does not enforce signatures, but checks
# any it finds: hashing and an RSA verify per module, which under TCG cost
# about a second of every test host's start. (An unsigned module only
# taints the kernel, "E".)
kl_ko_unsigned() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = b"~Module signature appended~\n"
if data.endswith(magic):
    # struct module_signature: algo, hash, id_type, signer_len, key_id_len,
    # pad[3], __be32 sig_len; just before the magic.
    info = data[-len(magic) - 12:-len(magic)]
    signer_len, key_id_len = info[3], info[4]
    (sig_len,) = struct.unpack(">I", info[8:12])
    cut = len(magic) + 12 + sig_len + signer_len + key_id_len
    if cut > len(data):
        sys.exit(sys.argv[1] + ": bad module signature trailer")
    data = data[:-cut]
open(sys.argv[2], "wb").write(data)
PY
}

# kl_cpio_dir DIR OUT: write DIR's contents as a newc cpio (owned by root).
kl_cpio_dir() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) >"$2"
}
