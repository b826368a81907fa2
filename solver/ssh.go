package solver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// sshSource is one --ssh value: an agent socket to forward, or private
// key files to serve from an agent of kiln's own.
type sshSource struct {
	socket string
	keys   agent.Agent
}

// parseSSH reads --ssh values as buildx does: "default" (or "ID") forwards
// $SSH_AUTH_SOCK; "ID=PATH[,PATH…]" forwards the agent socket at PATH, or
// serves the private keys in the files at PATH.
func parseSSH(values []string) (map[string]sshSource, error) {
	out := map[string]sshSource{}
	for _, v := range values {
		id, paths, _ := strings.Cut(v, "=")
		if id == "" {
			return nil, fmt.Errorf("--ssh %q: want ID or ID=PATH[,PATH]", v)
		}
		if paths == "" {
			sock := os.Getenv("SSH_AUTH_SOCK")
			if sock == "" {
				return nil, fmt.Errorf("--ssh %s: SSH_AUTH_SOCK is not set (start an agent, or give %s=KEYFILE)", id, id)
			}
			out[id] = sshSource{socket: sock}
			continue
		}
		src, err := sshFromPaths(strings.Split(paths, ","))
		if err != nil {
			return nil, fmt.Errorf("--ssh %s: %w", v, err)
		}
		out[id] = src
	}
	return out, nil
}

func sshFromPaths(paths []string) (sshSource, error) {
	if len(paths) == 1 {
		if fi, err := os.Stat(paths[0]); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return sshSource{socket: paths[0]}, nil
		}
	}
	keyring := agent.NewKeyring()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return sshSource{}, err
		}
		key, err := ssh.ParseRawPrivateKey(b)
		if err != nil {
			var pass *ssh.PassphraseMissingError
			if errors.As(err, &pass) {
				return sshSource{}, fmt.Errorf("%s is protected by a passphrase: load it into an ssh agent and use --ssh default", p)
			}
			return sshSource{}, fmt.Errorf("%s: %w", p, err)
		}
		if err := keyring.Add(agent.AddedKey{PrivateKey: key, Comment: p}); err != nil {
			return sshSource{}, err
		}
	}
	return sshSource{keys: keyring}, nil
}

// sshMount gives a RUN the agent of --ssh id through a socket of its own
// at the mount's target (owned by the mount's uid:gid, mode 0600 by
// default, as BuildKit), which relays to the source. stop closes it.
func (s *stage) sshMount(ctx context.Context, rm runMount, src sshSource) (*specs.Mount, func(), error) {
	dir, err := os.MkdirTemp(s.tmp, "ssh-")
	if err != nil {
		return nil, nil, err
	}
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	m := rm.m
	mode := os.FileMode(0o600)
	if m.Mode != nil {
		mode = os.FileMode(*m.Mode)
	}
	uid, gid := 0, 0
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	if err := os.Chmod(sock, mode); err == nil {
		err = os.Chown(sock, uid, gid)
	}
	if err != nil && os.Geteuid() == 0 {
		l.Close()
		os.RemoveAll(dir)
		return nil, nil, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		relayAgent(ctx, l, src)
	}()
	stop := func() {
		l.Close()
		wg.Wait()
		os.RemoveAll(dir)
	}
	return &specs.Mount{Destination: rm.target, Type: "bind", Source: sock, Options: []string{"bind"}}, stop, nil
}

// relayAgent serves each connection to l: forwarded to the agent socket,
// or answered by the key ring.
func relayAgent(ctx context.Context, l net.Listener, src sshSource) {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer c.Close()
			if src.keys != nil {
				agent.ServeAgent(src.keys, c)
				return
			}
			var d net.Dialer
			up, err := d.DialContext(ctx, "unix", src.socket)
			if err != nil {
				return
			}
			// the agent protocol is request and answer: when either side
			// hangs up, the conversation is over
			go func() { io.Copy(up, c); up.Close(); c.Close() }()
			io.Copy(c, up)
			up.Close()
		}()
	}
}
