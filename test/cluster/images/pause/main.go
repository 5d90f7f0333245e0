// pause: the sandbox ("infra") container of the test node's pods, built by test/cluster/build-images.sh as
// registry.k8s.io/pause:<version>. It holds the pod's namespaces open: it does nothing until SIGINT or SIGTERM
// (then it exits 0), and as PID 1 of a pod with a shared PID namespace it reaps the zombies re-parented to it.
// Static (CGO_ENABLED=0), no dependencies beyond the standard library.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "-v", "--version", "version":
			fmt.Println("pause", version)
			return
		}
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every exited child without blocking (one SIGCHLD may stand for several children).
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
