package copier

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const passwd = `root:x:0:0:root:/root:/bin/sh
# comment
app:x:1000:1001:App:/home/app:/bin/sh
www-data:x:33:33::/var/www:/usr/sbin/nologin
`

const group = `root:x:0:
appgrp:x:1001:app
staff:x:50:app
`

func TestResolveOwner(t *testing.T) {
	tests := []struct {
		name    string
		files   tree
		spec    string
		want    Owner
		wantErr error
		errText string
	}{
		{name: "user name uses primary group", spec: "app", want: Owner{1000, 1001}},
		{name: "user and group names", spec: "app:staff", want: Owner{1000, 50}},
		{name: "user name and numeric group", spec: "www-data:7", want: Owner{33, 7}},
		{name: "numeric user only", spec: "1234", want: Owner{1234, 1234}},
		{name: "numeric pair", spec: "1234:5678", want: Owner{1234, 5678}},
		{name: "numeric user, named group", spec: "1234:staff", want: Owner{1234, 50}},
		{name: "root", spec: "root", want: Owner{0, 0}},
		{name: "empty group keeps default", spec: "app:", want: Owner{1000, 1001}},
		{name: "numbers need no files", files: tree{}, spec: "10:20", want: Owner{10, 20}},
		{name: "root needs no files", files: tree{}, spec: "root:root", want: Owner{0, 0}},
		{name: "missing user", spec: "nobody", wantErr: ErrUnknownOwner, errText: "unable to find user nobody"},
		{name: "missing group", spec: "app:nogroup", wantErr: ErrUnknownOwner, errText: "unable to find group nogroup"},
		{name: "no passwd file", files: tree{}, spec: "app", wantErr: ErrUnknownOwner, errText: "app"},
		{name: "empty spec", spec: "", wantErr: ErrInvalidOwner},
		{name: "group only keeps root", spec: ":staff", want: Owner{UID: 0, GID: 50}},
		{name: "empty", spec: ":", wantErr: ErrInvalidOwner},
		{name: "negative id", spec: "-1", wantErr: ErrInvalidOwner},
		{name: "passwd symlink stays in root", files: tree{
			"etc/passwd": "->/data/passwd", "data/passwd": passwd, "etc/group": group,
		}, spec: "app:staff", want: Owner{1000, 50}},
		{name: "passwd is a directory", files: tree{"etc/passwd/": ""}, spec: "app", wantErr: errors.New("any")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			files := tt.files
			if files == nil {
				files = tree{"etc/passwd": passwd, "etc/group": group}
			}
			build(t, root, files)
			got, err := ResolveOwner(root, tt.spec)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("ResolveOwner(%q) = %v, want error", tt.spec, got)
				}
				if tt.wantErr.Error() != "any" && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %q, want it to contain %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ResolveOwner(%q) = %v, want %v", tt.spec, got, tt.want)
			}
		})
	}
}

// FuzzResolveOwner feeds arbitrary --chown values and passwd content: no
// panics, and numeric results are never negative.
func FuzzResolveOwner(f *testing.F) {
	f.Add("app:staff", passwd)
	f.Add("1000", "")
	f.Add("a:b:c", "a:x:1:2::/:/bin/sh\n")
	f.Add(":", "::::::\n")
	f.Add("root:-5", "")
	f.Fuzz(func(t *testing.T, spec, passwdContent string) {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(passwdContent), 0o644); err != nil {
			t.Fatal(err)
		}
		o, err := ResolveOwner(root, spec)
		if err != nil {
			return
		}
		if o.UID < 0 || o.GID < 0 {
			t.Fatalf("ResolveOwner(%q) = %v: negative id", spec, o)
		}
	})
}

// FuzzCleanSource checks that no cleaned source path can climb out of the root.
func FuzzCleanSource(f *testing.F) {
	for _, s := range []string{"a", "/a", "../a", "a/../..", "./", "", "//x/../../y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rel, err := cleanSource(p)
		if err != nil {
			return
		}
		if rel == ".." || strings.HasPrefix(rel, "../") || strings.HasPrefix(rel, "/") {
			t.Fatalf("cleanSource(%q) = %q escapes", p, rel)
		}
	})
}
