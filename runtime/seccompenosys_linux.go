package runtime

import (
	"fmt"

	"github.com/opencontainers/runc/libcontainer/configs"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// This file adapts runc v1.5.2's libcontainer/seccomp/patchbpf (Apache-2.0):
// a stub in front of libseccomp's filter makes every syscall newer than the
// newest one the profile names fail with ENOSYS instead of the profile's
// default action (EPERM), so that programs fall back from syscalls this
// profile does not know yet as they would on an older kernel.

// retErrnoENOSYS is SCMP_ACT_ERRNO(ENOSYS).
const retErrnoENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)

// bpfSizeofInt is sizeof(int) in seccomp_data.
const bpfSizeofInt = 4

// s390xMultiplexSyscall is setup(2), which s390(x) uses to multiplex large
// syscall numbers; unknown syscalls end up there.
const s390xMultiplexSyscall libseccomp.ScmpSyscall = 0

var auditArches = map[libseccomp.ScmpArch]uint32{
	libseccomp.ArchX86:         unix.AUDIT_ARCH_I386,
	libseccomp.ArchAMD64:       unix.AUDIT_ARCH_X86_64,
	libseccomp.ArchX32:         unix.AUDIT_ARCH_X86_64, // with bit 30 set in syscall numbers
	libseccomp.ArchARM:         unix.AUDIT_ARCH_ARM,
	libseccomp.ArchARM64:       unix.AUDIT_ARCH_AARCH64,
	libseccomp.ArchMIPS:        unix.AUDIT_ARCH_MIPS,
	libseccomp.ArchMIPS64:      unix.AUDIT_ARCH_MIPS64,
	libseccomp.ArchMIPS64N32:   unix.AUDIT_ARCH_MIPS64N32,
	libseccomp.ArchMIPSEL:      unix.AUDIT_ARCH_MIPSEL,
	libseccomp.ArchMIPSEL64:    unix.AUDIT_ARCH_MIPSEL64,
	libseccomp.ArchMIPSEL64N32: unix.AUDIT_ARCH_MIPSEL64N32,
	libseccomp.ArchPPC:         unix.AUDIT_ARCH_PPC,
	libseccomp.ArchPPC64:       unix.AUDIT_ARCH_PPC64,
	libseccomp.ArchPPC64LE:     unix.AUDIT_ARCH_PPC64LE,
	libseccomp.ArchS390:        unix.AUDIT_ARCH_S390,
	libseccomp.ArchS390X:       unix.AUDIT_ARCH_S390X,
	libseccomp.ArchRISCV64:     unix.AUDIT_ARCH_RISCV64,
	libseccomp.ArchLOONGARCH64: unix.AUDIT_ARCH_LOONGARCH64,
}

// lastSyscalls maps an AUDIT_ARCH to the largest syscall number the
// profile names for each libseccomp arch of it (x86_64 has two: amd64, x32).
type lastSyscalls map[uint32]map[libseccomp.ScmpArch]libseccomp.ScmpSyscall

// enosysStub returns the stub for cfg, assembled, or nil when the default
// action already allows or returns ENOSYS.
func enosysStub(cfg *configs.Seccomp) ([]unix.SockFilter, error) {
	if cfg.DefaultErrnoRet != nil && *cfg.DefaultErrnoRet == uint(unix.ENOSYS) {
		return nil, nil
	}
	switch cfg.DefaultAction {
	case configs.Allow, configs.Log, configs.Trace:
		return nil, nil
	}
	last, err := findLastSyscalls(cfg)
	if err != nil {
		return nil, err
	}
	prog, err := enosysProgram(last)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("assembling -ENOSYS stub: %w", err)
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

// findLastSyscalls finds the largest syscall number cfg names for each of
// its architectures and the native one.
func findLastSyscalls(cfg *configs.Seccomp) (lastSyscalls, error) {
	arches := map[libseccomp.ScmpArch]bool{}
	for _, a := range cfg.Architectures {
		arch, err := libseccomp.GetArchFromString(a)
		if err != nil {
			return nil, fmt.Errorf("architecture %s: %w", a, err)
		}
		arches[arch] = true
	}
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, fmt.Errorf("native architecture: %w", err)
	}
	arches[native] = true
	last := lastSyscalls{}
	for arch := range arches {
		audit, ok := auditArches[arch]
		if !ok {
			return nil, fmt.Errorf("no AUDIT_ARCH for architecture %v", arch)
		}
		var largest libseccomp.ScmpSyscall
		for _, call := range cfg.Syscalls {
			if nr, err := libseccomp.GetSyscallFromNameByArch(call.Name, arch); err == nil && nr > largest {
				largest = nr
			}
		}
		if largest == 0 {
			continue
		}
		if last[audit] == nil {
			last[audit] = map[libseccomp.ScmpArch]libseccomp.ScmpSyscall{}
		}
		last[audit][arch] = largest
	}
	return last, nil
}

// enosysProgram generates the stub. It is built backwards, from the end,
// because its jumps are counted from the end of the stub (where the filter
// starts).
func enosysProgram(last lastSyscalls) ([]bpf.Instruction, error) {
	archJump := map[uint32]uint32{}
	tail := []bpf.Instruction{
		bpf.Jump{Skip: 1}, // fall through into the filter
		bpf.RetConstant{Val: retErrnoENOSYS},
	}
	for audit, maxes := range last {
		enosys := uint32(len(tail) - 1)                                            // instructions to skip to reach the ENOSYS return
		section := []bpf.Instruction{bpf.LoadAbsolute{Off: 0, Size: bpfSizeofInt}} // syscall number
		var err error
		switch len(maxes) {
		case 1:
			section, err = enosysSection1(section, audit, maxes, enosys)
		case 2:
			section, err = enosysSectionX32(section, audit, maxes, enosys)
		default:
			err = fmt.Errorf("%d architectures on AUDIT_ARCH %#x", len(maxes), audit)
		}
		if err != nil {
			return nil, err
		}
		tail = append(section, tail...)
		archJump[audit] = uint32(len(tail))
	}
	// Other architectures go straight to the filter (which refuses them).
	tail = append([]bpf.Instruction{bpf.Jump{Skip: uint32(len(tail))}}, tail...)
	for audit := range last {
		jump := uint32(len(tail)) - archJump[audit]
		if jump <= 255 {
			tail = append([]bpf.Instruction{
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: audit, SkipTrue: uint8(jump)},
			}, tail...)
		} else {
			tail = append([]bpf.Instruction{
				bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: audit, SkipTrue: 1},
				bpf.Jump{Skip: jump},
			}, tail...)
		}
	}
	return append([]bpf.Instruction{bpf.LoadAbsolute{Off: bpfSizeofInt, Size: bpfSizeofInt}}, tail...), nil
}

// enosysSection1 is the section for an AUDIT_ARCH with one libseccomp arch.
func enosysSection1(section []bpf.Instruction, audit uint32, maxes map[libseccomp.ScmpArch]libseccomp.ScmpSyscall, enosys uint32) ([]bpf.Instruction, error) {
	var arch libseccomp.ScmpArch
	var nr libseccomp.ScmpSyscall
	for a, n := range maxes {
		arch, nr = a, n
	}
	if arch == libseccomp.ArchS390 || arch == libseccomp.ArchS390X {
		section = append(section,
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(s390xMultiplexSyscall), SkipTrue: 1},
			bpf.RetConstant{Val: retErrnoENOSYS})
	}
	toFilter := enosys + 1
	var end []bpf.Instruction
	if enosys+1 <= 255 {
		end = []bpf.Instruction{
			bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: uint32(nr), SkipTrue: uint8(enosys + 1)},
			bpf.Jump{Skip: toFilter},
		}
	} else {
		end = []bpf.Instruction{
			bpf.JumpIf{Cond: bpf.JumpLessOrEqual, Val: uint32(nr), SkipTrue: 1},
			bpf.RetConstant{Val: retErrnoENOSYS},
			bpf.Jump{Skip: toFilter},
		}
	}
	if audit == unix.AUDIT_ARCH_X86_64 {
		// Skip the section for syscalls of the other mode (bit 30: x32).
		cond := bpf.JumpBitsSet // amd64: skip x32 syscalls
		switch arch {
		case libseccomp.ArchAMD64:
		case libseccomp.ArchX32:
			cond = bpf.JumpBitsNotSet
		default:
			return nil, fmt.Errorf("unknown x86_64 architecture %v", arch)
		}
		end = append([]bpf.Instruction{bpf.JumpIf{Cond: cond, Val: 1 << 30, SkipTrue: uint8(len(end) - 1)}}, end...)
	}
	return append(section, end...), nil
}

// enosysSectionX32 is the section for x86_64 with both amd64 and x32.
func enosysSectionX32(section []bpf.Instruction, audit uint32, maxes map[libseccomp.ScmpArch]libseccomp.ScmpSyscall, enosys uint32) ([]bpf.Instruction, error) {
	if audit != unix.AUDIT_ARCH_X86_64 {
		return nil, fmt.Errorf("two architectures on AUDIT_ARCH %#x", audit)
	}
	x32, ok1 := maxes[libseccomp.ArchX32]
	x86, ok2 := maxes[libseccomp.ArchAMD64]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("x86_64 architectures %v, want amd64 and x32", maxes)
	}
	toFilter := enosys + 1
	if enosys+2 <= 255 {
		return append(section,
			bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 1 << 30, SkipTrue: 1},
			bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: uint32(x86), SkipTrue: uint8(enosys + 2), SkipFalse: 1},
			bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: uint32(x32), SkipTrue: uint8(enosys + 1)},
			bpf.Jump{Skip: toFilter},
		), nil
	}
	return append(section,
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 1 << 30, SkipTrue: 1},
		bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: uint32(x86), SkipTrue: 1, SkipFalse: 2},
		bpf.JumpIf{Cond: bpf.JumpLessOrEqual, Val: uint32(x32), SkipTrue: 1},
		bpf.RetConstant{Val: retErrnoENOSYS},
		bpf.Jump{Skip: toFilter},
	), nil
}
