// kubelet-envvars runs the kubelet's own service-variable code on service sets read from stdin, so that
// test/integration/kubelet-envvars.test.ts can compare cluster-dns's src/env/service-env.ts with it.
//
// Input (stdin): a JSON array of cases {"namespace": NS, "enableServiceLinks": BOOL, "services": [v1.Service...]}.
// Output (stdout): a JSON array with, per case,
//   - "env": what (*Kubelet).getServiceEnvVarMap returns for a pod in NS: the selection of services (own
//     namespace, the master `kubernetes` service of default, the namespace-local override) and FromServices;
//   - "perService": envvars.FromServices of each input service alone, in input order, so the test can tell which
//     values are possible where two services produce the same name (the kubelet then picks by Go map order).
//
// getServiceEnvVarMap is unexported; it is reached with go:linkname on a Kubelet whose only field set is the
// service lister (set through reflect, as it is unexported too). Built by test/cluster/build-binaries.sh
// (target envvars) against the same k8s.io/kubernetes version as the test control plane.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"unsafe"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubernetes/pkg/kubelet"
	"k8s.io/kubernetes/pkg/kubelet/envvars"
)

//go:linkname getServiceEnvVarMap k8s.io/kubernetes/pkg/kubelet.(*Kubelet).getServiceEnvVarMap
func getServiceEnvVarMap(kl *kubelet.Kubelet, ns string, enableServiceLinks bool) (map[string]string, error)

// fixedLister satisfies the kubelet's serviceLister interface with a fixed list.
type fixedLister []*v1.Service

func (f fixedLister) List(labels.Selector) ([]*v1.Service, error) { return f, nil }

type testCase struct {
	Namespace          string        `json:"namespace"`
	EnableServiceLinks bool          `json:"enableServiceLinks"`
	Services           []*v1.Service `json:"services"`
}

type result struct {
	Env        map[string]string `json:"env"`
	PerService [][]v1.EnvVar     `json:"perService"`
}

func kubeletWith(services []*v1.Service) *kubelet.Kubelet {
	kl := &kubelet.Kubelet{}
	field := reflect.ValueOf(kl).Elem().FieldByName("serviceLister")
	reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem().Set(reflect.ValueOf(fixedLister(services)))
	return kl
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, "kubelet-envvars: reading cases:", err)
		os.Exit(2)
	}
	results := make([]result, 0, len(cases))
	for i, c := range cases {
		env, err := getServiceEnvVarMap(kubeletWith(c.Services), c.Namespace, c.EnableServiceLinks)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kubelet-envvars: case %d: %v\n", i, err)
			os.Exit(1)
		}
		per := make([][]v1.EnvVar, 0, len(c.Services))
		for _, s := range c.Services {
			vars := envvars.FromServices([]*v1.Service{s})
			if vars == nil {
				vars = []v1.EnvVar{}
			}
			per = append(per, vars)
		}
		results = append(results, result{Env: env, PerService: per})
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "kubelet-envvars: writing results:", err)
		os.Exit(1)
	}
}
