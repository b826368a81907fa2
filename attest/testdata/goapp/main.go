// Command goapp is a Go program the cataloguer's tests build: its build
// info names its module, a dependency and its Go version.
package main

import (
	"fmt"

	"golang.org/x/sync/errgroup"
)

func main() {
	var g errgroup.Group
	g.Go(func() error { fmt.Println("hello"); return nil })
	_ = g.Wait()
}
