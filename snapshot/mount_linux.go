package snapshot

import (
	"fmt"
	"strings"

	"github.com/moby/sys/userns"
	"golang.org/x/sys/unix"
)

// mountOverlay mounts an overlay at target. lowers are top first. upper and
// work may be empty for a read-only mount. It uses the new mount API with one
// "lowerdir+" per layer (no option-length limit, kernel >= 6.8) and falls back
// to mount(2) with a joined lowerdir option.
func mountOverlay(target string, lowers []string, upper, work string) error {
	err := mountOverlayFsconfig(target, lowers, upper, work)
	if err == nil {
		return nil
	}
	opts := "lowerdir=" + strings.Join(escapeAll(lowers), ":")
	if upper != "" {
		opts += ",upperdir=" + upper + ",workdir=" + work
	}
	if userns.RunningInUserNS() {
		opts += ",userxattr"
	}
	if err2 := unix.Mount("overlay", target, "overlay", 0, opts); err2 != nil {
		return fmt.Errorf("snapshot: mounting overlay on %s: %w (fsconfig: %v)", target, err2, err)
	}
	return nil
}

func mountOverlayFsconfig(target string, lowers []string, upper, work string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, l := range lowers {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			return fmt.Errorf("lowerdir+ %s: %w", l, err)
		}
	}
	if upper != "" {
		if err := unix.FsconfigSetString(fd, "upperdir", upper); err != nil {
			return err
		}
		if err := unix.FsconfigSetString(fd, "workdir", work); err != nil {
			return err
		}
		// no syncfs of the host filesystem at unmount (it costs ~100 ms per
		// step on a busy disk); a step's upper dir becomes a snapshot by
		// rename and is never mounted as an upper dir again
		_ = unix.FsconfigSetFlag(fd, "volatile")
	}
	if userns.RunningInUserNS() {
		// rootless: overlay keeps its markers in user.overlay.* xattrs
		if err := unix.FsconfigSetFlag(fd, "userxattr"); err != nil {
			return fmt.Errorf("userxattr: %w", err)
		}
	}
	// a layer must be a self-contained diff: no redirects, no metadata-only
	// copy-ups (both are off by default; make sure)
	_ = unix.FsconfigSetString(fd, "redirect_dir", "off")
	_ = unix.FsconfigSetString(fd, "metacopy", "off")
	if err := unix.FsconfigCreate(fd); err != nil {
		return err
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	return unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

func escapeAll(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strings.NewReplacer(`\`, `\\`, `:`, `\:`, `,`, `\,`).Replace(p)
	}
	return out
}

func unmount(target string) error {
	if err := unix.Unmount(target, 0); err != nil {
		if err == unix.EINVAL { // not mounted
			return nil
		}
		if err2 := unix.Unmount(target, unix.MNT_DETACH); err2 != nil {
			return fmt.Errorf("snapshot: unmounting %s: %w", target, err)
		}
	}
	return nil
}
