package export

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/store"
)

// DockerHost is the docker daemon kiln loads images into: $DOCKER_HOST,
// else the default socket.
func DockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// DockerLoad sends the image to the docker daemon at host (unix:// or
// tcp://) through its API, as `docker load` of a docker archive does.
func DockerLoad(ctx context.Context, st *store.Store, desc v1.Descriptor, names []string, host string) error {
	client, base, err := dockerClient(host)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(DockerArchive(st, desc, names, pw)) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/images/load?quiet=1", pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := client.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("no docker daemon reachable at %s (%v); set DOCKER_HOST, or write a file with -o type=docker,dest=FILE", host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("docker daemon at %s: %s: %s", host, resp.Status, strings.TrimSpace(string(b)))
	}
	// the reply is a stream of JSON messages; an error is one of them
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil && (m.Error != "" || m.ErrorDetail.Message != "") {
			return fmt.Errorf("docker daemon at %s: %s%s", host, m.Error, m.ErrorDetail.Message)
		}
	}
	return sc.Err()
}

// dockerClient is an HTTP client for the docker API at host.
func dockerClient(host string) (*http.Client, string, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil, "", fmt.Errorf("DOCKER_HOST %q: %w", host, err)
	}
	switch u.Scheme {
	case "unix":
		path := u.Path
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}
		return &http.Client{Transport: tr}, "http://docker", nil
	case "tcp", "http":
		return http.DefaultClient, "http://" + u.Host, nil
	}
	return nil, "", fmt.Errorf("DOCKER_HOST %q: only unix:// and tcp:// are supported", host)
}
