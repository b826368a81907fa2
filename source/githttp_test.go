package source

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// TestGitDumbHTTP fetches over http:// from a plain file server (git's dumb
// HTTP protocol), which cannot do shallow fetches: the fetch is retried
// without --depth, as BuildKit does.
func TestGitDumbHTTP(t *testing.T) {
	f := newGitFixture(t, fixtureDate)
	f.git(filepath.Join(f.root, "repo.git"), "update-server-info")
	srv := httptest.NewServer(http.FileServer(http.Dir(f.root)))
	defer srv.Close()
	for _, tt := range []struct {
		src  string
		want []string
	}{
		{srv.URL + "/repo.git", treeMain},
		{srv.URL + "/repo.git#v2:dir", treeDir},
	} {
		t.Run(tt.src, func(t *testing.T) {
			ref, err := ResolveGit(context.Background(), tt.src, WithKeepGitDir(true))
			if err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(t.TempDir(), "dest")
			if err := FetchGit(context.Background(), ref, dest); err != nil {
				t.Fatal(err)
			}
			if d := diffLines(tt.want, listTree(t, dest, inGitDir)); d != "" {
				t.Errorf("checkout differs:\n%s", d)
			}
		})
	}
}
