// runc-clamp is a harness-only workaround for the test machines, not part of cluster-dns and not for real clusters.
//
// The test node's containerd runs it as its runc (the runc runtime's BinaryName). On these machines no process has
// CAP_SYS_RESOURCE, so nothing may lower its oom_score_adj. The kubelet asks for exactly that: the pod sandbox
// (pause) container gets oomScoreAdj -998 and Guaranteed pods -997. runc writes the value while it sets the
// container up, the kernel refuses, and runc fails with "can't get final child's PID from pipe: EOF", so no pod
// ever starts. runc-clamp rewrites a negative process.oomScoreAdj to 0 (the lowest value the kernel lets a process
// without CAP_SYS_RESOURCE write: its oom_score_adj_min is 0) and then runs the real runc with the same arguments.
// Nothing else in the spec is touched. The only effect on the test node: its pods are not shielded from the OOM
// killer more than other processes on the machine.
//
// Which files it rewrites:
//   - `create` and `run`: the bundle's config.json (bundle from --bundle/-b, else the current directory);
//   - `exec --process FILE` (-p): FILE, a process spec (oomScoreAdj at its top level).
//
// Everything else (state, start, kill, delete, exec without --process, ...) passes through untouched. If a file
// cannot be read or parsed it says so on stderr and runs runc anyway, which then reports its own error.
//
// The real runc is $RUNC_CLAMP_REAL, else /usr/sbin/runc, else /usr/bin/runc. It replaces this process
// (syscall.Exec): argv[0] is the real runc's path, argv[1:] are exactly the arguments runc-clamp was given.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// runc's global options that take a value (urfave/cli: `--root X`, `--root=X`, `-root X`); the rest are booleans.
var globalValueFlags = set("root", "log", "log-format", "criu", "rootless")

// Options that take a value, per subcommand this program looks into (runc 1.1 to 1.3).
var commandValueFlags = map[string]map[string]bool{
	"create": set("bundle", "b", "console-socket", "pid-file", "preserve-fds"),
	"run":    set("bundle", "b", "console-socket", "pid-file", "preserve-fds"),
	"exec": set("console-socket", "pidfd-socket", "cwd", "env", "e", "user", "u", "additional-gids", "g",
		"process", "p", "pid-file", "process-label", "apparmor", "cap", "c", "preserve-fds", "cgroup"),
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// parsed is what runc-clamp needs from a runc command line.
type parsed struct {
	command string            // the subcommand ("" if none)
	flags   map[string]string // the subcommand's value options given before its first positional argument
}

// parseFlag splits "-x", "--x", "-x=v" or "--x=v" into its name and (inline) value.
func parseFlag(arg string) (name, value string, inline, ok bool) {
	if len(arg) < 2 || arg[0] != '-' || arg == "--" {
		return "", "", false, false
	}
	name = strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		return name[:i], name[i+1:], true, true
	}
	return name, "", false, true
}

// parseArgs reads runc's argv (without argv[0]) the way runc's CLI library does: global options, the subcommand,
// then its options up to the first positional argument (the container ID) or "--".
func parseArgs(args []string) parsed {
	p := parsed{flags: map[string]string{}}
	i := 0
	for ; i < len(args); i++ {
		name, _, inline, ok := parseFlag(args[i])
		if !ok {
			break
		}
		if !inline && globalValueFlags[name] {
			i++
		}
	}
	if i >= len(args) || args[i] == "--" {
		return p
	}
	p.command = args[i]
	valueFlags := commandValueFlags[p.command]
	if valueFlags == nil {
		return p
	}
	for i++; i < len(args); i++ {
		name, value, inline, ok := parseFlag(args[i])
		if !ok {
			break
		}
		if !valueFlags[name] {
			continue
		}
		if !inline {
			if i+1 >= len(args) {
				break
			}
			i++
			value = args[i]
		}
		p.flags[name] = value
	}
	return p
}

func (p parsed) flag(names ...string) string {
	for _, n := range names {
		if v, ok := p.flags[n]; ok {
			return v
		}
	}
	return ""
}

// filesToClamp returns the spec files to rewrite for this command line, and for each whether it is a whole bundle
// spec (process under "process") or a bare process spec (the --process file).
func filesToClamp(args []string) (files []string, bundleSpec []bool) {
	p := parseArgs(args)
	switch p.command {
	case "create", "run":
		bundle := p.flag("bundle", "b")
		if bundle == "" {
			bundle = "."
		}
		return []string{filepath.Join(bundle, "config.json")}, []bool{true}
	case "exec":
		if f := p.flag("process", "p"); f != "" {
			return []string{f}, []bool{false}
		}
	}
	return nil, nil
}

// clampProcess sets a negative oomScoreAdj in a process object to 0; it reports whether it changed anything.
func clampProcess(process map[string]json.RawMessage) (bool, error) {
	raw, ok := process["oomScoreAdj"]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return false, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return false, fmt.Errorf("oomScoreAdj is not a number: %s", raw)
	}
	v, err := n.Float64()
	if err != nil {
		return false, fmt.Errorf("oomScoreAdj is not a number: %s", raw)
	}
	if v >= 0 {
		return false, nil
	}
	process["oomScoreAdj"] = json.RawMessage("0")
	return true, nil
}

// clampFile rewrites path if its oomScoreAdj is negative. Fields are kept as raw JSON, so values this program does
// not know (and large integers such as rlimits, which a float64 would round) come back unchanged.
func clampFile(path string, bundleSpec bool) (changed bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	if top == nil {
		return false, fmt.Errorf("%s: not a JSON object", path)
	}
	if bundleSpec {
		raw, ok := top["process"]
		if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return false, nil
		}
		var process map[string]json.RawMessage
		if err := json.Unmarshal(raw, &process); err != nil {
			return false, fmt.Errorf("%s: process: %w", path, err)
		}
		if changed, err = clampProcess(process); err != nil || !changed {
			return false, wrap(path, err)
		}
		if top["process"], err = json.Marshal(process); err != nil {
			return false, wrap(path, err)
		}
	} else if changed, err = clampProcess(top); err != nil || !changed {
		return false, wrap(path, err)
	}
	out, err := json.Marshal(top)
	if err != nil {
		return false, wrap(path, err)
	}
	return true, writeAtomically(path, out)
}

func wrap(path string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", path, err)
}

// writeAtomically replaces path with data (same mode), so runc never reads a half-written spec.
func writeAtomically(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".runc-clamp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func realRunc() (string, error) {
	if p := os.Getenv("RUNC_CLAMP_REAL"); p != "" {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/runc", "/usr/bin/runc"} {
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("no runc: set RUNC_CLAMP_REAL or install runc (/usr/sbin/runc or /usr/bin/runc)")
}

func main() {
	runc, err := realRunc()
	if err != nil {
		fmt.Fprintln(os.Stderr, "runc-clamp:", err)
		os.Exit(127)
	}
	files, bundleSpec := filesToClamp(os.Args[1:])
	for i, f := range files {
		if _, err := clampFile(f, bundleSpec[i]); err != nil {
			fmt.Fprintln(os.Stderr, "runc-clamp: not clamping oomScoreAdj:", err)
		}
	}
	argv := append([]string{runc}, os.Args[1:]...)
	err = syscall.Exec(runc, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "runc-clamp: exec %s: %v\n", runc, err)
	os.Exit(127)
}
