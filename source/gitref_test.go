package source

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestResolveGit(t *testing.T) {
	f := newGitFixture(t, fixtureDate)
	repo := f.url + "/repo.git"
	tests := []struct {
		name    string
		src     string
		opts    []GitOption
		want    GitRef
		wantErr error
		errHas  []string
		conns   int32 // connections to the daemon; -1: do not check
	}{
		{name: "default branch", src: repo, conns: 2,
			want: GitRef{Ref: "main", FullRef: "refs/heads/main", Commit: f.sha["main"], Object: f.sha["main"]}},
		{name: "branch", src: repo + "#other", conns: 1,
			want: GitRef{Ref: "other", FullRef: "refs/heads/other", Commit: f.sha["other"], Object: f.sha["other"]}},
		{name: "full branch ref", src: repo + "#refs/heads/other", conns: 1,
			want: GitRef{Ref: "refs/heads/other", FullRef: "refs/heads/other", Commit: f.sha["other"], Object: f.sha["other"]}},
		{name: "tag", src: repo + "#v1", conns: 1,
			want: GitRef{Ref: "v1", FullRef: "refs/tags/v1", Commit: f.sha["v1"], Object: f.sha["v1"]}},
		{name: "annotated tag", src: repo + "?tag=v2", conns: 1,
			want: GitRef{Ref: "refs/tags/v2", FullRef: "refs/tags/v2", Commit: f.sha["v2^{}"], Object: f.sha["v2"]}},
		{name: "commit without network", src: repo + "#" + f.sha["other"], conns: 0,
			want: GitRef{Ref: f.sha["other"], FullRef: f.sha["other"], Commit: f.sha["other"], Object: f.sha["other"]}},
		{name: "subdir and flags", src: repo + "#main:dir/deep", opts: []GitOption{WithKeepGitDir(true)}, conns: 1,
			want: GitRef{Ref: "main", FullRef: "refs/heads/main", Commit: f.sha["main"], Object: f.sha["main"], Subdir: "dir/deep", KeepGitDir: true}},
		{name: "checksum prefix", src: repo + "#main", opts: []GitOption{WithChecksum(f.sha["main"][:7])}, conns: 1,
			want: GitRef{Ref: "main", FullRef: "refs/heads/main", Commit: f.sha["main"], Object: f.sha["main"], Checksum: f.sha["main"][:7]}},
		{name: "checksum of annotated tag's commit", src: repo + "?checksum=" + f.sha["v2^{}"] + "#v2", conns: 1,
			want: GitRef{Ref: "v2", FullRef: "refs/tags/v2", Commit: f.sha["v2^{}"], Object: f.sha["v2"], Checksum: f.sha["v2^{}"]}},
		{name: "fetch by commit", src: repo + "?fetch-by-commit&ref=other&checksum=" + f.sha["other"], conns: 0,
			want: GitRef{Ref: "refs/heads/other", FullRef: "refs/heads/other", Commit: f.sha["other"], Object: f.sha["other"], Checksum: f.sha["other"], FetchByCommit: true}},
		{name: "unknown ref", src: repo + "#nope", conns: 1, wantErr: ErrGitRefNotFound,
			errHas: []string{repo, `"nope"`}},
		{name: "short sha is not a ref", src: repo + "#" + f.sha["other"][:7], conns: 1, wantErr: ErrGitRefNotFound},
		{name: "checksum mismatch", src: repo + "#main", opts: []GitOption{WithChecksum(f.sha["other"])}, conns: 1,
			wantErr: ErrGitChecksum, errHas: []string{"expected checksum to match " + f.sha["other"] + ", got " + f.sha["main"], repo + "#main"}},
		{name: "checksum mismatch, commit ref", src: repo + "#" + f.sha["main"], opts: []GitOption{WithChecksum("0123")}, conns: 0,
			wantErr: ErrGitChecksum},
		{name: "upper-case checksum", src: repo, opts: []GitOption{WithChecksum(strings.ToUpper(f.sha["main"][:8]))}, conns: -1,
			wantErr: ErrGitChecksum},
		{name: "invalid checksum", src: repo, opts: []GitOption{WithChecksum("sha256:abc")}, conns: 0,
			errHas: []string{"invalid checksum sha256:abc for Git URL, expected hex commit hash"}},
		{name: "checksum conflict", src: repo + "?checksum=abc", opts: []GitOption{WithChecksum("abcd")}, conns: 0,
			errHas: []string{`checksum mismatch "abcd" != "abc"`}},
		{name: "keep-git-dir conflict", src: repo + "?keep-git-dir=true", opts: []GitOption{WithKeepGitDir(false)}, conns: 0,
			errHas: []string{"inconsistent keep-git-dir configuration"}},
		{name: "missing repository", src: f.url + "/missing.git#main", conns: 1, errHas: []string{f.url + "/missing.git#main", "git ls-remote"}},
		{name: "not git", src: "https://host/file.tar", conns: 0, wantErr: ErrNotGit},
		{name: "ref like an option", src: repo + "#--upload-pack=touch", conns: 0, errHas: []string{"invalid git ref"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.conns.Load()
			got, err := ResolveGit(context.Background(), tt.src, tt.opts...)
			if n := f.conns.Load() - before; tt.conns >= 0 && n != tt.conns {
				t.Errorf("%d connections to the git daemon, want %d", n, tt.conns)
			}
			if tt.wantErr != nil || tt.errHas != nil {
				if err == nil {
					t.Fatalf("ResolveGit = %+v, want an error", got)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("error %v is not %v", err, tt.wantErr)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Remote = repo
			if got != tt.want {
				t.Errorf("ResolveGit =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

// TestResolveGitWritesNothing: resolving only asks the remote (ls-remote),
// it creates no repository or file anywhere.
func TestResolveGitWritesNothing(t *testing.T) {
	f := newGitFixture(t, fixtureDate)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	if _, err := ResolveGit(context.Background(), f.url+"/repo.git"); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("ResolveGit left %d entries in TMPDIR", len(ents))
	}
}

func TestGitRefCacheKey(t *testing.T) {
	c, o := "c0ffee", "7a9"
	tests := []struct {
		ref  GitRef
		want string
	}{
		{GitRef{Commit: c, Object: c, FullRef: "refs/heads/main"}, c},
		{GitRef{Commit: c, Object: o, FullRef: "refs/tags/v2"}, c},
		{GitRef{Commit: c, Object: o, FullRef: "refs/tags/v2", KeepGitDir: true}, o + ".git#refs/tags/v2"},
		{GitRef{Commit: c, Object: c, FullRef: c, KeepGitDir: true}, c + ".git#" + c},
		{GitRef{Commit: c, Object: c, Subdir: "a/b", SkipSubmodules: true}, c + ":a/b(skip-submodules)"},
	}
	for _, tt := range tests {
		if got := tt.ref.CacheKey(); got != tt.want {
			t.Errorf("%+v.CacheKey() = %q, want %q", tt.ref, got, tt.want)
		}
	}
}

func TestGitOptions(t *testing.T) {
	if _, err := makeGitOptions(true, []GitOption{WithChecksum("ab")}); err == nil {
		t.Error("FetchGit accepted WithChecksum")
	}
	if _, err := makeGitOptions(false, []GitOption{WithGitEnv("NOEQUALS")}); err == nil {
		t.Error("WithGitEnv accepted a variable without =")
	}
	_, err := ResolveGit(context.Background(), "git://127.0.0.1:1/r.git", withGitBinary("/nonexistent/git"))
	if !errors.Is(err, ErrGitMissing) {
		t.Errorf("ResolveGit without git: %v, want ErrGitMissing", err)
	}
}
