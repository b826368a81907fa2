package runtime

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The seccomp filter of a spec is compiled here, in the calling process,
// the way runc v1.5.2 compiles it in its container init when built with the
// "seccomp" tag (libcontainer/seccomp and its patchbpf package, Apache-2.0,
// which this file and seccompenosys_linux.go adapt): libseccomp's filter
// for the profile, with runc's -ENOSYS stub in front. Without that tag,
// which `go build` does not set, libcontainer refuses specs with seccomp;
// seccompload_linux.go loads the program into the container instead.

// seccompProgram is a compiled seccomp filter and the seccomp(2) flags to
// load it with.
type seccompProgram struct {
	filter []unix.SockFilter
	flags  uint
}

// seccompPrograms caches compiled programs by profile: every RUN step has
// the same one, and compiling it takes milliseconds.
var seccompPrograms = struct {
	sync.Mutex
	m map[[32]byte]*seccompProgram
}{m: map[[32]byte]*seccompProgram{}}

// compiledSeccomp returns p compiled, from the process's cache, else from
// the programs kept in dir (when not ""), else compiled (and kept there).
func compiledSeccomp(p *specs.LinuxSeccomp, dir string) (*seccompProgram, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("runtime: seccomp profile: %w", err)
	}
	key := sha256.Sum256(data)
	seccompPrograms.Lock()
	defer seccompPrograms.Unlock()
	if prog, ok := seccompPrograms.m[key]; ok {
		return prog, nil
	}
	file := ""
	if dir != "" {
		file = filepath.Join(dir, programKey(data)+".bpf")
		if prog, ok := readProgram(file); ok {
			seccompPrograms.m[key] = prog
			return prog, nil
		}
	}
	prog, err := compileSeccomp(p)
	if err != nil {
		return nil, fmt.Errorf("runtime: compiling seccomp profile: %w", err)
	}
	seccompPrograms.m[key] = prog
	if file != "" {
		writeProgram(file, prog) // best effort: the next process compiles again
	}
	return prog, nil
}

// programKey names a compiled profile on disk: the profile, libseccomp's
// version, the architecture and this executable (its path, size, mtime
// and inode: another kiln may compile, or stub, differently).
func programKey(profile []byte) string {
	h := sha256.New()
	h.Write(profile)
	major, minor, micro := libseccomp.GetLibraryVersion()
	fmt.Fprintf(h, "\x00libseccomp %d.%d.%d %s/%s\x00%s", major, minor, micro, goruntime.GOOS, goruntime.GOARCH, executableID())
	return hex.EncodeToString(h.Sum(nil))
}

var executableID = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown " + strconv.FormatInt(time.Now().UnixNano(), 10) // never matches again
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return "unknown " + strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	ino := uint64(0)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return fmt.Sprintf("%s %d %d %d", exe, fi.Size(), fi.ModTime().UnixNano(), ino)
})

// A kept program is its flags (8 bytes) and its instructions (8 bytes
// each), little-endian.
func writeProgram(file string, prog *seccompProgram) {
	b := binary.LittleEndian.AppendUint64(nil, uint64(prog.flags))
	for _, f := range prog.filter {
		b = binary.LittleEndian.AppendUint16(b, f.Code)
		b = append(b, f.Jt, f.Jf)
		b = binary.LittleEndian.AppendUint32(b, f.K)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".bpf-")
	if err != nil {
		return
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

func readProgram(file string) (*seccompProgram, bool) {
	b, err := os.ReadFile(file)
	if err != nil || len(b) < 16 || len(b)%8 != 0 {
		return nil, false
	}
	prog := &seccompProgram{flags: uint(binary.LittleEndian.Uint64(b))}
	for b = b[8:]; len(b) > 0; b = b[8:] {
		prog.filter = append(prog.filter, unix.SockFilter{
			Code: binary.LittleEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.LittleEndian.Uint32(b[4:]),
		})
	}
	return prog, true
}

// compileSeccomp compiles p as runc does.
func compileSeccomp(p *specs.LinuxSeccomp) (*seccompProgram, error) {
	flags, err := seccompFlags(p.Flags)
	if err != nil {
		return nil, err
	}
	noFlags := *p
	noFlags.Flags = []specs.LinuxSeccompFlag{} // handled above, without libcontainer's stubs
	cfg, err := specconv.SetupSeccomp(&noFlags)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, errors.New("empty profile")
	}
	if cfg.ListenerPath != "" || cfg.DefaultAction == configs.Notify {
		return nil, errors.New("SCMP_ACT_NOTIFY is not supported")
	}
	filter, err := libseccompFilter(cfg)
	if err != nil {
		return nil, err
	}
	defer filter.Release()
	prog, err := exportBPF(filter)
	if err != nil {
		return nil, err
	}
	stub, err := enosysStub(cfg)
	if err != nil {
		return nil, err
	}
	return &seccompProgram{filter: append(stub, prog...), flags: flags}, nil
}

// seccompFlags returns the seccomp(2) flags for the spec's flags. Like runc,
// it asks for SECCOMP_FILTER_FLAG_SPEC_ALLOW when the spec has no flags
// field; TSYNC is always used (see loadSeccomp).
func seccompFlags(flags []specs.LinuxSeccompFlag) (uint, error) {
	if flags == nil {
		return unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, nil
	}
	var out uint
	for _, f := range flags {
		switch f {
		case specs.LinuxSeccompFlagLog:
			out |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			out |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case specs.LinuxSeccompFlagWaitKillableRecv:
			out |= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
		case "SECCOMP_FILTER_FLAG_TSYNC":
		default:
			return 0, fmt.Errorf("unknown seccomp flag %q", f)
		}
	}
	return out, nil
}

// libseccompFilter builds libseccomp's filter for cfg, as runc's
// InitSeccomp does.
func libseccompFilter(cfg *configs.Seccomp) (*libseccomp.ScmpFilter, error) {
	defAct, err := scmpAction(cfg.DefaultAction, cfg.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("default action: %w", err)
	}
	filter, err := libseccomp.NewFilter(defAct)
	if err != nil {
		return nil, fmt.Errorf("creating filter: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			filter.Release()
		}
	}()
	for _, a := range cfg.Architectures {
		arch, err := libseccomp.GetArchFromString(a)
		if err != nil {
			return nil, fmt.Errorf("architecture %s: %w", a, err)
		}
		if err := filter.AddArch(arch); err != nil {
			return nil, fmt.Errorf("adding architecture %s: %w", a, err)
		}
	}
	if len(cfg.Syscalls) > 32 {
		// Binary tree optimisation, as runc; older libseccomp lacks it.
		_ = filter.SetOptimize(2)
	}
	for _, call := range cfg.Syscalls {
		if err := addRule(filter, call, defAct); err != nil {
			return nil, err
		}
	}
	ok = true
	return filter, nil
}

func scmpAction(act configs.Action, errnoRet *uint) (libseccomp.ScmpAction, error) {
	switch act {
	case configs.Kill, configs.KillThread:
		return libseccomp.ActKillThread, nil
	case configs.KillProcess:
		return libseccomp.ActKillProcess, nil
	case configs.Errno:
		if errnoRet != nil {
			return libseccomp.ActErrno.SetReturnCode(int16(*errnoRet)), nil
		}
		return libseccomp.ActErrno.SetReturnCode(int16(unix.EPERM)), nil
	case configs.Trap:
		return libseccomp.ActTrap, nil
	case configs.Allow:
		return libseccomp.ActAllow, nil
	case configs.Trace:
		if errnoRet != nil {
			return libseccomp.ActTrace.SetReturnCode(int16(*errnoRet)), nil
		}
		return libseccomp.ActTrace.SetReturnCode(int16(unix.EPERM)), nil
	case configs.Log:
		return libseccomp.ActLog, nil
	}
	return libseccomp.ActInvalid, fmt.Errorf("unsupported action %v", act)
}

var scmpOperators = map[configs.Operator]libseccomp.ScmpCompareOp{
	configs.EqualTo:              libseccomp.CompareEqual,
	configs.NotEqualTo:           libseccomp.CompareNotEqual,
	configs.GreaterThan:          libseccomp.CompareGreater,
	configs.GreaterThanOrEqualTo: libseccomp.CompareGreaterEqual,
	configs.LessThan:             libseccomp.CompareLess,
	configs.LessThanOrEqualTo:    libseccomp.CompareLessOrEqual,
	configs.MaskEqualTo:          libseccomp.CompareMaskedEqual,
}

// addRule adds call's rule to filter, as runc's matchCall does: a rule
// equal to the default action is skipped, a syscall libseccomp does not
// know is ignored, and conditions on the same argument become separate
// rules.
func addRule(filter *libseccomp.ScmpFilter, call *configs.Syscall, defAct libseccomp.ScmpAction) error {
	if call == nil || call.Name == "" {
		return errors.New("syscall rule without a name")
	}
	act, err := scmpAction(call.Action, call.ErrnoRet)
	if err != nil {
		return fmt.Errorf("syscall %s: %w", call.Name, err)
	}
	if act == defAct {
		return nil
	}
	nr, err := libseccomp.GetSyscallFromName(call.Name)
	if err != nil {
		return nil // unknown to libseccomp: not on this kernel
	}
	if len(call.Args) == 0 {
		if err := filter.AddRule(nr, act); err != nil {
			return fmt.Errorf("syscall %s: %w", call.Name, err)
		}
		return nil
	}
	var conds []libseccomp.ScmpCondition
	perArg := map[uint]int{}
	for _, a := range call.Args {
		op, ok := scmpOperators[a.Op]
		if !ok {
			return fmt.Errorf("syscall %s: unsupported operator %v", call.Name, a.Op)
		}
		c, err := libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		if err != nil {
			return fmt.Errorf("syscall %s: %w", call.Name, err)
		}
		perArg[a.Index]++
		conds = append(conds, c)
	}
	shared := false
	for _, n := range perArg {
		shared = shared || n > 1
	}
	if !shared {
		if err := filter.AddRuleConditional(nr, act, conds); err != nil {
			return fmt.Errorf("syscall %s: %w", call.Name, err)
		}
		return nil
	}
	for _, c := range conds {
		if err := filter.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
			return fmt.Errorf("syscall %s: %w", call.Name, err)
		}
	}
	return nil
}

// exportBPF returns libseccomp's BPF program for filter.
func exportBPF(filter *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("exporting BPF: %w", err)
	}
	f := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer f.Close()
	if err := filter.ExportBPF(f); err != nil {
		return nil, fmt.Errorf("exporting BPF: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("exporting BPF: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("exporting BPF: %w", err)
	}
	if len(data) == 0 || len(data)%8 != 0 {
		return nil, fmt.Errorf("exporting BPF: %d bytes is not a program", len(data))
	}
	prog := make([]unix.SockFilter, len(data)/8)
	// seccomp_export_bpf writes the program in the host's byte order.
	for i := range prog {
		b := data[8*i:]
		prog[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:]),
		}
	}
	return prog, nil
}
