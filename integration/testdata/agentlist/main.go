// Command agentlist prints the keys of the ssh agent at $SSH_AUTH_SOCK:
// the integration tests run it in a RUN --mount=type=ssh.
package main

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh/agent"
)

func main() {
	c, err := net.Dial("unix", os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(1)
	}
	keys, err := agent.NewClient(c).List()
	if err != nil {
		fmt.Println("list:", err)
		os.Exit(1)
	}
	for _, k := range keys {
		fmt.Println(k.Format, k.Comment)
	}
}
