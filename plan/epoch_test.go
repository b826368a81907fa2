package plan

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestEpochSource(t *testing.T) {
	const target = "\nFROM busybox\nARG SOURCE_DATE_EPOCH\n"
	tests := []struct {
		name      string
		src       string
		args      map[string]string
		contexts  map[string]string
		wantURL   string // source-only stage's ADD source
		wantCtx   bool   // the build context or a named one
		wantEpoch int64  // a number: no source, this epoch
		wantErr   string
		wantLine  int
	}{
		{name: "number", src: "ARG SOURCE_DATE_EPOCH=1700000000" + target, wantEpoch: 1700000000},
		{name: "build arg wins", src: "ARG SOURCE_DATE_EPOCH=src\nFROM scratch AS src\nADD https://x/a.tar /" + target,
			args: map[string]string{"SOURCE_DATE_EPOCH": "5"}, wantEpoch: 5},
		{name: "context", src: "FROM scratch\n", args: map[string]string{"SOURCE_DATE_EPOCH": "context"}, wantCtx: true},
		{name: "named context", src: "FROM scratch\n", args: map[string]string{"SOURCE_DATE_EPOCH": "src"},
			contexts: map[string]string{"src": "/some/dir"}, wantCtx: true},
		{name: "stage", src: "ARG SOURCE_DATE_EPOCH=MySource\nARG V=1\nFROM scratch AS mysource\nARG F=a-${V}.tar\nADD https://host/${F} /" + target,
			wantURL: "https://host/a-1.tar"},
		{name: "stage arg from build arg", src: "ARG SOURCE_DATE_EPOCH=s\nFROM scratch AS s\nARG F=a\nADD https://host/$F /" + target,
			args: map[string]string{"F": "b"}, wantURL: "https://host/b"},
		{name: "not a stage", src: "ARG SOURCE_DATE_EPOCH=nope" + target, wantErr: "invalid SOURCE_DATE_EPOCH: nope"},
		{name: "stage with COPY", src: "ARG SOURCE_DATE_EPOCH=s\nFROM scratch AS s\nCOPY Dockerfile /" + target,
			wantErr: "source-only requirements: unsupported COPY instruction", wantLine: 2},
		{name: "stage not from scratch", src: "ARG SOURCE_DATE_EPOCH=s\nFROM busybox AS s\nADD https://x/a /" + target,
			wantErr: "must use FROM scratch", wantLine: 2},
		{name: "stage with two ADDs", src: "ARG SOURCE_DATE_EPOCH=s\nFROM scratch AS s\nADD https://x/a /\nADD https://x/b /" + target,
			wantErr: "exactly one remote ADD", wantLine: 2},
		{name: "stage ADD of two sources", src: "ARG SOURCE_DATE_EPOCH=s\nFROM scratch AS s\nADD https://x/a https://x/b /" + target,
			wantErr: "exactly one remote ADD source", wantLine: 2},
		{name: "stage without ADD", src: "ARG SOURCE_DATE_EPOCH=s\nFROM scratch AS s\nARG X" + target,
			wantErr: "exactly one remote ADD", wantLine: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mustPlan(t, tt.src, Options{BuildArgs: tt.args, Contexts: tt.contexts})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				if tt.wantLine != 0 && !strings.Contains(err.Error(), fmt.Sprintf("Dockerfile:%d:", tt.wantLine)) {
					t.Errorf("error %q does not name line %d", err, tt.wantLine)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			src := p.EpochSource()
			switch {
			case tt.wantEpoch != 0:
				if src != nil {
					t.Fatalf("source %+v for a number", src)
				}
				if e, ok := p.Epoch(); !ok || e.Unix() != tt.wantEpoch {
					t.Errorf("Epoch() = %v, %v; want %d", e, ok, tt.wantEpoch)
				}
			case tt.wantCtx:
				if src == nil || src.Stage != nil {
					t.Fatalf("source %+v, want the context", src)
				}
			default:
				if src == nil || src.Stage == nil || src.URL != tt.wantURL {
					t.Fatalf("source %+v, want a stage adding %s", src, tt.wantURL)
				}
			}
		})
	}
}

func TestSetEpoch(t *testing.T) {
	args := map[string]string{"SOURCE_DATE_EPOCH": "src"}
	src := "ARG SOURCE_DATE_EPOCH\nFROM scratch AS src\nADD https://x/a.tar /\nFROM busybox\n"
	p, err := mustPlan(t, src, Options{BuildArgs: args})
	if err != nil {
		t.Fatal(err)
	}
	tm := time.Unix(1700000402, 0)
	p.SetEpoch(&tm)
	if e, ok := p.Epoch(); !ok || !e.Equal(tm) {
		t.Errorf("Epoch() = %v, %v after SetEpoch", e, ok)
	}
	if v, _ := p.BuildArg("SOURCE_DATE_EPOCH"); v != "1700000402" || p.Global["SOURCE_DATE_EPOCH"] != "1700000402" {
		t.Errorf("build arg %q, global %q; want the resolved number", v, p.Global["SOURCE_DATE_EPOCH"])
	}
	if args["SOURCE_DATE_EPOCH"] != "src" {
		t.Error("SetEpoch changed the caller's build args")
	}
	if p.EpochSource() != nil {
		t.Error("EpochSource still set after SetEpoch")
	}
	p.SetEpoch(nil)
	if _, ok := p.BuildArg("SOURCE_DATE_EPOCH"); ok {
		t.Error("unset epoch left the build arg")
	}
	if _, ok := p.Global["SOURCE_DATE_EPOCH"]; ok {
		t.Error("unset epoch left the global ARG")
	}
}
