package source

import (
	"errors"
	"strings"
	"testing"
)

func TestParseGit(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		src     string
		want    GitURL
		notGit  bool
		wantErr string
	}{
		{src: "https://github.com/moby/buildkit.git", want: GitURL{Remote: "https://github.com/moby/buildkit.git"}},
		{src: "https://github.com/moby/buildkit.git#v0.10.1:docs/", want: GitURL{Remote: "https://github.com/moby/buildkit.git", Ref: "v0.10.1", Subdir: "docs"}},
		{src: "https://user:tok@host/a//b/../repo.git#main", want: GitURL{Remote: "https://user:tok@host/a/repo.git", Ref: "main"}},
		{src: "HTTPS://host/repo.git", want: GitURL{Remote: "https://host/repo.git"}},
		{src: "http://host/repo.git#:sub", want: GitURL{Remote: "http://host/repo.git", Subdir: "sub", Insecure: true}},
		{src: "https://host/repo", notGit: true},
		{src: "https://host/repo.git/", notGit: true},
		{src: "https://host/archive.tar.gz", notGit: true},
		{src: "git://host/repo#main", want: GitURL{Remote: "git://host/repo", Ref: "main", Insecure: true}},
		{src: "git://127.0.0.1:9418/repo.git#:../../etc", want: GitURL{Remote: "git://127.0.0.1:9418/repo.git", Subdir: "etc", Insecure: true}},
		{src: "ssh://git@host:2222/org/repo.git#refs/tags/v1", want: GitURL{Remote: "ssh://git@host:2222/org/repo.git", Ref: "refs/tags/v1"}},
		{src: "git@github.com:moby/buildkit.git", want: GitURL{Remote: "git@github.com:moby/buildkit.git"}},
		{src: "git@github.com:moby/buildkit.git#main:frontend", want: GitURL{Remote: "git@github.com:moby/buildkit.git", Ref: "main", Subdir: "frontend"}},
		{src: "me@host.example:/srv/repo.git?ref=v1", want: GitURL{Remote: "me@host.example:/srv/repo.git", Ref: "v1"}},
		{src: "git@host:repo", want: GitURL{Remote: "git@host:repo"}},
		{src: "git@host/org/repo.git", notGit: true},
		{src: "github.com/moby/buildkit", notGit: true},
		{src: "./repo.git", notGit: true},
		{src: "../repo.git", notGit: true},
		{src: "repo.git", notGit: true},
		{src: "ftp://host/repo.git", notGit: true},
		{src: "https://host/repo.git?ref=main&subdir=docs", want: GitURL{Remote: "https://host/repo.git", Ref: "main", Subdir: "docs"}},
		{src: "https://host/repo.git?tag=v1", want: GitURL{Remote: "https://host/repo.git", Ref: "refs/tags/v1"}},
		{src: "https://host/repo.git?branch=dev", want: GitURL{Remote: "https://host/repo.git", Ref: "refs/heads/dev"}},
		{src: "https://host/repo.git?checksum=abc123&keep-git-dir", want: GitURL{Remote: "https://host/repo.git", Checksum: "abc123", KeepGitDir: &yes}},
		{src: "https://host/repo.git?commit=abc&keep-git-dir=false", want: GitURL{Remote: "https://host/repo.git", Checksum: "abc", KeepGitDir: &no}},
		{src: "https://host/repo.git?submodules=false", want: GitURL{Remote: "https://host/repo.git", SkipSubmodules: true}},
		{src: "https://host/repo.git?submodules", want: GitURL{Remote: "https://host/repo.git"}},
		{src: "https://host/repo.git?mtime=commit", want: GitURL{Remote: "https://host/repo.git"}},
		{src: "https://host/repo.git?fetch-by-commit&checksum=ab", want: GitURL{Remote: "https://host/repo.git", Checksum: "ab", FetchByCommit: true}},
		{src: "https://host/repo.git#main?ref=main", want: GitURL{Remote: "https://host/repo.git", Ref: "main?ref=main"}},
		{src: "https://host/repo.git?ref=a#a", want: GitURL{Remote: "https://host/repo.git", Ref: "a"}},
		{src: "https://host/repo.git?ref=a#b", wantErr: `ref conflicts: "b" vs "a"`},
		{src: "https://host/repo.git?subdir=x#:y", wantErr: `subdir conflicts: "y" vs "x"`},
		{src: "https://host/repo.git?tag=v1&branch=v1", wantErr: "branch conflicts with tag"},
		{src: "https://host/repo.git?ref=main&tag=v1", wantErr: `ref conflicts: "main" vs "refs/tags/v1"`},
		{src: "https://host/repo.git?ref=", wantErr: `query "ref" has no value`},
		{src: "https://host/repo.git?ref=a&ref=b", wantErr: `query "ref" has multiple values`},
		{src: "https://host/repo.git?depth=1", wantErr: `unexpected query "depth"`},
		{src: "https://host/repo.git?keep-git-dir=maybe", wantErr: `invalid keep-git-dir value: "maybe"`},
		{src: "https://host/repo.git?mtime=now", wantErr: `invalid mtime value: "now"`},
		{src: "https://u:secret@host/repo.git?x=1", wantErr: "xxxxx:xxxxx@host"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := ParseGit(tt.src)
			switch {
			case tt.notGit:
				if !errors.Is(err, ErrNotGit) {
					t.Fatalf("ParseGit = %+v, %v; want ErrNotGit", got, err)
				}
				if IsGitURL(tt.src) {
					t.Errorf("IsGitURL = true")
				}
				return
			case tt.wantErr != "":
				if err == nil || errors.Is(err, ErrNotGit) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseGit error = %v; want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if !sameGitURL(got, tt.want) {
				t.Errorf("ParseGit =\n %+v\nwant\n %+v", got, tt.want)
			}
			if !IsGitURL(tt.src) {
				t.Errorf("IsGitURL = false")
			}
		})
	}
}

func sameGitURL(a, b GitURL) bool {
	if (a.KeepGitDir == nil) != (b.KeepGitDir == nil) || a.KeepGitDir != nil && *a.KeepGitDir != *b.KeepGitDir {
		return false
	}
	a.KeepGitDir, b.KeepGitDir = nil, nil
	return a == b
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:password@host.tld/this:that", "https://xxxxx:xxxxx@host.tld/this:that"},
		{"https://user@host.tld/r.git", "https://xxxxx@host.tld/r.git"},
		{"https://:password@host.tld/r.git", "https://:xxxxx@host.tld/r.git"},
		{"https://host.tld/r.git", "https://host.tld/r.git"},
		{"ssh://git@host/r.git", "ssh://xxxxx@host/r.git"},
		{"git@github.com:org/r.git", "git@github.com:org/r.git"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseGit(f *testing.F) {
	for _, s := range []string{"https://h/r.git#main:sub", "git@h:o/r.git?ref=v1&subdir=../x", "git://h/r",
		"ssh://u@h:22/r.git?keep-git-dir&checksum=ab", "./x", "https://h/r.git?tag=a&branch=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseGit(s)
		if err != nil {
			return
		}
		if u.Remote == "" {
			t.Errorf("ParseGit(%q): empty Remote", s)
		}
		if strings.HasPrefix(u.Subdir, "/") || u.Subdir == ".." || strings.HasPrefix(u.Subdir, "../") {
			t.Errorf("ParseGit(%q): Subdir %q escapes the repository", s, u.Subdir)
		}
		if strings.ContainsAny(u.Remote, "#") {
			t.Errorf("ParseGit(%q): Remote %q keeps the fragment", s, u.Remote)
		}
	})
}
