package integration

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// TestSSHMount: --ssh with a key file (kiln serves it as an agent) and
// with an agent socket; RUN --mount=type=ssh sees it at SSH_AUTH_SOCK; a
// required mount without --ssh fails naming the flag; the socket never
// reaches a layer.
func TestSSHMount(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": `FROM busybox
COPY agentlist /agentlist
RUN --mount=type=ssh /agentlist > /keys.txt && echo "$SSH_AUTH_SOCK" > /sock.txt
RUN --mount=type=ssh,id=other,target=/tmp/agent.sock,required SSH_AUTH_SOCK=/tmp/agent.sock /agentlist > /other.txt
`})
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "agentlist"), "./testdata/agentlist")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the agent client: %v\n%s", err, out)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_test")
	os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600)

	// a second source: a running agent's socket
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ring := agent.NewKeyring()
	_, priv2, _ := ed25519.GenerateKey(rand.Reader)
	ring.Add(agent.AddedKey{PrivateKey: priv2, Comment: "from-the-agent"})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(ring, c); c.Close() }()
		}
	}()

	out := filepath.Join(t.TempDir(), "out")
	mustKiln(t, "build", "--ssh", "default="+keyFile, "--ssh", "other="+sock, "-o", out, dir)
	read := func(p string) string { b, _ := os.ReadFile(filepath.Join(out, p)); return string(b) }
	if got := read("keys.txt"); !strings.Contains(got, "ssh-ed25519 "+keyFile) {
		t.Errorf("keys seen through --ssh default=KEY: %q", got)
	}
	if got := read("sock.txt"); got != "/run/buildkit/ssh_agent.0\n" {
		t.Errorf("SSH_AUTH_SOCK = %q", got)
	}
	if got := read("other.txt"); !strings.Contains(got, "from-the-agent") {
		t.Errorf("keys seen through --ssh other=SOCKET: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(out, "run/buildkit")); err == nil {
		t.Error("the agent socket's mount point reached the image")
	}
	required := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=ssh,id=other,required true\n"})
	if r := kiln(t, "build", required); r.code != 1 || !strings.Contains(r.stderr, "--ssh other") {
		t.Errorf("required ssh mount without --ssh: %d %s", r.code, r.stderr)
	}
}
