package export

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

func TestToFileRegular(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.tar")
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	if err := ToFile(p, nil, writeString("one")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 (0666 less the umask)", fi.Mode().Perm())
	}
	// a failure keeps the old file and leaves no temp file behind
	boom := errors.New("boom")
	if err := ToFile(p, nil, func(w io.Writer) error { io.WriteString(w, "half"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Errorf("content after a failed write = %q, want the old one", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("dir holds %d entries, want only out.tar", len(ents))
	}
	if err := ToFile(p, nil, writeString("two")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Errorf("content = %q, want two", b)
	}
}

func TestToFileStdout(t *testing.T) {
	for _, dest := range []string{"-", "/dev/stdout"} {
		var buf bytes.Buffer
		if err := ToFile(dest, &buf, writeString("x")); err != nil {
			t.Fatal(err)
		}
		if buf.String() != "x" {
			t.Errorf("%s: stdout got %q", dest, buf.String())
		}
	}
}

func TestToFileDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	err := ToFile(dir, nil, writeString("x"))
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("err = %v, want 'is a directory'", err)
	}
}

func TestToFileFIFOWrittenThrough(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	got := make(chan string)
	go func() {
		b, _ := os.ReadFile(p)
		got <- string(b)
	}()
	if err := ToFile(p, nil, writeString("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("reader got %q", s)
	}
	if fi, _ := os.Lstat(p); fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced by %v", fi.Mode())
	}
}

func TestToFileDeviceNotReplaced(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a device node")
	}
	dir := t.TempDir()
	full := filepath.Join(dir, "full") // a private /dev/full: char 1:7
	if err := syscall.Mknod(full, syscall.S_IFCHR|0o666, 1<<8|7); err != nil {
		t.Skip("mknod:", err)
	}
	err := ToFile(full, nil, writeString("x"))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("err = %v, want ENOSPC from the device", err)
	}
	if fi, _ := os.Lstat(full); fi.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("the device was replaced by %v", fi.Mode())
	}
	null := filepath.Join(dir, "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}
	if err := ToFile(null, nil, writeString("x")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(null); fi.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("the device was replaced by %v", fi.Mode())
	}
}

func TestToFileSymlinkFollowed(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.tar")
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.tar")
	os.Symlink("real.tar", link)
	if err := ToFile(link, nil, writeString("new")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a %v", fi.Mode())
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target holds %q, want new", b)
	}
	dangling := filepath.Join(dir, "dangling")
	os.Symlink("made.tar", dangling)
	if err := ToFile(dangling, nil, writeString("made")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "made.tar")); string(b) != "made" {
		t.Errorf("dangling link target holds %q", b)
	}
}
