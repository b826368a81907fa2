package runtime

import (
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
)

// qemuNames are the binfmt_misc entries of Debian's qemu-user-static by
// GOARCH.
var qemuNames = map[string]string{
	"amd64": "qemu-x86_64", "arm64": "qemu-aarch64", "arm": "qemu-arm", "386": "qemu-i386",
	"ppc64le": "qemu-ppc64le", "s390x": "qemu-s390x", "riscv64": "qemu-riscv64", "mips64le": "qemu-mips64el",
	"loong64": "qemu-loongarch64",
}

// CanRun reports whether RUN steps for the linux architecture arch can
// run here: natively, or through a QEMU user-mode emulator registered in
// binfmt_misc with the F flag (so that it works inside a container, whose
// root does not have the emulator). The error says how to install one.
func CanRun(arch string) error {
	if arch == goruntime.GOARCH || (goruntime.GOARCH == "amd64" && arch == "386") {
		return nil // (an x86-64 kernel runs i386 code itself)
	}
	name, ok := qemuNames[arch]
	if !ok {
		return fmt.Errorf("no emulator is known for %s", arch)
	}
	entry := "/proc/sys/fs/binfmt_misc/" + name
	b, err := os.ReadFile(entry)
	switch {
	case os.IsNotExist(err):
		if _, err := os.Stat("/proc/sys/fs/binfmt_misc/register"); err != nil {
			return fmt.Errorf("RUN for linux/%s needs QEMU user emulation, and binfmt_misc is not mounted: "+
				"mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc, then apt-get install qemu-user-static binfmt-support "+
				"(update-binfmts --enable %s)", arch, name)
		}
		return fmt.Errorf("RUN for linux/%s needs QEMU user emulation: apt-get install qemu-user-static binfmt-support "+
			"(Debian registers it in binfmt_misc; else update-binfmts --enable %s)", arch, name)
	case err != nil:
		return fmt.Errorf("RUN for linux/%s: reading %s: %w", arch, entry, err)
	}
	text := string(b)
	if !strings.HasPrefix(text, "enabled") {
		return fmt.Errorf("RUN for linux/%s: the QEMU emulator %s is disabled: update-binfmts --enable %s", arch, name, name)
	}
	for _, l := range strings.Split(text, "\n") {
		if flags, ok := strings.CutPrefix(l, "flags: "); ok && !strings.Contains(flags, "F") {
			return fmt.Errorf("RUN for linux/%s: the QEMU emulator %s is registered without the F flag, "+
				"so it cannot run inside a container: install qemu-user-static (Debian registers it with F)", arch, name)
		}
	}
	return nil
}
