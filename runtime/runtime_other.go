//go:build !linux

package runtime

// Init does nothing on platforms without Linux containers.
func Init() {}

// NewLibcontainer returns ErrUnsupported on platforms other than Linux.
func NewLibcontainer(stateDir string, opts ...Option) (Executor, error) {
	return nil, ErrUnsupported
}

// NewOCIRuntime returns ErrUnsupported on platforms other than Linux.
func NewOCIRuntime(binary, stateDir string, opts ...Option) (Executor, error) {
	return nil, ErrUnsupported
}

// Rootless is false where kiln does not run containers.
func Rootless() bool { return false }

// EnterRootless does nothing where kiln does not run containers.
func EnterRootless() {}

// CanRun is false for everything where kiln runs no containers.
func CanRun(arch string) error { return ErrUnsupported }
