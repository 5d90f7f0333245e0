// Package suite is a small Ginkgo suite built from k8s.io/kubernetes: the upstream e2e entry point (its suite
// set-up, framework flags and RunE2ETests) with only the sig-network specs linked in. test/cluster/build-binaries.sh
// (target e2e) copies this file into a scratch module next to the other Kubernetes builds and compiles it with
// `go test -c` into $CACHE/kube-<version>/bin/e2e.test; test/e2e/run.ts runs it against the real test node.
package suite

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"k8s.io/component-base/version"
	"k8s.io/kubernetes/test/e2e"
	"k8s.io/kubernetes/test/e2e/framework"
	"k8s.io/kubernetes/test/e2e/framework/config"
	"k8s.io/kubernetes/test/e2e/framework/testfiles"
	e2etestingmanifests "k8s.io/kubernetes/test/e2e/testing-manifests"

	// The feature and label constants the specs refer to, frozen before the specs are defined.
	_ "k8s.io/kubernetes/test/e2e/feature"

	// The specs: sig-network only (the DNS specs live there).
	_ "k8s.io/kubernetes/test/e2e/network"

	// The framework's hooks, as the upstream suite loads them.
	_ "k8s.io/kubernetes/test/e2e/framework/debug/init"
	_ "k8s.io/kubernetes/test/e2e/framework/metrics/init"
	_ "k8s.io/kubernetes/test/e2e/framework/node/init"
	_ "k8s.io/kubernetes/test/utils/format"
)

func TestMain(m *testing.M) {
	showVersion := flag.CommandLine.Bool("version", false, "Print the Kubernetes version the suite was built from and exit.")
	config.CopyFlags(config.Flags, flag.CommandLine)
	framework.RegisterCommonFlags(flag.CommandLine)
	framework.RegisterClusterFlags(flag.CommandLine)
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Get())
		os.Exit(0)
	}
	if flag.CommandLine.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unknown arguments: %v\n", flag.CommandLine.Args())
		os.Exit(2)
	}
	testfiles.AddFileSource(e2etestingmanifests.GetE2ETestingManifestsFS())
	framework.AfterReadingAllFlags(&framework.TestContext)
	os.Exit(m.Run())
}

func TestE2E(t *testing.T) {
	e2e.RunE2ETests(t)
}
