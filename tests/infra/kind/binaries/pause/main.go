// Command pause holds a pod's namespaces: it sleeps until SIGINT or SIGTERM, then exits 0.
//
// It stands in for registry.k8s.io/pause (whose C binary does the same and also reaps
// zombies, which this one does through the Go runtime's default SIGCHLD handling: none are
// left because pause starts no children).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
}
