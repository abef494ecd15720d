package cmd

import (
	"strings"
	"testing"
	"time"
)

// TestParsePrintArgs: PrintCached takes the plain token print command
// lines, read as cobra reads them, and leaves everything else (or in
// doubt) to the full run.
func TestParsePrintArgs(t *testing.T) {
	tests := []struct {
		args string
		want *printRequest // nil: not a plain token print
	}{
		{"token", &printRequest{format: "raw"}},
		{"token print", &printRequest{format: "raw"}},
		{"-p work token print", &printRequest{profile: "work", format: "raw"}},
		{"token print -pwork", &printRequest{profile: "work", format: "raw"}},
		{"token print -p=work", &printRequest{profile: "work", format: "raw"}},
		{"--profile=work token", &printRequest{profile: "work", format: "raw"}},
		{"--config c.yaml -v token print --format header", &printRequest{config: "c.yaml", format: "header", verbose: true}},
		{"token print --format=json --min-ttl 5m", &printRequest{format: "json", minTTL: 5 * time.Minute}},
		{"token --json print", &printRequest{format: "json"}},
		{"token print --json --format json", &printRequest{format: "json"}},
		{"token print --verbose", &printRequest{format: "raw", verbose: true}},

		{"", nil},
		{"version", nil},
		{"token print extra", nil},
		{"print token", nil},
		{"token token", nil},
		{"token print --id-token", nil},
		{"token print --format exec-credential", nil},
		{"token print --format yaml", nil},
		{"token print --json --format raw", nil},
		{"token print --min-ttl -5m", nil},
		{"token print --min-ttl soon", nil},
		{"--format json token print", nil}, // not a flag of the root command
		{"token print -p", nil},
		{"token print -p --json", nil},
		{"token print -p work -p home", nil},
		{"token print --profile=", nil},
		{"token print -h", nil},
		{"token print --help", nil},
		{"token print -vp work", nil},
		{"token print --json=true", nil},
		{"token print --", nil},
		{"token print --unknown", nil},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			got, ok := parsePrintArgs(fields(tt.args))
			if tt.want == nil {
				if ok {
					t.Fatalf("parsed as %+v; want it left to the full run", got)
				}
				return
			}
			if !ok || got != *tt.want {
				t.Fatalf("= %+v, %v; want %+v", got, ok, *tt.want)
			}
		})
	}
}

func fields(s string) []string { return strings.Fields(s) }
