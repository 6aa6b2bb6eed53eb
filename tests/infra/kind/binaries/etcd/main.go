// Command etcd is etcd's server (go.etcd.io/etcd/server/v3/etcdmain), as the upstream binary.
//
// kubeadm runs it as the static pod of the etcd image it expects (registry.k8s.io/etcd).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
