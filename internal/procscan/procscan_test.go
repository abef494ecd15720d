package procscan

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// TestFind starts a process with a secret in its arguments and one with
// it in its environment only: the first is found, the second not.
func TestFind(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	const secret = "procscan-test-secret-4b1d"
	// A shell that waits on a builtin (read from a pipe kept open) and
	// so starts no child: "sh -c 'sleep 30'" forks, and the fork carries
	// the secret in its arguments until it execs sleep, a second match
	// on a loaded machine.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	inArgs := exec.Command("sh", "-c", "read -r line", "sh", secret)
	inArgs.Stdin = r
	if err := inArgs.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer func() { _ = inArgs.Process.Kill(); _ = inArgs.Wait() }()
	inEnv := exec.Command("sleep", "30")
	inEnv.Env = append(os.Environ(), "TOKEN="+secret+"-env")
	if err := inEnv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = inEnv.Process.Kill(); _ = inEnv.Wait() }()

	found, err := Find(secret)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].PID != inArgs.Process.Pid || found[0].Comm != "sh" {
		t.Fatalf("Find = %v, want only pid %d (sh)", found, inArgs.Process.Pid)
	}
	if found, _ := Find(secret + "-env"); len(found) != 0 {
		t.Errorf("a secret in the environment only was reported: %v", found)
	}
	if _, err := Find("short"); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
}
