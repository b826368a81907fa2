package source

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sshServer is a throwaway sshd on 127.0.0.1 that lets the current user in
// with one key.
type sshServer struct {
	port int
	key  string // the client's private key
	user string
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startSSHD(t *testing.T) *sshServer {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(sshd); err != nil {
		t.Skip("sshd is not installed (Debian: openssh-server): the ssh git test needs a local sshd")
	}
	for _, b := range []string{"ssh", "ssh-keygen", "ssh-agent", "ssh-add"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s is not installed (Debian: openssh-client)", b)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Skipf("current user: %v", err)
	}
	if os.Geteuid() == 0 {
		// sshd running as root insists on its privilege separation directory
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Skipf("sshd needs /run/sshd: %v", err)
		}
	}
	dir := t.TempDir()
	s := &sshServer{key: filepath.Join(dir, "id"), user: u.Username, port: freePort(t)}
	for _, k := range []string{"host", "id"} {
		run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kiln-test", "-f", filepath.Join(dir, k))
	}
	pub, err := os.ReadFile(s.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host
AuthorizedKeysFile %[2]s/authorized_keys
PidFile %[2]s/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
`, s.port, dir)
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Skipf("starting sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", logs.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port)); err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not start:\n%s", logs.String())
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startAgent runs an ssh-agent holding key and returns its socket.
func startAgent(t *testing.T, key string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent did not start")
		}
	}
	add := exec.Command("ssh-add", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	return sock
}

// TestGitSSH fetches over ssh:// and scp-style URLs from a local sshd,
// authenticating with a key file (GIT_SSH_COMMAND) or an ssh agent
// (SSH_AUTH_SOCK), as git would.
func TestGitSSH(t *testing.T) {
	needGit(t)
	s := startSSHD(t)
	f := newGitFixture(t, fixtureDate)
	repo := filepath.Join(f.root, "repo.git")
	agent := startAgent(t, s.key)
	// no user or system ssh config, no host key prompt, never a password prompt
	ssh := "ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR"
	withKey := ssh + " -o IdentitiesOnly=yes -i " + s.key
	tests := []struct {
		name    string
		src     string
		env     []string
		want    []string
		origin  string // with --keep-git-dir: .git's origin
		wantErr string
	}{
		{name: "ssh URL, key file", src: fmt.Sprintf("ssh://%s@127.0.0.1:%d%s#other", s.user, s.port, repo),
			env: []string{"GIT_SSH_COMMAND=" + withKey, "SSH_AUTH_SOCK="}, want: treeOther,
			origin: fmt.Sprintf("ssh://xxxxx@127.0.0.1:%d%s", s.port, repo)},
		{name: "scp-style, key file", src: fmt.Sprintf("%s@127.0.0.1:%s#v1", s.user, repo),
			env: []string{"GIT_SSH_COMMAND=" + withKey + fmt.Sprintf(" -p %d", s.port), "SSH_AUTH_SOCK="}, want: treeV1,
			origin: fmt.Sprintf("%s@127.0.0.1:%s", s.user, repo)},
		{name: "agent", src: fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", s.user, s.port, repo),
			env: []string{"GIT_SSH_COMMAND=" + ssh + " -o IdentityFile=none", "SSH_AUTH_SOCK=" + agent}, want: treeMain},
		{name: "no key", src: fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", s.user, s.port, repo),
			env: []string{"GIT_SSH_COMMAND=" + ssh + " -o IdentityFile=none", "SSH_AUTH_SOCK="}, wantErr: "Permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ref, err := ResolveGit(ctx, tt.src, WithGitEnv(tt.env...), WithKeepGitDir(tt.origin != ""))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveGit error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(t.TempDir(), "dest")
			if err := FetchGit(ctx, ref, dest, WithGitEnv(tt.env...)); err != nil {
				t.Fatal(err)
			}
			if d := diffLines(tt.want, listTree(t, dest, inGitDir)); d != "" {
				t.Errorf("checkout differs:\n%s", d)
			}
			if tt.origin != "" {
				if got := f.git(dest, "remote", "get-url", "origin"); got != tt.origin {
					t.Errorf(".git origin = %s, want %s", got, tt.origin)
				}
			}
		})
	}
}
