package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFilesToClamp(t *testing.T) {
	cases := []struct {
		args   []string
		files  []string
		bundle []bool
	}{
		// how containerd's runc shim calls it
		{strings.Fields("--root /run/containerd/runc/k8s.io --log /s/log.json --log-format json create --bundle /s/b --pid-file /s/init.pid ID"),
			[]string{"/s/b/config.json"}, []bool{true}},
		{strings.Fields("--debug --root=/r create -b=/s/b --no-pivot ID"), []string{"/s/b/config.json"}, []bool{true}},
		{strings.Fields("--root /r --systemd-cgroup create --pid-file p ID"), []string{"config.json"}, []bool{true}},
		{strings.Fields("run -d -bundle /x ID"), []string{"/x/config.json"}, []bool{true}},
		{strings.Fields("--root /r --log l --log-format json exec --process /tmp/runc-process1 --detach --pid-file p ID"),
			[]string{"/tmp/runc-process1"}, []bool{false}},
		{strings.Fields("exec -p=/tmp/p1 ID"), []string{"/tmp/p1"}, []bool{false}},
		// options after the container ID belong to the command run in the container
		{strings.Fields("exec -t ID ps -p 1"), nil, nil},
		{strings.Fields("create ID --bundle /nope"), []string{"config.json"}, []bool{true}},
		// a global option's value that looks like a command
		{strings.Fields("--root create state ID"), nil, nil},
		{strings.Fields("--root /r state ID"), nil, nil},
		{strings.Fields("--root /r delete --force ID"), nil, nil},
		{[]string{"--version"}, nil, nil},
		{nil, nil, nil},
	}
	for _, c := range cases {
		files, bundle := filesToClamp(c.args)
		if !reflect.DeepEqual(files, c.files) || !reflect.DeepEqual(bundle, c.bundle) {
			t.Errorf("%q: got %v %v, want %v %v", c.args, files, bundle, c.files, c.bundle)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestClampBundleSpec(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	// unknown fields, and an rlimit a float64 would round, must come back as they were
	spec := `{"ociVersion":"1.0.2","process":{"args":["/pause"],"oomScoreAdj":-998,
	  "rlimits":[{"type":"RLIMIT_NOFILE","hard":18446744073709551615,"soft":1048576}],"x-unknown":{"a":[1,2]}},
	  "linux":{"resources":{"memory":{"limit":9007199254740993}}},"annotations":{"k":"v"}}`
	write(t, path, spec)
	changed, err := clampFile(path, true)
	if err != nil || !changed {
		t.Fatalf("clampFile: %v %v", changed, err)
	}
	got, _ := os.ReadFile(path)
	var gotV, wantV any
	dec := json.NewDecoder(strings.NewReader(string(got)))
	dec.UseNumber()
	if err := dec.Decode(&gotV); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(spec, `"oomScoreAdj":-998`, `"oomScoreAdj":0`, 1)
	dec = json.NewDecoder(strings.NewReader(want))
	dec.UseNumber()
	_ = dec.Decode(&wantV)
	if !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", info.Mode())
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("left files behind: %v", entries)
	}
}

func TestClampLeavesOthersAlone(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		spec       string
		bundleSpec bool
	}{
		{`{"process":{"oomScoreAdj":5},"b":1}`, true},
		{`{"process":{"oomScoreAdj":0}}`, true},
		{`{"process":{"args":["sh"]}}`, true},
		{`{"root":{"path":"rootfs"}}`, true},
		{`{"oomScoreAdj":null}`, false},
		{`{"process":{"oomScoreAdj":-5}}`, false}, // a process file has no "process" level
	} {
		path := filepath.Join(dir, "f.json")
		write(t, path, c.spec)
		changed, err := clampFile(path, c.bundleSpec)
		got, _ := os.ReadFile(path)
		if err != nil || changed || string(got) != c.spec {
			t.Errorf("%s: changed=%v err=%v now %s", c.spec, changed, err, got)
		}
	}
}

func TestClampProcessFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "process.json")
	write(t, path, `{"args":["sh"],"oomScoreAdj":-997,"env":["A=1"]}`)
	if changed, err := clampFile(path, false); err != nil || !changed {
		t.Fatalf("clampFile: %v %v", changed, err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != `{"args":["sh"],"env":["A=1"],"oomScoreAdj":0}` {
		t.Errorf("got %s", got)
	}
}

func TestClampErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := clampFile(filepath.Join(dir, "missing.json"), true); err == nil {
		t.Error("missing file: no error")
	}
	for _, bad := range []string{`not json`, `[]`, `null`, `{"process":{"oomScoreAdj":"x"}}`, `{"process":[1]}`} {
		path := filepath.Join(dir, "bad.json")
		write(t, path, bad)
		if _, err := clampFile(path, true); err == nil {
			t.Errorf("%s: no error", bad)
		}
		if got, _ := os.ReadFile(path); string(got) != bad {
			t.Errorf("%s: rewritten to %s", bad, got)
		}
	}
}
