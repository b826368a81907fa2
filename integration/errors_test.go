package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput: every error names the Dockerfile line, the path or the flag,
// exits 1 with one clear message, and leaves nothing tagged.
func TestBadInput(t *testing.T) {
	needSetup(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	cases := []struct {
		name  string
		files map[string]string
		args  []string
		want  []string
	}{
		{"unknown instruction", map[string]string{"Dockerfile": "FROM busybox\n\nCOPPY a b\n"}, nil,
			[]string{"Dockerfile:3:", "unknown instruction: COPPY"}},
		{"missing context file", map[string]string{"Dockerfile": "FROM busybox\nCOPY app.go /\n"}, nil,
			[]string{"Dockerfile:2:", `"app.go" not found`}},
		{"copy outside context", map[string]string{"Dockerfile": "FROM busybox\nCOPY ../secret /\n"}, nil,
			[]string{"Dockerfile:2:", "outside"}},
		{"unknown stage in --target", map[string]string{"Dockerfile": "FROM busybox AS a\n"}, []string{"--target", "nope"},
			[]string{"--target", "nope"}},
		{"cycle", map[string]string{"Dockerfile": "FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\nCOPY --from=a /y /y\n"}, nil,
			[]string{"needs to be defined before current stage"}},
		{"variable in --from", map[string]string{"Dockerfile": "ARG S=a\nFROM busybox AS a\nFROM busybox\nCOPY --from=$S /x /x\n"}, nil,
			[]string{"Dockerfile:4:", "variable expansion is not supported for --from"}},
		{"bad stage index", map[string]string{"Dockerfile": "FROM busybox\nCOPY --from=5 /x /x\n"}, nil,
			[]string{"Dockerfile:2:", "invalid stage index 5"}},
		{"no FROM", map[string]string{"Dockerfile": "RUN echo\n"}, nil,
			[]string{"Dockerfile"}},
		{"bad chmod", map[string]string{"Dockerfile": "FROM busybox\nCOPY --chmod=9z9 Dockerfile /\n"}, nil,
			[]string{"Dockerfile:2:", "--chmod"}},
		{"unknown chown user", map[string]string{"Dockerfile": "FROM busybox\nCOPY --chown=ghost Dockerfile /\n"}, nil,
			[]string{"Dockerfile:2:", "ghost"}},
		{"bad output", map[string]string{"Dockerfile": "FROM busybox\n"}, []string{"-o", "type=floppy"},
			[]string{"--output", "floppy"}},
		{"bad platform", map[string]string{"Dockerfile": "FROM busybox\n"}, []string{"--platform", "linux//s390x"},
			[]string{"--platform"}},
		{"bad flag", map[string]string{"Dockerfile": "FROM busybox\n"}, []string{"--frobnicate"},
			[]string{"--frobnicate"}},
		{"exponential ARGs", map[string]string{"Dockerfile": "FROM busybox\nARG a=xxxxxxxxxx\nARG b=$a$a$a$a$a$a$a$a$a$a\nARG c=$b$b$b$b$b$b$b$b$b$b\nARG d=$c$c$c$c$c$c$c$c$c$c\nARG e=$d$d$d$d$d$d$d$d$d$d\nARG f=$e$e$e$e$e$e$e$e$e$e\nARG g=$f$f$f$f$f$f$f$f$f$f\nARG h=$g$g$g$g$g$g$g$g$g$g\nARG i=$h$h$h$h$h$h$h$h$h$h\nENV j=$i$i$i$i$i$i$i$i$i$i\n"}, nil,
			[]string{"Dockerfile:8:", "ARG g", "variable expansion too large"}},
		{"invalid STOPSIGNAL", map[string]string{"Dockerfile": "FROM busybox\nSTOPSIGNAL SIGBOGUS\n"}, nil,
			[]string{"Dockerfile:2:", "invalid signal: SIGBOGUS"}},
		{"bad ADD checksum", map[string]string{"Dockerfile": "FROM busybox\nADD --checksum=sha256:zz http://127.0.0.1:1/x /x\n"}, nil,
			[]string{"Dockerfile:2:", "--checksum=sha256:zz", "invalid checksum digest"}},
		{"symlink loop", map[string]string{"Dockerfile": "FROM busybox\nCOPY loop /x\n"}, nil,
			[]string{"Dockerfile:2:", "symlink loop"}},
		{"exit code above 128", map[string]string{"Dockerfile": "FROM busybox\nRUN exit 200\n"}, nil,
			[]string{"Dockerfile:2:", "exit code: 200"}},
		{"empty compression", map[string]string{"Dockerfile": "FROM busybox\n"}, []string{"--compression="},
			[]string{"--compression="}},
		{"push=maybe", map[string]string{"Dockerfile": "FROM busybox\n"}, []string{"-o", "type=image,push=maybe"},
			[]string{"push=maybe"}},
		{"foreign frontend", map[string]string{"Dockerfile": "# syntax=example.com/frontend:1\nFROM busybox\n"}, nil,
			[]string{"syntax=example.com/frontend:1", "built-in"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(outside, strings.ReplaceAll(c.name, " ", "-"))
			for p, body := range c.files {
				os.MkdirAll(dir, 0o755)
				os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644)
			}
			if c.name == "symlink loop" {
				os.Symlink("loop2", filepath.Join(dir, "loop"))
				os.Symlink("loop", filepath.Join(dir, "loop2"))
			}
			r := kiln(t, append(append([]string{"build", "-t", "bad:1"}, c.args...), dir)...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("error lacks %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stack trace in error:\n%s", r.stderr)
			}
		})
	}
	if strings.Contains(mustKiln(t, "images").stdout, "bad ") {
		t.Error("a failed build tagged bad:1")
	}
}
