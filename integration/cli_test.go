package integration

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestCLIInputs: -f - reads the Dockerfile from stdin, --build-arg K takes
// the environment's value, -q prints only the image ID, --label lands on
// the target image.
func TestCLIInputs(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"f.txt": "f\n"})
	os.Setenv("KILN_TEST_ARG", "from-env")
	defer os.Unsetenv("KILN_TEST_ARG")
	df := "FROM busybox\nARG KILN_TEST_ARG\nRUN echo $KILN_TEST_ARG > /arg.txt\nCOPY f.txt /\n"
	r := kilnIn(t, storeRoot, strings.NewReader(df), "build", "-q", "-f", "-", "-t", "cli:1",
		"--build-arg", "KILN_TEST_ARG", "--label", "org.example.x=y", dir)
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`).MatchString(r.stdout) || r.stderr != "" {
		t.Errorf("-q printed stdout %q stderr %q", r.stdout, r.stderr)
	}
	img := storedImage(t, "cli:1")
	if got := flatten(t, img)["arg.txt"].body; got != "from-env\n" {
		t.Errorf("arg.txt = %q", got)
	}
	cf, _ := img.ConfigFile()
	if cf.Config.Labels["org.example.x"] != "y" {
		t.Errorf("labels = %v", cf.Config.Labels)
	}
	if id, _ := img.ConfigName(); strings.TrimSpace(r.stdout) != id.String() {
		t.Errorf("-q printed %s, image ID is %s", r.stdout, id)
	}
}
